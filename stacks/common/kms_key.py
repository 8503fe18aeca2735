"""Customer-managed KMS key with rotation and a key policy that names every action."""

from __future__ import annotations

import json

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

# CDK's default key policy grants the account `kms:*`. The kit names the actions instead, so the
# IAM check can prove there is no wildcard anywhere. These are what IAM policies in the account may
# then delegate: administration plus the cryptographic operations the kit's services use.
ACCOUNT_ACTIONS = [
    "kms:CancelKeyDeletion",
    "kms:CreateAlias",
    "kms:Decrypt",
    "kms:DeleteAlias",
    "kms:DescribeKey",
    "kms:DisableKey",
    "kms:DisableKeyRotation",
    "kms:EnableKey",
    "kms:EnableKeyRotation",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:ListKeyPolicies",
    "kms:ListResourceTags",
    "kms:PutKeyPolicy",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
    "kms:RetireGrant",
    "kms:RotateKeyOnDemand",
    "kms:ScheduleKeyDeletion",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:UpdateAlias",
    "kms:UpdateKeyDescription",
]

# Grants are how integrated services (DynamoDB, Lambda, Comprehend, Bedrock) use the key for a caller.
# Delegated only for AWS resources (AWS KMS Developer Guide, condition key kms:GrantIsForAWSResource):
# a principal can never hand itself or anyone else a grant directly. The condition key does not apply to
# RetireGrant (a grantee retires its own grant), which stays in ACCOUNT_ACTIONS.
GRANT_ACTIONS = ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"]
GRANTS_FOR_AWS_RESOURCES_ONLY = {"Bool": {"kms:GrantIsForAWSResource": "true"}}

# What an AWS service needs to use the key on a caller's behalf (log groups, SNS, SQS).
SERVICE_USE_ACTIONS = ["kms:Decrypt", "kms:GenerateDataKey"]


class KitKey(Construct):
    """A rotating CMK whose policy enables IAM in this account and CloudWatch Logs in this region."""

    def __init__(
        self, scope: Construct, construct_id: str, *, alias: str, description: str, removal_policy: cdk.RemovalPolicy
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        account_root = iam.AccountRootPrincipal()
        policy = iam.PolicyDocument(
            statements=[
                iam.PolicyStatement(
                    sid="AccountAdministersAndDelegatesThroughIam",
                    principals=[account_root],
                    actions=ACCOUNT_ACTIONS,
                    resources=["*"],
                ),
                iam.PolicyStatement(
                    sid="AccountDelegatesGrantsForAwsResourcesOnly",
                    principals=[account_root],
                    actions=GRANT_ACTIONS,
                    resources=["*"],
                    conditions=GRANTS_FOR_AWS_RESOURCES_ONLY,
                ),
                iam.PolicyStatement(
                    sid="CloudWatchLogsEncryptsThisAccountsLogGroups",
                    principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
                    actions=[
                        "kms:Decrypt",
                        "kms:DescribeKey",
                        "kms:Encrypt",
                        "kms:GenerateDataKey",
                        "kms:ReEncryptFrom",
                        "kms:ReEncryptTo",
                    ],
                    resources=["*"],
                    conditions={
                        "ArnLike": {
                            "kms:EncryptionContext:aws:logs:arn": stack.format_arn(
                                service="logs",
                                resource="log-group",
                                resource_name="*",
                                arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
                            )
                        }
                    },
                ),
            ]
        )
        self.key = kms.Key(
            self,
            "Key",
            alias=alias,
            description=description,
            enable_key_rotation=True,
            policy=policy,
            removal_policy=removal_policy,
            pending_window=cdk.Duration.days(30 if removal_policy == cdk.RemovalPolicy.RETAIN else 7),
        )

    @property
    def key_arn(self) -> str:
        return self.key.key_arn

    def allow_service(self, sid: str, service: str, *, source_arn: str | None = None) -> None:
        """`allow_service_use` on this key."""
        allow_service_use(self, self.key, sid, service, source_arn=source_arn)

    def grant_use_via(self, grantee: iam.IGrantable, service: str, *, encrypt: bool) -> iam.Grant:
        """`grant_key_use_via` on this key."""
        return grant_key_use_via(self.key, grantee, service, encrypt=encrypt)


def grant_key_use_via(key: kms.IKey, grantee: iam.IGrantable, service: str, *, encrypt: bool) -> iam.Grant:
    """Decrypt (and, with ``encrypt``, generate data keys) of ``key`` only when called through ``service``.

    ``service`` is the service prefix ("s3", "sqs", "sns"); the ViaService condition pins the region. An
    identity-policy grant, so it works the same for a key of this app and an imported one (whose policy must
    delegate to IAM, as the kit's own key policy does).
    """
    return iam.Grant.add_to_principal(
        grantee=grantee,
        actions=["kms:Decrypt", "kms:GenerateDataKey"] if encrypt else ["kms:Decrypt"],
        resource_arns=[key.key_arn],
        conditions={"StringEquals": {"kms:ViaService": f"{service}.{cdk.Aws.REGION}.amazonaws.com"}},
    )


def allow_service_use(
    scope: Construct, key: kms.IKey, sid: str, service: str, *, source_arn: str | None = None
) -> bool:
    """Let an AWS service principal use ``key`` for this account only (e.g. CloudWatch alarms -> SNS), for
    ``source_arn`` (an ARN or ARN pattern) when given. Returns whether the statement is in the key policy; when
    it is not (an imported key), ``scope`` carries a warning with the statement to add."""
    conditions: dict[str, dict[str, str]] = {"StringEquals": {"aws:SourceAccount": cdk.Stack.of(scope).account}}
    if source_arn is not None:
        conditions["ArnLike"] = {"aws:SourceArn": source_arn}
    return add_key_policy_statement(
        scope,
        key,
        iam.PolicyStatement(
            sid=sid,
            principals=[iam.ServicePrincipal(service)],
            actions=SERVICE_USE_ACTIONS,
            resources=["*"],
            conditions=conditions,
        ),
        consequence=f"{service} cannot use the key for this stack's resources",
    )


def add_key_policy_statement(
    scope: Construct, key: kms.IKey, statement: iam.PolicyStatement, *, consequence: str
) -> bool:
    """Add ``statement`` to ``key``'s policy when the key is defined in this app; otherwise (an imported key,
    whose policy this app does not own) warn on ``scope`` with the exact statement to add: a dropped mutation
    is never silent (AWS CDK design guidelines). ``consequence`` says what fails until the statement is there.

    Returns whether the statement was added. The statement is rendered as CloudFormation would resolve it in
    the stack of ``scope``: literal values where the stack has an explicit environment, otherwise intrinsics
    such as ``{"Ref": "AWS::AccountId"}`` to substitute.
    """
    if key.add_to_resource_policy(statement).statement_added:
        return True
    stack = cdk.Stack.of(scope)
    rendered = json.dumps(stack.resolve(statement.to_statement_json()), sort_keys=True)
    key_arn = stack.resolve(key.key_arn)
    named = key_arn if isinstance(key_arn, str) else json.dumps(key_arn, sort_keys=True)
    cdk.Annotations.of(scope).add_warning_v2(
        f"journey:key-policy:{statement.sid or 'statement'}",
        f"The key {named} is not managed by this app, so its key policy cannot be changed here: add this "
        f"statement to it, or {consequence}: {rendered}",
    )
    return False
