"""The retention tools' DynamoDB tables: customers, interactions, offers, and the tools' idempotency records.

Every table is on demand (nothing bills while idle but the stored bytes), encrypted with the stage's CMK, with
point-in-time recovery, RETAIN and deletion protection in prod. The key schemas come from lambdas/agent/contract.py
(the loader writes by them, the retention analyst reads by them); the idempotency table has the Powertools DynamoDB
persistence layer's defaults (partition key `id`, TTL attribute `expiration`).

Physical names `<prefix>-<stage>-agent-<table>` are fixed at synth, so the functions' settings file (built at
synth into the settings layer) can name them; a table whose key schema changes must get a new name.
"""

from __future__ import annotations

from dataclasses import dataclass

from agent.contract import CUSTOMERS_KEY, IDEMPOTENCY_KEY, IDEMPOTENCY_TTL_ATTRIBUTE, INTERACTIONS_KEY, OFFERS_KEY
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from constructs import Construct

from stacks.common.nag import acknowledge_all, each_pack
from stacks.common.stage_policy import StagePolicy


@dataclass(frozen=True)
class TableSpec:
    construct_id: str
    suffix: str
    key: tuple[str, str | None]  # (partition key, sort key or None): lambdas/agent/contract.py
    purpose: str
    ttl_attribute: str | None = None


CUSTOMERS = TableSpec(
    "Customers", "customers", CUSTOMERS_KEY, "holds customer profiles the loader rebuilds from curated records/"
)
INTERACTIONS = TableSpec(
    "Interactions",
    "interactions",
    INTERACTIONS_KEY,
    "holds customer interactions the loader rebuilds from curated records/",
)
OFFERS = TableSpec(
    "Offers",
    "offers",
    OFFERS_KEY,
    "holds the offers the agent created on a customer's confirmation; PITR restores them",
)
IDEMPOTENCY = TableSpec(
    "Idempotency",
    "idempotency",
    IDEMPOTENCY_KEY,
    "holds short-lived idempotency records of the tools (Powertools), which expire by TTL",
    ttl_attribute=IDEMPOTENCY_TTL_ATTRIBUTE,
)


class AgentTables(Construct):
    """`customers`, `interactions`, `offers` and `idempotency` (`dynamodb.Table`), created in ``scope``."""

    def __init__(
        self, scope: Construct, construct_id: str, *, name_prefix: str, key: kms.IKey, stage: StagePolicy
    ) -> None:
        super().__init__(scope, construct_id)
        self._name_prefix, self._key, self._stage = name_prefix, key, stage
        self.customers = self._table(CUSTOMERS)
        self.interactions = self._table(INTERACTIONS)
        self.offers = self._table(OFFERS)
        self.idempotency = self._table(IDEMPOTENCY)

    def table_name(self, spec: TableSpec) -> str:
        return f"{self._name_prefix}-agent-{spec.suffix}"

    def _table(self, spec: TableSpec) -> dynamodb.Table:
        partition_key, sort_key = spec.key
        table = dynamodb.Table(
            self,
            spec.construct_id,
            table_name=self.table_name(spec),
            partition_key=dynamodb.Attribute(name=partition_key, type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name=sort_key, type=dynamodb.AttributeType.STRING) if sort_key else None,
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=self._key,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            time_to_live_attribute=spec.ttl_attribute,
            removal_policy=self._stage.removal_policy,
            deletion_protection=self._stage.deletion_protection,
        )
        acknowledge_all(
            table.node.default_child,  # type: ignore[arg-type]
            each_pack("DynamoDBInBackupPlan"),
            f"Point-in-time recovery is on; the table {spec.purpose}, so an AWS Backup plan adds cost without a "
            "restore need.",
        )
        return table
