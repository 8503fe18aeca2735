"""`ApiFirewall`: the WAFv2 web ACL in front of the API stage, and its logs.

Rules, in the order WAF evaluates them:
1. `IpReputation`: AWS managed Amazon IP reputation list (known bots, scanners, malicious sources).
2. `RatePerIp`: a rate-based rule that blocks an IP address past api.yaml `waf.rate_limit` requests in 5 minutes.
3. `BodySize`: blocks a body larger than `body_limit` bytes, the longest valid chat request (api.yaml
   `max_prompt_chars` at 4 bytes of UTF-8 each, plus the request's other fields); a body past WAF's inspection
   limit counts as too large.
4. `Common`: AWS managed core rule set, with its `SizeRestrictions_BODY` (8 KB) set to count: rule 3 replaces it
   at the configured limit, so a long prompt is not blocked by a fixed 8 KB. api.yaml `waf.count_body_rules` sets
   more of its body rules to count (a helpdesk whose users quote HTML or file paths).
5. `KnownBadInputs`: AWS managed known-bad-inputs rule set (Log4j, Java deserialization, localhost host headers).

API Gateway lets WAF inspect the first 16 KB of a body at no extra charge; a larger `body_limit` raises the
inspection limit to the next 16 KB step (billed per request beyond 16 KB, docs/api.md). Requests are logged to
an encrypted `aws-waf-logs-` log group with the Authorization header redacted.

Cost: the web ACL and each rule bill monthly whether or not requests arrive (the one idle cost of the Api stack),
plus a fee per million requests inspected.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from stacks.common.stage_policy import StagePolicy

# What a chat request carries besides the message (session id, architecture, task, JSON punctuation), generously.
BODY_ENVELOPE_BYTES = 1024
UTF8_MAX_BYTES = 4
# WAF's body inspection limits for API Gateway: 16 KB is the default and free, larger steps cost per request.
INSPECTION_LIMITS_KB = (16, 32, 48, 64)


def body_limit(max_prompt_chars: int) -> int:
    """The largest body (bytes) a valid chat request can have."""
    return max_prompt_chars * UTF8_MAX_BYTES + BODY_ENVELOPE_BYTES


def inspection_limit_kb(limit: int) -> int:
    """The smallest body inspection limit WAF offers for API Gateway that covers ``limit`` bytes."""
    for kilobytes in INSPECTION_LIMITS_KB:
        if limit <= kilobytes * 1024:
            return kilobytes
    raise ValueError(f"a body limit of {limit} bytes is past the largest WAF inspects (64 KB)")


def _visibility(name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    return wafv2.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True, metric_name=name, sampled_requests_enabled=True
    )


MANAGED_RULE_GROUPS = {
    "IpReputation": "AWSManagedRulesAmazonIpReputationList",
    "Common": "AWSManagedRulesCommonRuleSet",
    "KnownBadInputs": "AWSManagedRulesKnownBadInputsRuleSet",
}


def _managed(name: str, priority: int, overrides: tuple[str, ...] = ()) -> wafv2.CfnWebACL.RuleProperty:
    vendor_rule = MANAGED_RULE_GROUPS[name]
    return wafv2.CfnWebACL.RuleProperty(
        name=name,
        priority=priority,
        override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
        statement=wafv2.CfnWebACL.StatementProperty(
            managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                vendor_name="AWS",
                name=vendor_rule,
                rule_action_overrides=[
                    wafv2.CfnWebACL.RuleActionOverrideProperty(
                        name=rule, action_to_use=wafv2.CfnWebACL.RuleActionProperty(count={})
                    )
                    for rule in overrides
                ]
                or None,
            )
        ),
        visibility_config=_visibility(name),
    )


class ApiFirewall(Construct):
    """Exposes `web_acl`, `association`, `log_group`, `body_limit` and `inspection_limit_kb`."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name_prefix: str,
        stage_arn: str,
        key: kms.IKey,
        stage: StagePolicy,
        rate_limit: int,
        max_prompt_chars: int,
        count_body_rules: tuple[str, ...] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        self.body_limit = body_limit(max_prompt_chars)
        self.inspection_limit_kb = inspection_limit_kb(self.body_limit)
        block = wafv2.CfnWebACL.RuleActionProperty(block={})
        self.web_acl = wafv2.CfnWebACL(
            self,
            "WebAcl",
            name=f"{name_prefix}-api",
            description="Chat API: IP reputation, rate per IP, body size, common and known-bad-input rules",
            scope="REGIONAL",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=_visibility(f"{name_prefix}-api"),
            association_config=(
                wafv2.CfnWebACL.AssociationConfigProperty(
                    request_body={
                        "API_GATEWAY": wafv2.CfnWebACL.RequestBodyAssociatedResourceTypeConfigProperty(
                            default_size_inspection_limit=f"KB_{self.inspection_limit_kb}"
                        )
                    }
                )
                if self.inspection_limit_kb > INSPECTION_LIMITS_KB[0]
                else None
            ),
            rules=[
                _managed("IpReputation", 0),
                wafv2.CfnWebACL.RuleProperty(
                    name="RatePerIp",
                    priority=1,
                    action=block,
                    statement=wafv2.CfnWebACL.StatementProperty(
                        rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                            aggregate_key_type="IP", limit=rate_limit, evaluation_window_sec=300
                        )
                    ),
                    visibility_config=_visibility("RatePerIp"),
                ),
                wafv2.CfnWebACL.RuleProperty(
                    name="BodySize",
                    priority=2,
                    action=block,
                    statement=wafv2.CfnWebACL.StatementProperty(
                        size_constraint_statement=wafv2.CfnWebACL.SizeConstraintStatementProperty(
                            field_to_match=wafv2.CfnWebACL.FieldToMatchProperty(
                                body=wafv2.CfnWebACL.BodyProperty(oversize_handling="MATCH")
                            ),
                            comparison_operator="GT",
                            size=self.body_limit,
                            text_transformations=[wafv2.CfnWebACL.TextTransformationProperty(priority=0, type="NONE")],
                        )
                    ),
                    visibility_config=_visibility("BodySize"),
                ),
                _managed("Common", 3, ("SizeRestrictions_BODY", *count_body_rules)),
                _managed("KnownBadInputs", 4),
            ],
        )
        self.association = wafv2.CfnWebACLAssociation(
            self, "Association", resource_arn=stage_arn, web_acl_arn=self.web_acl.attr_arn
        )
        # WAF writes only to log groups named aws-waf-logs-*.
        log_group_name = f"aws-waf-logs-{name_prefix}-api"
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            log_group_name=log_group_name,
            encryption_key=key,
            retention=stage.log_retention,
            removal_policy=stage.removal_policy,
        )
        logging = wafv2.CfnLoggingConfiguration(
            self,
            "Logging",
            resource_arn=self.web_acl.attr_arn,
            # The log group's ARN without CDK's trailing ":*", as WAF expects it.
            log_destination_configs=[
                stack.format_arn(
                    service="logs",
                    resource="log-group",
                    resource_name=log_group_name,
                    arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
                )
            ],
            redacted_fields=[
                wafv2.CfnLoggingConfiguration.FieldToMatchProperty(single_header={"Name": "authorization"})
            ],
        )
        logging.node.add_dependency(self.log_group)
