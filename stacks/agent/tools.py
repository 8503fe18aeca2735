"""The agents' functions: the retention analyst behind the `retention-tools` action group, and the table loader.

- `agent.retention_analyst.handler` executes the action group's operations (get_customer_profile,
  list_customer_interactions, rank_retention_offers, create_offer). It reads the customer and interaction
  tables, reads and writes the offer table, and records create_offer's idempotency (Powertools).
- `agent.loader.handler` runs on every `DatasetPublished` event (an EventBridge rule on the Data stack's bus)
  and loads the customers and interactions of the published dataset's curated `records/` into their tables:
  the data stage feeds the agent, nothing is copied by hand. EventBridge invokes it asynchronously; events it
  cannot deliver, and invocations that still fail after Lambda's retries, land in the function's alarmed
  dead-letter queue.

Settings are the contracts of lambdas/agent/contract.py, built here: the analyst's `ToolSettings` (table names
fixed at synth) travel as /opt/settings/retention_analyst.json in the stack's settings layer; the loader's
`LoaderSettings` name the curated bucket, whose name is a deploy-time value of the Data stack (a cross-stack
reference cannot be written into a file at synth), so they travel as JSON in the one environment variable
`LOADER_SETTINGS`, which CloudFormation fills in (a few hundred bytes of the 4 KB).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import aws_cdk as cdk
from agent import contract
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from stacks.agent.settings import SCHEMAS_DIR
from stacks.agent.tables import CUSTOMERS, IDEMPOTENCY, INTERACTIONS, OFFERS, AgentTables
from stacks.common.buckets import grant_read_prefix
from stacks.common.kit_function import KitFunction
from stacks.common.kms_key import allow_service_use, grant_key_use_via
from stacks.common.settings_layer import SettingsLayer
from stacks.common.stage_policy import StagePolicy
from stacks.config import REPO_ROOT, ConfigError

ANALYST_SERVICE = "agent-retention-analyst"
LOADER_SERVICE = "agent-loader"

# Exactly the table actions each function makes (lambdas/agent/): the analyst reads, and writes offers and its
# idempotency records (Powertools' DynamoDB persistence layer: get, put, update, delete of one record).
ANALYST_CUSTOMER_ACTIONS = ["dynamodb:GetItem"]
ANALYST_INTERACTION_ACTIONS = ["dynamodb:Query"]
ANALYST_OFFER_ACTIONS = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"]
IDEMPOTENCY_ACTIONS = ["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]
LOADER_ACTIONS = ["dynamodb:BatchWriteItem", "dynamodb:PutItem"]


def schema_path(function: str) -> str:
    return str((SCHEMAS_DIR / f"{function}.openapi.json").relative_to(REPO_ROOT))


def read_api_schema(function: str) -> str:
    """The action group's OpenAPI schema (lambdas/agent/schemas/<function>.openapi.json), or a one-line error."""
    path = SCHEMAS_DIR / f"{function}.openapi.json"
    source = schema_path(function)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            source, "(file)", f"missing: the action group of function '{function}' needs its OpenAPI schema"
        ) from None
    try:
        schema = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(source, f"line {exc.lineno}", f"invalid JSON: {exc.msg}") from None
    if not isinstance(schema, dict) or "openapi" not in schema or "paths" not in schema:
        raise ConfigError(source, "(file)", "must be an OpenAPI document with `openapi` and `paths`")
    return json.dumps(schema, separators=(",", ":"), sort_keys=True)


@dataclass(frozen=True)
class DataFeed:
    """Where the loader reads published data, and the event that says a dataset was published."""

    curated_bucket: s3.IBucket
    curated_bucket_key: kms.IKey | None
    records_prefix: str
    event_bus: events.IEventBus | None
    event_source: str
    event_detail_type: str


class RetentionTools(Construct):
    """The tables, the settings layer, the analyst (`analyst`) and the loader (`loader`, `loader_rule`)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name_prefix: str,
        key: kms.IKey,
        stage: StagePolicy,
        namespace: str,
        feed: DataFeed,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        self.tables = AgentTables(stack, "Tables", name_prefix=name_prefix, key=key, stage=stage)
        tables = self.tables
        # The physical names as plain strings (a table's `table_name` is a Ref token, which a file cannot hold).
        tool_settings = contract.ToolSettings(
            customers_table=tables.table_name(CUSTOMERS),
            interactions_table=tables.table_name(INTERACTIONS),
            offers_table=tables.table_name(OFFERS),
            idempotency_table=tables.table_name(IDEMPOTENCY),
        )
        self.settings_layer = SettingsLayer(
            stack,
            "AgentSettings",
            files={contract.TOOLS_FUNCTION: tool_settings.model_dump(mode="json")},
            description=f"{name_prefix}: agent tool settings",
        )
        self.analyst = KitFunction(
            stack,
            "RetentionAnalystFunction",
            handler="agent.retention_analyst.handler",
            description="Agent action group: customer profile, interactions, offer ranking, offer creation",
            service=ANALYST_SERVICE,
            namespace=namespace,
            key=key,
            stage=stage,
            environment=self.settings_layer.environment(contract.TOOLS_FUNCTION),
            layers=[self.settings_layer.layer],
            memory_size=512,
            timeout=cdk.Duration.seconds(30),
        )
        loader_settings = contract.LoaderSettings(
            customers_table=tables.table_name(CUSTOMERS),
            interactions_table=tables.table_name(INTERACTIONS),
            offers_table=tables.table_name(OFFERS),
            curated_bucket=feed.curated_bucket.bucket_name,
            records_prefix=feed.records_prefix,
        )
        self.loader_settings = loader_settings
        self.loader = KitFunction(
            stack,
            "LoaderFunction",
            handler="agent.loader.handler",
            description="Loads customers and interactions from a published dataset's curated records/",
            service=LOADER_SERVICE,
            namespace=namespace,
            key=key,
            stage=stage,
            # Only what differs from the contract's defaults: the function parses the rest back from them.
            environment={
                contract.LOADER_SETTINGS_ENV: stack.to_json_string(
                    loader_settings.model_dump(mode="json", exclude_defaults=True)
                )
            },
            memory_size=1024,
            timeout=cdk.Duration.minutes(5),
            dead_letter_queue=True,
        )
        self._grant(key, feed)
        self.loader_rule = self._trigger(name_prefix, key, feed)

    def _grant(self, key: kms.IKey, feed: DataFeed) -> None:
        tables, analyst, loader = self.tables, self.analyst.role, self.loader.role
        for table, actions in (
            (tables.customers, ANALYST_CUSTOMER_ACTIONS),
            (tables.interactions, ANALYST_INTERACTION_ACTIONS),
            (tables.offers, ANALYST_OFFER_ACTIONS),
            (tables.idempotency, IDEMPOTENCY_ACTIONS),
        ):
            _allow_table(analyst, table, actions)
        grant_key_use_via(key, analyst, "dynamodb", encrypt=True)
        for table in (tables.customers, tables.interactions):
            _allow_table(loader, table, LOADER_ACTIONS)
        grant_key_use_via(key, loader, "dynamodb", encrypt=True)
        curated_key = feed.curated_bucket_key or feed.curated_bucket.encryption_key or key
        grant_read_prefix(feed.curated_bucket, loader, feed.records_prefix, key=curated_key)

    def _trigger(self, name_prefix: str, key: kms.IKey, feed: DataFeed) -> events.Rule:
        stack = cdk.Stack.of(self)
        rule_name = f"{name_prefix}-agent-load-published"
        rule = events.Rule(
            stack,
            "LoadOnDatasetPublished",
            rule_name=rule_name,
            description="A curated dataset was published: load the agent's customer and interaction tables",
            event_bus=feed.event_bus,
            event_pattern=events.EventPattern(source=[feed.event_source], detail_type=[feed.event_detail_type]),
        )
        dead_letters = self.loader.dead_letter_queue
        assert dead_letters is not None
        rule.add_target(
            targets.LambdaFunction(
                self.loader.function,
                dead_letter_queue=dead_letters,
                retry_attempts=20,
                max_event_age=cdk.Duration.hours(24),
            )
        )
        # EventBridge sends undeliverable events to the CMK-encrypted dead-letter queue: it may use the key for
        # this rule only.
        allow_service_use(
            rule,
            key,
            f"EventBridgeDeadLettersOf{cdk.Names.unique_id(rule)}"[:128],
            "events.amazonaws.com",
            source_arn=stack.format_arn(
                # rule/<name> on the default bus, rule/<bus>/<name> on another one.
                service="events",
                resource="rule",
                resource_name=f"*{rule_name}",
                arn_format=cdk.ArnFormat.SLASH_RESOURCE_NAME,
            ),
        )
        return rule


def _allow_table(role: iam.IRole, table: dynamodb.ITable, actions: list[str]) -> None:
    iam.Grant.add_to_principal(grantee=role, actions=actions, resource_arns=[table.table_arn])
