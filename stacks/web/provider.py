"""Acknowledgments for CDK's bucket-deployment provider, which is CDK's code rather than the kit's.

`aws_s3_deployment.BucketDeployment` runs one singleton function per stack whose role CDK writes with its own grant
helpers (wildcard actions such as `s3:GetObject*`, the bootstrap assets bucket, invalidations on `*`). DESIGN.md:
framework providers are listed by id (tools/iam_check.py FRAMEWORK_PROVIDERS) and their findings acknowledged on
their own resources. The IAM5 ids name each wildcard exactly as cdk-nag renders it, computed from the resolved
policy in a construct validation, so a pinned account and region (literal ARNs) are covered as well as tokens.
"""

from __future__ import annotations

import re
from typing import Any

import aws_cdk as cdk
import jsii
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import IConstruct, IValidation

from stacks.common.nag import acknowledge, acknowledge_all, each_pack, iam5_resource_finding

# The construct id (and, without dashes and colons, the logical-id prefix) of the provider's singleton function.
DEPLOYMENT_PROVIDER = "Custom::CDKBucketDeployment8693BB64968944B69AAFB0CC9EB8756C"
REASON = (
    "CDK's own bucket-deployment provider (aws_s3_deployment.BucketDeployment), not the kit's code: CloudFormation "
    "invokes it synchronously once per deploy to copy web/ and config.json into the page bucket and invalidate the "
    "distribution; its runtime, role and settings are CDK's, and it is listed in tools/iam_check.py."
)


def acknowledge_deployment_provider(stack: cdk.Stack) -> None:
    """Acknowledge the provider's findings on its function, role and policy (call after the BucketDeployment)."""
    provider = stack.node.find_child(DEPLOYMENT_PROVIDER)
    assert isinstance(provider, lambda_.Function), provider
    function = provider.node.default_child
    assert function is not None
    acknowledge_all(
        function,
        [
            "AwsSolutions::AwsSolutions-L1",
            *each_pack("LambdaConcurrency"),
            *each_pack("LambdaDLQ"),
            *each_pack("LambdaInsideVPC"),
            "Serverless::Serverless-LambdaDLQ",
            "Serverless::Serverless-LambdaLatestVersion",
            "Serverless::Serverless-LambdaTracing",
        ],
        REASON,
    )
    role = provider.role
    assert isinstance(role, iam.Role)
    role_resource = role.node.default_child
    assert role_resource is not None
    acknowledge(
        role_resource,
        "AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
        "AWSLambdaBasicExecutionRole]",
        REASON,
    )
    policy = role.node.find_child("DefaultPolicy").node.default_child
    assert isinstance(policy, iam.CfnPolicy)
    acknowledge_all(policy, each_pack("IAMNoInlinePolicy"), REASON)
    policy.node.add_validation(_WildcardAcknowledgment(policy))


@jsii.implements(IValidation)
class _WildcardAcknowledgment:
    """Every wildcard action and resource of the policy, as an IAM5 id, once references are resolved."""

    def __init__(self, policy: iam.CfnPolicy) -> None:
        self._policy = policy

    def validate(self) -> list[str]:
        document = cdk.Stack.of(self._policy).resolve(self._policy.policy_document)
        ids = sorted(set(wildcard_findings(self._policy, document.get("Statement", []))))
        if ids:
            acknowledge_all(self._policy, ids, REASON)
        return []


def wildcard_findings(scope: IConstruct, statements: list[dict[str, Any]]) -> list[str]:
    """The AwsSolutions-IAM5 ids of ``statements`` (resolved): one per wildcard action and per wildcard resource."""
    found = []
    for statement in statements:
        actions = statement.get("Action", [])
        resources = statement.get("Resource", [])
        for action in actions if isinstance(actions, list) else [actions]:
            if "*" in action:
                found.append(f"AwsSolutions::AwsSolutions-IAM5[Action::{action}]")
        for resource in resources if isinstance(resources, list) else [resources]:
            finding = iam5_resource_finding(scope, _subs_rendered(resource))
            if "*" in finding.removeprefix("AwsSolutions::AwsSolutions-IAM5["):
                found.append(finding)
    return found


def _subs_rendered(value: Any) -> Any:
    """``{"Fn::Sub": "a-${AWS::Region}"}`` as cdk-nag renders it (`a-<AWS::Region>`), inside joins too: the bootstrap
    assets bucket's name reaches the policy as a Sub."""
    if isinstance(value, dict) and set(value) == {"Fn::Sub"} and isinstance(value["Fn::Sub"], str):
        return re.sub(r"\$\{([^}]+)\}", r"<\1>", value["Fn::Sub"])
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return {"Fn::Join": [separator, [_subs_rendered(part) for part in parts]]}
    return value
