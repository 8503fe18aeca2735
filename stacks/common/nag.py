"""cdk-nag v3 wiring and the one way the kit acknowledges a finding.

The four packs run as CDK policy-validation plugins, so an unacknowledged finding fails synth.
`acknowledge` only accepts a resource-level construct and a reason a reviewer can check, so an
exception can never silently cover a whole stack or app.
"""

from __future__ import annotations

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks, HIPAASecurityChecks, NIST80053R5Checks, ServerlessChecks
from constructs import IConstruct

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
    if isinstance(resource, (cdk.Stack, cdk.Stage)) or resource.node.scope is None:
        raise ValueError(f"acknowledge {rule_id} on a resource, not on stack/app '{resource.node.path}'")
    if len(reason.strip()) < MIN_REASON_LENGTH:
        raise ValueError(f"reason for {rule_id} on {resource.node.path} is shorter than {MIN_REASON_LENGTH} chars")
    cdk.Validations.of(resource).acknowledge(cdk.Acknowledgment(id=rule_id, reason=reason))


def acknowledge_all(resource: IConstruct, rule_ids: list[str], reason: str) -> None:
    """The same reviewed reason for one concern that several packs report under different ids."""
    for rule_id in rule_ids:
        acknowledge(resource, rule_id, reason)


def each_pack(rule: str) -> list[str]:
    """NIST and HIPAA name many rules alike: ``each_pack("S3BucketReplicationEnabled")``."""
    return [f"NIST.800.53.R5::NIST.800.53.R5-{rule}", f"HIPAA.Security::HIPAA.Security-{rule}"]
