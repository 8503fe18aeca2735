"""What the Data stack keeps: the four buckets and their layout, the audit trail, the run tables, the hash salt.

Every store is created directly in the stack's scope with the construct id it has always had: its logical id
derives from that path, and prod retains these resources, so a new path would be a new, empty resource
(tests/stacks/test_stateful_ids.py holds the ids).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager

from stacks.common.audit_trail import AuditTrail
from stacks.common.buckets import SecureBucket
from stacks.common.nag import acknowledge_all, each_pack

if TYPE_CHECKING:
    from stacks.data.stack import DataProps

# Prefixes inside the buckets (see lambdas/pipeline/keys.py for the full layout).
DATASETS = "datasets/"  # raw: uploads, one folder per dataset with its _READY marker; quarantine: failed objects
STAGING_VALID = "staging/*/valid/"  # raw: records that passed validation
STAGING_REDACTED = "staging/*/redacted/"  # raw: the same records with PII redacted
STAGING_PARTS = "staging/*/parts/"  # raw: a big object cut into parts, and what each part's step wrote
MAP_RESULTS = "map-runs/"  # reports: Distributed Map result files
REPORTS = "reports/"  # reports: one report.json and report.md per run
RECORDS = "records/"  # curated: records in their source's format, for record consumers
DOCUMENTS = "documents/"  # curated: only what a Bedrock knowledge base parses, each with its metadata sidecar


class DataStores:
    """Builds the stores in ``stack`` and holds them: `raw`, `curated`, `quarantine`, `reports` (SecureBucket),
    `audit` (CloudTrail data events on raw and curated), `ledger` and `claims` (DynamoDB) and `hash_salt`."""

    def __init__(self, stack: cdk.Stack, props: DataProps) -> None:
        self._stack = stack
        self._props = props
        self.raw = self._bucket(
            "Raw",
            lifecycle_rules=[
                s3.LifecycleRule(id="expire-staging", prefix="staging/", expiration=cdk.Duration.days(7)),
                s3.LifecycleRule(id="expire-map-results", prefix=MAP_RESULTS, expiration=cdk.Duration.days(30)),
            ],
        )
        _send_events_to_eventbridge(self.raw)
        self.curated = self._bucket("Curated")
        self.quarantine = self._bucket("Quarantine")
        self.reports = self._bucket(
            "Reports",
            lifecycle_rules=[
                s3.LifecycleRule(id="expire-map-results", prefix=MAP_RESULTS, expiration=cdk.Duration.days(30))
            ],
        )
        self.audit = AuditTrail(
            stack,
            "Audit",
            key=props.key,
            access_logs=props.access_logs,
            stage=props.stage,
            trail_name=f"{props.name_prefix}-data-audit",
        )
        self.audit.record_data_events(self.raw, self.curated)
        self.ledger = self._table(
            "RunLedger",
            sort_key="sk",
            purpose="holds per-run counters and object markers that a re-run of the dataset rebuilds",
        )
        self.claims = self._table(
            "DuplicateClaims",
            sort_key=None,
            purpose="holds record-digest claims that only speed up duplicate detection; a lost claim lets one "
            "duplicate through once, and a re-run writes them again",
        )
        self.hash_salt = self._hash_salt()

    def _bucket(self, name: str, lifecycle_rules: list[s3.LifecycleRule] | None = None) -> SecureBucket:
        return SecureBucket(
            self._stack,
            name,
            key=self._props.key,
            access_logs=self._props.access_logs,
            stage=self._props.stage,
            lifecycle_rules=lifecycle_rules or [],
        )

    def _table(self, name: str, *, sort_key: str | None, purpose: str) -> dynamodb.Table:
        props = self._props
        table = dynamodb.Table(
            self._stack,
            name,
            partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name=sort_key, type=dynamodb.AttributeType.STRING) if sort_key else None,
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=props.key,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            time_to_live_attribute="expires_at",
            removal_policy=props.stage.removal_policy,
            deletion_protection=props.stage.deletion_protection,
        )
        acknowledge_all(
            table.node.default_child,  # type: ignore[arg-type]
            each_pack("DynamoDBInBackupPlan"),
            f"Point-in-time recovery is on; the table {purpose}, so an AWS Backup plan adds cost without a "
            "restore need.",
        )
        return table

    def _hash_salt(self) -> secretsmanager.CfnSecret:
        # The L1 on purpose: the L2 Secret adds a key-policy statement with `kms:GenerateDataKey*`; the key
        # policy already delegates to IAM, and the redact role gets exactly kms:Decrypt via Secrets Manager.
        props = self._props
        secret = secretsmanager.CfnSecret(
            self._stack,
            "HashSalt",
            description=f"{props.name_prefix}: salt of the pseudonymous hashes the PII policy keeps as join keys",
            kms_key_id=props.key.key_arn,
            generate_secret_string=secretsmanager.CfnSecret.GenerateSecretStringProperty(
                password_length=64, exclude_punctuation=True
            ),
        )
        secret.apply_removal_policy(props.stage.removal_policy)
        acknowledge_all(
            secret,
            ["AwsSolutions::AwsSolutions-SMG4", *each_pack("SecretsManagerRotationEnabled")],
            "The salt keys pseudonymous join hashes in curated data; rotating it would silently break every join "
            "with earlier datasets. It is never returned to callers, only used inside the redact function.",
        )
        return secret


def _send_events_to_eventbridge(bucket: SecureBucket) -> None:
    # A plain bucket setting: CDK's `event_bridge_enabled` would deploy a custom-resource Lambda for it.
    resource = bucket.bucket.node.default_child
    assert isinstance(resource, s3.CfnBucket)
    resource.notification_configuration = s3.CfnBucket.NotificationConfigurationProperty(
        event_bridge_configuration=s3.CfnBucket.EventBridgeConfigurationProperty(event_bridge_enabled=True)
    )
