"""`InvocationLogging`: Bedrock model invocation logging to a CMK-encrypted log group and an S3 prefix.

No CloudFormation resource exists for the setting, so a custom resource (lambdas/observability/
invocation_logging.py) calls PutModelInvocationLoggingConfiguration. The setting is ONE per account and region:
the resource records the setting it finds at create in an SSM parameter and restores it on delete; the stack
builds it only with `features.invocation_logging` (opt-in, docs/observability.md).

- Bedrock delivers to the log group through `role`, which trusts bedrock.amazonaws.com only for this account
  (`aws:SourceAccount`) and its Bedrock resources (`aws:SourceArn`), and may only write log events there.
- Bedrock writes objects to the bucket under `prefix` as its service principal, allowed by the bucket policy and
  the key policy under the same two conditions.
- The provider function may call the three logging actions (no resource type: Resource "*"), pass exactly
  `role` and only to Bedrock, and read, write and delete exactly its record parameter.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from stacks.common.buckets import SecureBucket
from stacks.common.kit_function import KitFunction
from stacks.common.kms_key import allow_service_use
from stacks.common.nag import acknowledge_all, each_pack
from stacks.common.stage_policy import StagePolicy

BEDROCK = "bedrock.amazonaws.com"
HANDLER = "observability.invocation_logging.handler"
SERVICE = "observability-invocation-logging"
LOGGING_ACTIONS = [
    "bedrock:GetModelInvocationLoggingConfiguration",
    "bedrock:PutModelInvocationLoggingConfiguration",
    "bedrock:DeleteModelInvocationLoggingConfiguration",
]
RECORD_ACTIONS = ["ssm:GetParameter", "ssm:PutParameter", "ssm:DeleteParameter"]
DELIVERY_ACTIONS = ["logs:CreateLogStream", "logs:PutLogEvents"]
PREFIX = "bedrock-invocations/"


class InvocationLogging(Construct):
    """Exposes `log_group`, `bucket` (`SecureBucket`), `prefix`, `role` (Bedrock's delivery role), `provider`
    (`KitFunction`), `record_parameter` (its name) and `resource` (the custom resource)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name_prefix: str,
        stage: StagePolicy,
        key: kms.IKey,
        access_logs: s3.IBucket,
        namespace: str,
        prefix: str = PREFIX,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        self.prefix = prefix
        conditions = {
            "StringEquals": {"aws:SourceAccount": stack.account},
            "ArnLike": {"aws:SourceArn": self.bedrock_source_arn()},
        }
        self.log_group = logs.LogGroup(
            self, "Logs", retention=stage.log_retention, encryption_key=key, removal_policy=stage.removal_policy
        )
        self.bucket = SecureBucket(self, "Bucket", key=key, access_logs=access_logs, stage=stage)
        self.bucket.bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="BedrockInvocationLogDelivery",
                principals=[iam.ServicePrincipal(BEDROCK)],
                actions=["s3:PutObject"],
                resources=[self.bucket.bucket.arn_for_objects(f"{prefix}*")],
                conditions=conditions,
            )
        )
        allow_service_use(
            self,
            key,
            f"BedrockInvocationLogsOf{cdk.Names.unique_id(self)}"[:128],
            BEDROCK,
            source_arn=self.bedrock_source_arn(),
        )
        self.role = iam.Role(
            self,
            "DeliveryRole",
            assumed_by=iam.ServicePrincipal(BEDROCK, conditions=conditions),
            description="Bedrock delivers model invocation logs to the kit's log group (least privilege)",
        )
        iam.Grant.add_to_principal(
            grantee=self.role, actions=DELIVERY_ACTIONS, resource_arns=[self.log_group.log_group_arn]
        )
        role_policy = self.role.node.find_child("DefaultPolicy").node.default_child
        assert role_policy is not None
        acknowledge_all(
            role_policy,
            each_pack("IAMNoInlinePolicy"),
            "This policy belongs to exactly one role, is created and deleted with it, and is reviewed with it; "
            "a customer-managed copy would be attachable elsewhere without narrowing any permission.",
        )
        self.record_parameter = f"/{name_prefix}/observability/invocation-logging-prior"
        self.provider = KitFunction(
            self,
            "Provider",
            handler=HANDLER,
            description="Custom resource: Bedrock model invocation logging, restoring the prior setting on delete",
            service=SERVICE,
            namespace=namespace,
            key=key,
            stage=stage,
            timeout=cdk.Duration.minutes(2),
        )
        self._grant_provider(self.provider.role)
        self.resource = cdk.CustomResource(
            self,
            "Setting",
            service_token=self.provider.function_arn,
            resource_type="Custom::BedrockInvocationLogging",
            properties={
                "LogGroupName": self.log_group.log_group_name,
                "RoleArn": self.role.role_arn,
                "BucketName": self.bucket.bucket_name,
                "KeyPrefix": prefix,
                "RecordParameter": self.record_parameter,
                "TextDataDelivery": "true",
                "ImageDataDelivery": "false",
                "EmbeddingDataDelivery": "false",
            },
        )
        # Bedrock checks the destinations when the setting is put: the grants must exist first (the bucket, role
        # and log group themselves are referenced already).
        bucket_policy = self.bucket.bucket.policy
        assert bucket_policy is not None
        self.resource.node.add_dependency(
            bucket_policy,
            self.role.node.find_child("DefaultPolicy"),
            self.provider.role.node.find_child("DefaultPolicy"),
        )

    def bedrock_source_arn(self) -> str:
        """arn:<partition>:bedrock:<region>:<account>:* — Bedrock resources of this account and region."""
        return cdk.Stack.of(self).format_arn(service="bedrock", resource="*", arn_format=cdk.ArnFormat.NO_RESOURCE_NAME)

    def record_parameter_arn(self) -> str:
        return cdk.Stack.of(self).format_arn(
            service="ssm",
            resource="parameter",
            resource_name=self.record_parameter.lstrip("/"),
            arn_format=cdk.ArnFormat.SLASH_RESOURCE_NAME,
        )

    def _grant_provider(self, role: iam.IRole) -> None:
        iam.Grant.add_to_principal(grantee=role, actions=LOGGING_ACTIONS, resource_arns=["*"])
        iam.Grant.add_to_principal(
            grantee=role,
            actions=["iam:PassRole"],
            resource_arns=[self.role.role_arn],
            conditions={"StringEquals": {"iam:PassedToService": BEDROCK}},
        )
        iam.Grant.add_to_principal(grantee=role, actions=RECORD_ACTIONS, resource_arns=[self.record_parameter_arn()])
