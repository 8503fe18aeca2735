"""The settings contracts of the agent functions: what the Agent stack hands each one, defined once.

The Agent stack builds `ToolSettings` (the retention analyst's action group) from the resources it creates and
writes it as /opt/settings/<function>.json in its settings layer (stacks/common/settings_layer.py), under the
name `TOOLS_FUNCTION`. `LoaderSettings` (the table loader) name the curated bucket, a deploy-time value, so they
travel as JSON in `LOADER_SETTINGS_ENV`. Both functions read theirs with `common.settings_file.deployed_settings`,
and both sides use one model, so they cannot drift.

The tables' key schemas are part of the contract too (`CUSTOMERS_KEY`, `INTERACTIONS_KEY`, `OFFERS_KEY`,
`IDEMPOTENCY_KEY`): the stack creates the tables with them, the functions read and write by them.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

TOOLS_FUNCTION = "retention_analyst"  # /opt/settings/retention_analyst.json

# (partition key, sort key or None) of each table; every key attribute is a string (S).
CUSTOMERS_KEY: tuple[str, str | None] = ("customer_id", None)
INTERACTIONS_KEY: tuple[str, str | None] = ("customer_id", "interaction_id")  # "<time>#<kind>#<id>": newest last
OFFERS_KEY: tuple[str, str | None] = ("customer_id", "service")  # one offer per customer and service
# Powertools idempotency's DynamoDB layout (DynamoDBPersistenceLayer defaults): key `id`, TTL on `expiration`.
IDEMPOTENCY_KEY: tuple[str, str | None] = ("id", None)
IDEMPOTENCY_TTL_ATTRIBUTE = "expiration"


class _Contract(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ToolSettings(_Contract):
    """The retention analyst's action group: its tables and the ranking model it scores with."""

    customers_table: str = Field(min_length=1)
    interactions_table: str = Field(min_length=1)
    offers_table: str = Field(min_length=1)
    idempotency_table: str = Field(min_length=1, description="Powertools idempotency records of create_offer.")
    ranking_model: str = Field(
        "agent/models/retention_offers.json",
        min_length=1,
        description="The ranking model's JSON artifact, relative to the function's code asset (lambdas/).",
    )


class InteractionSource(_Contract):
    """A curated source whose records become interactions of a customer."""

    name: str = Field(min_length=1, description="The source's folder under records/<dataset>/.")
    kind: str = Field(min_length=1, pattern=r"^[a-z][a-z0-9_]*$", description="What the agent sees it as.")
    key: tuple[str, ...] = Field((), description="Fields that identify a record; empty: the record's content.")
    time_field: str | None = Field(None, description="The field that dates a record (ISO date or datetime).")


# The retention analyst's interactions: support contacts, service events and purchases (the ranking model's
# per-service purchase indicators come from the last).
RETENTION_INTERACTIONS = (
    InteractionSource(name="support_contacts", kind="support_contact", key=("ticket_id",)),
    InteractionSource(name="service_events", kind="service_event", time_field="at"),
    InteractionSource(name="purchases", kind="purchase", key=("order_id",), time_field="purchased_on"),
)


class LoaderSettings(_Contract):
    """Where the loader reads the curated records of a published dataset and which tables it fills."""

    customers_table: str = Field(min_length=1)
    interactions_table: str = Field(min_length=1)
    offers_table: str = Field(min_length=1, description="Not loaded from data: offers are created by the agent.")
    curated_bucket: str = Field(min_length=1)
    records_prefix: str = Field("records/", pattern=r"^[a-z0-9._-]+/$")
    customer_source: str = Field("profiles", min_length=1, description="One record per customer (its key).")
    customer_key: str = Field("customer_id", min_length=1)
    interaction_sources: tuple[InteractionSource, ...] = RETENTION_INTERACTIONS
    offer_sources: tuple[str, ...] = ()

    @property
    def sources(self) -> tuple[str, ...]:
        """Every source the loader reads."""
        return (self.customer_source, *(source.name for source in self.interaction_sources), *self.offer_sources)


# The loader's settings travel in this environment variable, not in the settings layer: they name the curated
# bucket, a deploy-time value of the Data stack that a file written at synth cannot hold. The stack writes only
# the fields that differ from the defaults; parsing fills the rest back in.
LOADER_SETTINGS_ENV = "LOADER_SETTINGS"
