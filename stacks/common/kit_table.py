"""`kit_table`: a DynamoDB table the kit's way, one definition for every stack that stores items.

On demand (nothing bills while idle but the stored bytes), encrypted with the stage's CMK, point-in-time recovery,
RETAIN plus deletion protection in prod (the stage policy), string keys, TTL where the items expire, and the
AWS Backup finding acknowledged with the table's own purpose (PITR is the restore path).
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from constructs import Construct

from stacks.common.nag import acknowledge_all, each_pack
from stacks.common.stage_policy import StagePolicy


@dataclass(frozen=True)
class TableSpec:
    construct_id: str  # keeps the table's logical id: a renamed construct is a replaced table
    suffix: str  # of the physical name `<prefix>-<stage>-<stack>-<suffix>`
    key: tuple[str, str | None]  # (partition key, sort key or None), both strings
    purpose: str  # "holds ...": the reason no backup plan is needed
    ttl_attribute: str | None = None


def string_attribute(name: str) -> dynamodb.Attribute:
    return dynamodb.Attribute(name=name, type=dynamodb.AttributeType.STRING)


def kit_table(
    scope: Construct, spec: TableSpec, *, table_name: str, key: kms.IKey, stage: StagePolicy
) -> dynamodb.Table:
    """The table of ``spec`` in ``scope``, named ``table_name`` (fixed at synth, so settings files can name it)."""
    partition_key, sort_key = spec.key
    table = dynamodb.Table(
        scope,
        spec.construct_id,
        table_name=table_name,
        partition_key=string_attribute(partition_key),
        sort_key=string_attribute(sort_key) if sort_key else None,
        billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
        encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
        encryption_key=key,
        point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=True
        ),
        time_to_live_attribute=spec.ttl_attribute,
        removal_policy=stage.removal_policy,
        deletion_protection=stage.deletion_protection,
    )
    acknowledge_all(
        table.node.default_child,  # type: ignore[arg-type]
        each_pack("DynamoDBInBackupPlan"),
        f"Point-in-time recovery is on; the table {spec.purpose}, so an AWS Backup plan adds cost without a "
        "restore need.",
    )
    return table
