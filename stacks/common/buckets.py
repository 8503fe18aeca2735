"""S3 building blocks: the access-log bucket and `SecureBucket` for every data store."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Unpack

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from stacks.common.kms_key import grant_key_use_via
from stacks.common.metrics import MetricProps, block_metric
from stacks.common.nag import acknowledge, acknowledge_all, acknowledge_object_prefix, each_pack
from stacks.common.stage_policy import StagePolicy

# The service principal of S3 server access log delivery.
LOG_DELIVERY = "logging.s3.amazonaws.com"
REPLICATION_REASON = (
    "Cross-region replication is a disaster-recovery choice per deployment (a second region, "
    "bucket and key); versioning and RETAIN in prod protect against deletion within the region."
)


def _secure_defaults(stage: StagePolicy) -> dict[str, object]:
    return {
        "block_public_access": s3.BlockPublicAccess.BLOCK_ALL,
        "enforce_ssl": True,
        "minimum_tls_version": 1.2,
        "object_ownership": s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        "versioned": True,
        "removal_policy": stage.removal_policy,
        "auto_delete_objects": stage.auto_delete_objects,
    }


class AccessLogBucket(Construct):
    """Target of S3 server access logs for every bucket of the kit in one stack."""

    def __init__(self, scope: Construct, construct_id: str, *, stage: StagePolicy) -> None:
        super().__init__(scope, construct_id)
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            # S3 log delivery writes only to SSE-S3 buckets; SSE-KMS targets are not supported.
            encryption=s3.BucketEncryption.S3_MANAGED,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-access-logs",
                    expiration=cdk.Duration.days(365 if stage.is_prod else 30),
                    noncurrent_version_expiration=stage.noncurrent_version_expiration,
                    abort_incomplete_multipart_upload_after=cdk.Duration.days(1),
                )
            ],
            **_secure_defaults(stage),  # type: ignore[arg-type]
        )
        resource = self.bucket.node.default_child
        assert resource is not None
        acknowledge(
            resource,
            "AwsSolutions::AwsSolutions-S1",
            "This is the server-access-log target; logging it to itself would log its own log writes.",
        )
        acknowledge_all(
            resource,
            each_pack("S3BucketLoggingEnabled"),
            "This is the server-access-log target; logging it to itself would log its own log writes.",
        )
        acknowledge_all(
            resource,
            each_pack("S3DefaultEncryptionKMS"),
            "S3 server access log delivery supports only SSE-S3 (AES256) on the target bucket.",
        )
        acknowledge_all(resource, each_pack("S3BucketReplicationEnabled"), REPLICATION_REASON)


class SecureBucket(Construct):
    """A KMS-encrypted, TLS-only, private, versioned bucket with access logs and lifecycle rules.

    Grants name their actions and scope to a key prefix; KMS use is allowed only through S3.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        key: kms.IKey,
        access_logs: s3.IBucket,
        stage: StagePolicy,
        lifecycle_rules: Sequence[s3.LifecycleRule] = (),
        event_bridge_enabled: bool = False,
    ) -> None:
        super().__init__(scope, construct_id)
        self._key = key
        log_prefix = f"{cdk.Names.unique_id(self)}/"
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=key,
            bucket_key_enabled=True,
            event_bridge_enabled=event_bridge_enabled,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-noncurrent-versions",
                    noncurrent_version_expiration=stage.noncurrent_version_expiration,
                    abort_incomplete_multipart_upload_after=cdk.Duration.days(7),
                ),
                *lifecycle_rules,
            ],
            **_secure_defaults(stage),  # type: ignore[arg-type]
        )
        resource = self.bucket.node.default_child
        assert isinstance(resource, s3.CfnBucket)
        acknowledge_all(resource, each_pack("S3BucketReplicationEnabled"), REPLICATION_REASON)
        self._log_to(access_logs, resource, log_prefix)

    def _log_to(self, access_logs: s3.IBucket, resource: s3.CfnBucket, log_prefix: str) -> None:
        """Server access logs under ``log_prefix`` of ``access_logs``, which S3 log delivery may write there only
        for this account's buckets.

        The plain bucket setting rather than CDK's `server_access_logs_bucket`: for a target in another stack
        CDK grants `logging.s3.amazonaws.com` without conditions. AWS recommends `aws:SourceArn` and
        `aws:SourceAccount` on that grant (Amazon S3 User Guide, "Enabling Amazon S3 server access logging",
        permissions for log delivery). The source bucket's ARN is used when both buckets share a stack; across
        stacks its generated name would make the target's stack depend on this one (a cycle), so SourceArn is
        every S3 bucket (`arn:<partition>:s3:::*`) and `aws:SourceAccount` pins them to this account, the
        pattern the S3 guide gives for many source buckets.
        """
        resource.logging_configuration = s3.CfnBucket.LoggingConfigurationProperty(
            destination_bucket_name=access_logs.bucket_name, log_file_prefix=log_prefix
        )
        same_stack = cdk.Stack.of(access_logs) is cdk.Stack.of(self)
        source_arn = self.bucket.bucket_arn if same_stack else f"arn:{cdk.Aws.PARTITION}:s3:::*"
        statement = iam.PolicyStatement(
            principals=[iam.ServicePrincipal(LOG_DELIVERY)],
            actions=["s3:PutObject"],
            resources=[access_logs.arn_for_objects(f"{log_prefix}*")],
            conditions={
                "ArnLike": {"aws:SourceArn": source_arn},
                "StringEquals": {"aws:SourceAccount": cdk.Stack.of(access_logs).account},
            },
        )
        if not access_logs.add_to_resource_policy(statement).statement_added:
            cdk.Annotations.of(self).add_warning_v2(
                "journey:access-log-policy",
                f"{access_logs.node.path} is not managed here: its bucket policy must allow {LOG_DELIVERY} "
                f"s3:PutObject on <bucket arn>/{log_prefix}* with aws:SourceArn {source_arn} and aws:SourceAccount "
                "set, or this bucket's server access logs are not delivered.",
            )

    @property
    def bucket_name(self) -> str:
        return self.bucket.bucket_name

    @property
    def bucket_arn(self) -> str:
        return self.bucket.bucket_arn

    def arn_for(self, prefix: str = "") -> str:
        """ARN of the objects under ``prefix`` ("" for all objects)."""
        return self.bucket.arn_for_objects(f"{prefix}*")

    def grant_read(self, grantee: iam.IGrantable, prefix: str = "") -> iam.Grant:
        """GetObject and ListBucket under ``prefix`` only, and decrypt through S3."""
        return grant_read_prefix(self.bucket, grantee, prefix, key=self._key)

    def grant_write(self, grantee: iam.IGrantable, prefix: str = "") -> iam.Grant:
        """PutObject under ``prefix`` only; data keys through S3 (Decrypt too, for multipart uploads)."""
        return grant_write_prefix(self.bucket, grantee, prefix, key=self._key)

    def grant_delete(self, grantee: iam.IGrantable, prefix: str = "") -> iam.Grant:
        """DeleteObject under ``prefix`` only (no key use: deleting needs none)."""
        return grant_delete_prefix(self.bucket, grantee, prefix)

    def metric(
        self, metric_name: str, *, storage_type: str = "AllStorageTypes", **props: Unpack[MetricProps]
    ) -> cloudwatch.Metric:
        """A daily S3 storage metric of this bucket (AWS/S3, Average over one day unless overridden).

        ``storage_type`` is the StorageType dimension ("StandardStorage", "AllStorageTypes", ...). S3 request
        metrics need a metrics configuration on the bucket, which SecureBucket does not add.
        """
        dimensions = {"BucketName": self.bucket.bucket_name, "StorageType": storage_type}
        return block_metric(
            "AWS/S3", metric_name, dimensions, default_statistic="Average", default_period=cdk.Duration.days(1), **props
        )

    def metric_number_of_objects(self, **props: Unpack[MetricProps]) -> cloudwatch.Metric:
        """Objects in the bucket, all storage classes (daily)."""
        return self.metric("NumberOfObjects", storage_type="AllStorageTypes", **props)

    def metric_bucket_size_bytes(self, **props: Unpack[MetricProps]) -> cloudwatch.Metric:
        """Bytes stored in the Standard storage class (daily)."""
        return self.metric("BucketSizeBytes", storage_type="StandardStorage", **props)


# Prefix grants on any bucket, the kit's `SecureBucket.bucket` or a team's own (`s3.Bucket.from_bucket_name`): named
# actions only, where CDK's bucket grants emit wildcards (`s3:GetObject*`, `kms:GenerateDataKey*`). ``key`` is the
# bucket's SSE-KMS key (None for SSE-S3), used only through S3.


def grant_read_prefix(
    bucket: s3.IBucket, grantee: iam.IGrantable, prefix: str = "", *, key: kms.IKey | None
) -> iam.Grant:
    """GetObject and ListBucket under ``prefix`` only, and kms:Decrypt of ``key`` through S3."""
    grant = _allow_objects(bucket, grantee, ["s3:GetObject"], prefix)
    grant = grant.combine(
        iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["s3:ListBucket"],
            resource_arns=[bucket.bucket_arn],
            conditions={"StringLike": {"s3:prefix": [f"{prefix}*"]}} if prefix else None,
        )
    )
    return grant if key is None else grant.combine(grant_key_use_via(key, grantee, "s3", encrypt=False))


def grant_write_prefix(
    bucket: s3.IBucket, grantee: iam.IGrantable, prefix: str = "", *, key: kms.IKey | None
) -> iam.Grant:
    """PutObject under ``prefix`` only; data keys of ``key`` through S3 (Decrypt too, for multipart uploads)."""
    grant = _allow_objects(bucket, grantee, ["s3:PutObject"], prefix)
    return grant if key is None else grant.combine(grant_key_use_via(key, grantee, "s3", encrypt=True))


def grant_delete_prefix(bucket: s3.IBucket, grantee: iam.IGrantable, prefix: str = "") -> iam.Grant:
    """DeleteObject under ``prefix`` only (no key use: deleting needs none)."""
    return _allow_objects(bucket, grantee, ["s3:DeleteObject"], prefix)


def _allow_objects(bucket: s3.IBucket, grantee: iam.IGrantable, actions: list[str], prefix: str) -> iam.Grant:
    objects = bucket.arn_for_objects(f"{prefix}*")
    grant = iam.Grant.add_to_principal(grantee=grantee, actions=actions, resource_arns=[objects])
    principal = grantee.grant_principal
    if isinstance(principal, iam.Role):
        acknowledge_object_prefix(principal, objects)
    return grant
