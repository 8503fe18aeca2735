"""`AuditTrail`: CloudTrail data events (object reads and writes) of chosen buckets, CMK-encrypted.

Management events are left to the account's or organization's own trail; this trail records who read
and wrote which object of the buckets handed to `record_data_events`, into a `SecureBucket`, with log
file validation and the kit's key. The key policy lets CloudTrail use the key for this trail only.

The trail bucket is a `SecureBucket`, so SSE-KMS with an S3 Bucket Key (one data key per bucket and
period instead of one KMS request per log file: data events write many small files). CloudTrail's KMS
guide ("Configure AWS KMS key policies for CloudTrail", required key policy elements for trails) says
that with a Bucket Key CloudTrail needs `kms:Decrypt` when it creates or updates the trail; the kit
follows the guide exactly: GenerateDataKey (encryption context of this account's trails), Decrypt and
DescribeKey for `cloudtrail.amazonaws.com`, each scoped by `aws:SourceArn` to this one trail.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudtrail as cloudtrail
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from stacks.common.buckets import SecureBucket
from stacks.common.kms_key import add_key_policy_statement
from stacks.common.nag import acknowledge_all, each_pack
from stacks.common.stage_policy import StagePolicy

TRAIL_FAILS = "creating the trail fails (CloudTrail checks it can use the key)"


class AuditTrail(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        key: kms.IKey,
        access_logs: s3.IBucket,
        stage: StagePolicy,
        trail_name: str,
    ) -> None:
        super().__init__(scope, construct_id)
        self.bucket = SecureBucket(
            self,
            "Logs",
            key=key,
            access_logs=access_logs,
            stage=stage,
            lifecycle_rules=[]
            if stage.is_prod
            else [s3.LifecycleRule(id="expire-dev-audit-logs", expiration=cdk.Duration.days(30))],
        )
        key_stack = cdk.Stack.of(self)  # the trail's own stack: its ARN and this account's trails
        trail_arn = key_stack.format_arn(
            service="cloudtrail",
            resource="trail",
            resource_name=trail_name,
            arn_format=cdk.ArnFormat.SLASH_RESOURCE_NAME,
        )
        cloudtrail_principal = iam.ServicePrincipal("cloudtrail.amazonaws.com")
        sid = "".join(part.capitalize() for part in trail_name.replace("_", "-").split("-"))
        add_key_policy_statement(
            self,
            key,
            iam.PolicyStatement(
                sid=f"CloudTrailEncryptsLogsOf{sid}",
                principals=[cloudtrail_principal],
                actions=["kms:GenerateDataKey"],
                resources=["*"],
                conditions={
                    "StringEquals": {"aws:SourceArn": trail_arn},
                    "StringLike": {
                        "kms:EncryptionContext:aws:cloudtrail:arn": key_stack.format_arn(
                            service="cloudtrail",
                            region="*",
                            resource="trail",
                            resource_name="*",
                            arn_format=cdk.ArnFormat.SLASH_RESOURCE_NAME,
                        )
                    },
                },
            ),
            consequence=TRAIL_FAILS,
        )
        # Required with an S3 Bucket Key on the trail bucket: CloudTrail decrypts when it creates or updates
        # the trail (CloudTrail User Guide, "Configure AWS KMS key policies for CloudTrail").
        add_key_policy_statement(
            self,
            key,
            iam.PolicyStatement(
                sid=f"CloudTrailDecryptsForBucketKeyOf{sid}",
                principals=[cloudtrail_principal],
                actions=["kms:Decrypt"],
                resources=["*"],
                conditions={"StringEquals": {"aws:SourceArn": trail_arn}},
            ),
            consequence=TRAIL_FAILS,
        )
        add_key_policy_statement(
            self,
            key,
            iam.PolicyStatement(
                sid=f"CloudTrailDescribesKeyFor{sid}",
                principals=[cloudtrail_principal],
                actions=["kms:DescribeKey"],
                resources=["*"],
                conditions={"StringEquals": {"aws:SourceArn": trail_arn}},
            ),
            consequence=TRAIL_FAILS,
        )
        self.trail = cloudtrail.Trail(
            self,
            "Trail",
            trail_name=trail_name,
            bucket=self.bucket.bucket,
            encryption_key=key,
            enable_file_validation=True,
            is_multi_region_trail=False,
            include_global_service_events=False,
            management_events=cloudtrail.ReadWriteType.NONE,
            send_to_cloud_watch_logs=False,
        )
        resource = self.trail.node.default_child
        assert resource is not None
        acknowledge_all(
            resource,
            each_pack("CloudTrailCloudWatchLogsEnabled"),
            "Object-level data events of the pipeline buckets run to millions per dataset; they stay in the "
            "encrypted, validated S3 trail bucket (query with Athena) instead of CloudWatch Logs ingestion.",
        )

    def record_data_events(self, *buckets: SecureBucket) -> None:
        """Log every object read and write (GetObject, PutObject, CopyObject, DeleteObject...) of ``buckets``."""
        self.trail.add_s3_event_selector(
            [cloudtrail.S3EventSelector(bucket=b.bucket) for b in buckets],
            include_management_events=False,
            read_write_type=cloudtrail.ReadWriteType.ALL,
        )
