"""cdk-nag v3 wiring and the one way the kit acknowledges a finding.

The four packs run as CDK policy-validation plugins, so an unacknowledged finding fails synth.
`acknowledge` only accepts a resource-level construct and a reason a reviewer can check, so an
exception can never silently cover a whole stack or app.
"""

from __future__ import annotations

import json
import weakref
from collections.abc import Mapping
from typing import Any

import aws_cdk as cdk
import jsii
from aws_cdk import aws_iam as iam
from cdk_nag import AwsSolutionsChecks, HIPAASecurityChecks, NIST80053R5Checks, ServerlessChecks
from constructs import IConstruct, IValidation

MIN_REASON_LENGTH = 20


def add_nag_packs(app: cdk.App) -> None:
    """Gate synth on AwsSolutions, NIST 800-53 R5, HIPAA Security and Serverless."""
    cdk.Validations.of(app).add_plugins(
        AwsSolutionsChecks(app),
        NIST80053R5Checks(app),
        HIPAASecurityChecks(app),
        ServerlessChecks(app),
    )


def acknowledge(resource: IConstruct, rule_id: str, reason: str) -> None:
    """Acknowledge one nag finding on one resource, e.g. ``"AwsSolutions::AwsSolutions-S1"``."""
    acknowledge_each(resource, {rule_id: reason})


def acknowledge_all(resource: IConstruct, rule_ids: list[str], reason: str) -> None:
    """The same reviewed reason for one concern that several packs report under different ids."""
    acknowledge_each(resource, dict.fromkeys(rule_ids, reason))


def acknowledge_each(resource: IConstruct, reasons: Mapping[str, str]) -> None:
    """Several findings on one resource, each with its reviewed reason, in one call into the CDK.

    Synth time is mostly jsii round trips (about a millisecond each) and the kit acknowledges a few hundred
    findings, so callers batch them per resource.
    """
    rules = ", ".join(reasons)
    if _is_stack_or_root(resource):
        raise ValueError(f"acknowledge {rules} on a resource, not on stack/app '{resource.node.path}'")
    for rule, reason in reasons.items():
        if len(reason.strip()) < MIN_REASON_LENGTH:
            raise ValueError(f"reason for {rule} on {resource.node.path} is shorter than {MIN_REASON_LENGTH} chars")
    acknowledgments = [cdk.Acknowledgment(id=rule, reason=why) for rule, why in reasons.items()]
    cdk.Validations.of(resource).acknowledge(*acknowledgments)


def _is_stack_or_root(resource: IConstruct) -> bool:
    if isinstance(resource, (cdk.Stack, cdk.Stage)):
        return True
    # A CloudFormation element always has a scope; asking the CDK costs two round trips, so only others are asked.
    return not isinstance(resource, cdk.CfnElement) and resource.node.scope is None


def each_pack(rule: str) -> list[str]:
    """NIST and HIPAA name many rules alike: ``each_pack("S3BucketReplicationEnabled")``."""
    return [f"NIST.800.53.R5::NIST.800.53.R5-{rule}", f"HIPAA.Security::HIPAA.Security-{rule}"]


RESOURCE_STAR_REASON = (
    "Only actions that support no resource type use Resource '*'; each is listed with its reason in "
    "tests/policy/resource_star_allowlist.yaml and tests/policy/test_iam.py fails on any other."
)


def iam5_resource_finding(scope: IConstruct, resource: str) -> str:
    """The exact AwsSolutions-IAM5 finding id for a wildcard resource, rendered the way cdk-nag does.

    Resolved in the stack of ``scope``; a cross-stack reference resolves to its import only after
    CDK has resolved references, which is why `acknowledge_object_prefix` calls this from a validation.
    """
    resolved = cdk.Stack.of(scope).resolve(resource)
    return f"AwsSolutions::AwsSolutions-IAM5[Resource::{_render(resolved)}]"


OBJECT_PREFIX_REASON = (
    "Object ARNs under one key prefix of one bucket: object keys are not known at deploy time, so the "
    "prefix is the narrowest S3 resource there is."
)


def acknowledge_object_prefix(role: iam.Role, objects_arn: str, reason: str = OBJECT_PREFIX_REASON) -> None:
    """Acknowledge the IAM5 finding for ``objects_arn`` (``<bucket arn>/<prefix>*``) on ``role``'s policy.

    The finding id contains the resource as the role's stack renders it; for a bucket in another
    stack that is an import which exists only once CDK has resolved references. A construct
    validation runs after that and before the policy-validation plugins read acknowledgments, so
    the id is computed there, exactly, for same- and cross-stack grants alike. One validation per role
    carries all of its prefixes (fewer round trips into the CDK).
    """
    pending = _OBJECT_PREFIXES.get(role)
    if pending is None:
        pending = _OBJECT_PREFIXES[role] = _ObjectPrefixAcknowledgment(role)
        role.node.add_validation(pending)
    pending.prefixes[objects_arn] = reason


@jsii.implements(IValidation)
class _ObjectPrefixAcknowledgment:
    def __init__(self, role: iam.Role) -> None:
        self._role = role
        self.prefixes: dict[str, str] = {}

    def validate(self) -> list[str]:
        policy = self._role.node.try_find_child("DefaultPolicy")
        if policy is None or policy.node.default_child is None:
            return [f"{self._role.node.path} has no policy to acknowledge {arn} on" for arn in self.prefixes]
        acknowledge_each(
            policy.node.default_child,
            {iam5_resource_finding(self._role, arn): reason for arn, reason in self.prefixes.items()},
        )
        return []


_OBJECT_PREFIXES: weakref.WeakKeyDictionary[iam.Role, _ObjectPrefixAcknowledgment] = weakref.WeakKeyDictionary()


def _render(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return str(separator).join(_render(part) for part in parts)
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        logical_id, attribute = value["Fn::GetAtt"]
        return f"<{logical_id}.{attribute}>"
    if isinstance(value, dict) and "Ref" in value:
        return f"<{value['Ref']}>"
    return json.dumps(value, separators=(",", ":"))


def acknowledge_role_policy(policy: IConstruct) -> None:
    """Findings every role policy of the kit raises by construction, with the evidence.

    IAMNoInlinePolicy flags CDK's per-role policy documents, which are attached to exactly one role
    and reviewed with it. IAM5 `Resource::*` is raised by the X-Ray actions of active tracing.
    """
    acknowledge_each(policy, role_policy_reasons())


def role_policy_reasons() -> dict[str, str]:
    """The acknowledgments of `acknowledge_role_policy`, for callers that add their own in the same call."""
    inline = (
        "This policy belongs to exactly one role, is created and deleted with it, and is reviewed with it; "
        "a customer-managed copy would be attachable elsewhere without narrowing any permission."
    )
    star = {"AwsSolutions::AwsSolutions-IAM5[Resource::*]": RESOURCE_STAR_REASON}
    return star | dict.fromkeys(each_pack("IAMNoInlinePolicy"), inline)
