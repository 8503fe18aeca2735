"""The Api tables: conversations, quotas and telemetry (key schemas from lambdas/api/store/schema.py).

Each is on demand (nothing bills idle but stored bytes), encrypted with the stage's CMK, with point-in-time
recovery, TTL on `expires_at`, and RETAIN plus deletion protection in prod. The telemetry table has the sparse
thumbs-up index the fine-tuning export reads. Physical names `<prefix>-<stage>-api-<table>` are fixed at synth,
so the functions' settings name them as plain strings.
"""

from __future__ import annotations

from api.store.schema import (
    CONVERSATIONS_KEY,
    QUOTAS_KEY,
    TELEMETRY_KEY,
    TELEMETRY_UP_INDEX,
    TELEMETRY_UP_INDEX_KEY,
    TTL_ATTRIBUTE,
)
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from constructs import Construct

from stacks.common.kit_table import TableSpec, kit_table, string_attribute
from stacks.common.stage_policy import StagePolicy

CONVERSATIONS = TableSpec(
    "Conversations",
    "conversations",
    CONVERSATIONS_KEY,
    "holds each user's chat sessions and turns until their TTL",
    ttl_attribute=TTL_ATTRIBUTE,
)
QUOTAS = TableSpec(
    "Quotas",
    "quotas",
    QUOTAS_KEY,
    "holds per-minute and per-day usage counters that expire by TTL",
    ttl_attribute=TTL_ATTRIBUTE,
)
TELEMETRY = TableSpec(
    "Telemetry",
    "telemetry",
    TELEMETRY_KEY,
    "holds feedback, user events and exchanges until their TTL",
    ttl_attribute=TTL_ATTRIBUTE,
)


class ApiTables(Construct):
    """`conversations`, `quotas`, `telemetry` (`dynamodb.Table`); `table_name(spec)` is the fixed physical name."""

    def __init__(
        self, scope: Construct, construct_id: str, *, name_prefix: str, key: kms.IKey, stage: StagePolicy
    ) -> None:
        super().__init__(scope, construct_id)
        self._name_prefix, self._key, self._stage = name_prefix, key, stage
        self.conversations = self._table(CONVERSATIONS)
        self.quotas = self._table(QUOTAS)
        self.telemetry = self._table(TELEMETRY)
        partition, sort = TELEMETRY_UP_INDEX_KEY
        self.telemetry.add_global_secondary_index(
            index_name=TELEMETRY_UP_INDEX,
            partition_key=string_attribute(partition),
            sort_key=string_attribute(sort),
            projection_type=dynamodb.ProjectionType.KEYS_ONLY,
        )

    def table_name(self, spec: TableSpec) -> str:
        return f"{self._name_prefix}-api-{spec.suffix}"

    def _table(self, spec: TableSpec) -> dynamodb.Table:
        return kit_table(self, spec, table_name=self.table_name(spec), key=self._key, stage=self._stage)
