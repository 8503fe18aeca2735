"""The retention tools' DynamoDB tables: customers, interactions, offers, and the tools' idempotency records.

Every table is on demand (nothing bills while idle but the stored bytes), encrypted with the stage's CMK, with
point-in-time recovery, RETAIN and deletion protection in prod. The key schemas come from lambdas/agent/contract.py
(the loader writes by them, the retention analyst reads by them); the idempotency table has the Powertools DynamoDB
persistence layer's defaults (partition key `id`, TTL attribute `expiration`).

Physical names `<prefix>-<stage>-agent-<table>` are fixed at synth, so the functions' settings file (built at
synth into the settings layer) can name them; a table whose key schema changes must get a new name.
"""

from __future__ import annotations

from agent.contract import CUSTOMERS_KEY, IDEMPOTENCY_KEY, IDEMPOTENCY_TTL_ATTRIBUTE, INTERACTIONS_KEY, OFFERS_KEY
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from constructs import Construct

from stacks.common.kit_table import TableSpec, kit_table
from stacks.common.stage_policy import StagePolicy

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
        return kit_table(self, spec, table_name=self.table_name(spec), key=self._key, stage=self._stage)
