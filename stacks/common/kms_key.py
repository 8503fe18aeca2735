"""Customer-managed KMS key with rotation and a key policy that names every action."""

from __future__ import annotations

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
        """Let an AWS service principal encrypt for this account only (e.g. CloudWatch alarms -> SNS)."""
        conditions: dict[str, dict[str, str]] = {"StringEquals": {"aws:SourceAccount": cdk.Stack.of(self).account}}
        if source_arn is not None:
            conditions["ArnLike"] = {"aws:SourceArn": source_arn}
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid=sid,
                principals=[iam.ServicePrincipal(service)],
                actions=SERVICE_USE_ACTIONS,
                resources=["*"],
                conditions=conditions,
            )
        )

    def grant_use_via(self, grantee: iam.IGrantable, service: str, *, encrypt: bool) -> None:
        """Decrypt (and, with ``encrypt``, generate data keys) only when called through ``service``.

        ``service`` is the service prefix ("s3", "sqs", "sns"); the ViaService condition pins the region.
        """
        actions = ["kms:Decrypt", "kms:GenerateDataKey"] if encrypt else ["kms:Decrypt"]
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=actions,
                resources=[self.key.key_arn],
                conditions={"StringEquals": {"kms:ViaService": f"{service}.{cdk.Aws.REGION}.amazonaws.com"}},
            )
        )
