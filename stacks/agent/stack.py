"""Agent stack: the use case's Bedrock agents from agent.yaml, their tools, and the tables the tools read.

- A supervisor agent and its collaborators (Bedrock multi-agent collaboration), or a single agent. Each agent
  has its own instruction, model or inference profile, action groups and, where agent.yaml says so, the
  Knowledge stack's knowledge base; every agent applies the Guardrails stack's published guardrail version, is
  encrypted with the stage's CMK, and has an alias `live` on its latest prepared version (agents.py).
- With a `retention_analyst` action group: the customer, interaction, offer and idempotency tables, the analyst
  function, and the loader that fills the tables from curated `records/` on every `DatasetPublished` (tools.py).

Nothing bills while idle: agents, aliases, on-demand tables and functions cost per request (stored table bytes
and the CMK aside). Everything it consumes from other stacks is in `AgentProps`, so it deploys alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from constructs import Construct

from stacks.agent.agents import (
    AgentDefinition,
    CollaboratorLink,
    GuardrailRef,
    KitAgent,
    KnowledgeBaseRef,
    Tool,
)
from stacks.agent.settings import AGENT_FILE, AgentBase, AgentSettings
from stacks.agent.tools import DataFeed, RetentionTools, read_api_schema
from stacks.common.kms_key import add_key_policy_statement
from stacks.common.stage_policy import StagePolicy
from stacks.common.threshold_alarm import ThresholdAlarm
from stacks.config import ConfigError

METRICS_NAMESPACE = "JourneyKit/Agent"


@dataclass(frozen=True)
class AgentProps:
    """What the Agent stack uses from elsewhere, as CDK interfaces and plain ids: the kit's stacks or a team's own
    resources (`kms.Key.from_key_arn`, `s3.Bucket.from_bucket_name`, `events.EventBus.from_event_bus_arn`)."""

    name_prefix: str  # "<prefix>-<stage>", e.g. "journey-customer-retention-dev"
    stage: StagePolicy
    key: kms.IKey  # encrypts the agents, tables and logs; key-policy statements it cannot add become warnings
    alarm_topic: sns.ITopic
    settings: AgentSettings
    model: str  # usecase.yaml `models.text`: every agent's model unless agent.yaml overrides it
    guardrail: GuardrailRef  # applied by every agent
    knowledge_base: KnowledgeBaseRef | None = None  # required when an agent says `knowledge_base: true`
    # Where the tools' loader reads published data (required with an action group).
    curated_bucket: s3.IBucket | None = None
    curated_bucket_key: kms.IKey | None = None  # None: the bucket's own key if it has one, else ``key``
    records_prefix: str = "records/"
    event_bus: events.IEventBus | None = None  # None: the account's default bus
    dataset_published_source: str = "journey.data"
    dataset_published_detail_type: str = "DatasetPublished"
    settings_source: str = AGENT_FILE  # how errors name agent.yaml


class AgentStack(cdk.Stack):
    """Exposes `supervisor` and `collaborators` (`KitAgent`), `agents` (name -> `KitAgent`), `tools`
    (`RetentionTools` or None) and `alarms`; `grant_invoke` lets a caller invoke the supervisor's alias.
    Outputs: SupervisorAgentId, SupervisorAliasId."""

    def __init__(self, scope: Construct, construct_id: str, *, props: AgentProps, **kwargs: object) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        self._props = props
        settings = props.settings
        _check_props(props)
        self.tools = (
            RetentionTools(
                self,
                "RetentionTools",
                name_prefix=props.name_prefix,
                key=props.key,
                stage=props.stage,
                namespace=METRICS_NAMESPACE,
                feed=DataFeed(
                    curated_bucket=props.curated_bucket,  # type: ignore[arg-type]  # checked by _check_props
                    curated_bucket_key=props.curated_bucket_key,
                    records_prefix=props.records_prefix,
                    event_bus=props.event_bus,
                    event_source=props.dataset_published_source,
                    event_detail_type=props.dataset_published_detail_type,
                ),
            )
            if settings.functions
            else None
        )
        self._allow_bedrock_key_use(settings)

        self.collaborators = [self._agent(agent) for agent in settings.collaborators]
        links = [
            CollaboratorLink(
                agent=built,
                name=spec.name,
                instruction=spec.collaboration_instruction,
                relay_conversation_history=spec.relay_conversation_history,
            )
            for spec, built in zip(settings.collaborators, self.collaborators, strict=True)
        ]
        self.supervisor = self._agent(settings.supervisor, collaboration=settings.supervisor.collaboration, links=links)
        self.agents = {settings.supervisor.name: self.supervisor} | {
            spec.name: built for spec, built in zip(settings.collaborators, self.collaborators, strict=True)
        }
        self.alarms = self._alarms()
        cdk.CfnOutput(
            self, "SupervisorAgentId", value=self.supervisor.agent_id, description="bedrock-agent-runtime --agent-id"
        )
        cdk.CfnOutput(
            self,
            "SupervisorAliasId",
            value=self.supervisor.alias_id,
            description="bedrock-agent-runtime --agent-alias-id (the latest prepared version)",
        )

    def grant_invoke(self, grantee: iam.IGrantable) -> iam.Grant:
        """InvokeAgent on the supervisor's alias (and the CMK use Bedrock makes for its caller)."""
        return self.supervisor.grant_invoke(grantee)

    # ------------------------------------------------------------------ agents

    def _agent(
        self, spec: AgentBase, *, collaboration: str | None = None, links: list[CollaboratorLink] | None = None
    ) -> KitAgent:
        props = self._props
        tools = [
            Tool(
                name=group.name,
                function=self._function(group.function),
                api_schema=read_api_schema(group.function),
                description=group.description,
            )
            for group in spec.action_groups
        ]
        return KitAgent(
            self,
            "".join(part.capitalize() for part in spec.name.split("-")),
            definition=AgentDefinition(
                agent_name=f"{props.name_prefix}-{spec.name}",
                description=spec.description,
                instruction=spec.instruction,
                model=spec.model or props.model,
                idle_session_ttl_seconds=spec.idle_session_ttl_seconds,
                memory_days=spec.memory.storage_days if spec.memory and spec.memory.session_summary else None,
                tools=tools,
                knowledge_base=props.knowledge_base if spec.knowledge_base else None,
                collaboration=collaboration,
                collaborators=links or [],
            ),
            key=props.key,
            guardrail=props.guardrail,
        )

    def _function(self, name: str) -> lambda_.IFunction:
        assert self.tools is not None  # an action group names a function: the tools exist
        return {"retention_analyst": self.tools.analyst.function}[name]

    def _allow_bedrock_key_use(self, settings: AgentSettings) -> None:
        """The key-policy statements Bedrock needs to encrypt this account's agents (and their memory) with the
        CMK; on an imported key, warnings with the statements to add."""
        key, account = self._props.key, self.account
        agents = self.format_arn(service="bedrock", resource="agent", resource_name="*")
        add_key_policy_statement(
            self,
            key,
            iam.PolicyStatement(
                sid=f"BedrockEncryptsAgentsOf{cdk.Names.unique_id(self)}"[:100],
                principals=[iam.ServicePrincipal("bedrock.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=["*"],
                conditions={
                    "StringEquals": {"aws:SourceAccount": account},
                    "ArnLike": {"kms:EncryptionContext:aws:bedrock:arn": agents},
                },
            ),
            consequence="creating or invoking the agents fails with a KMS access error",
        )
        if any(agent.memory and agent.memory.session_summary for agent in settings.agents):
            add_key_policy_statement(
                self,
                key,
                iam.PolicyStatement(
                    sid=f"BedrockEncryptsAgentMemoryOf{cdk.Names.unique_id(self)}"[:100],
                    principals=[iam.ServicePrincipal("bedrock.amazonaws.com")],
                    actions=["kms:GenerateDataKeyWithoutPlaintext", "kms:ReEncryptFrom", "kms:ReEncryptTo"],
                    resources=["*"],
                    conditions={
                        "StringEquals": {"aws:SourceAccount": account},
                        "ArnLike": {
                            "aws:SourceArn": self.format_arn(
                                service="bedrock", resource="agent-alias", resource_name="*"
                            )
                        },
                    },
                ),
                consequence="session-summary memory cannot be stored",
            )

    # ------------------------------------------------------------------ alarms

    def _alarms(self) -> list[cloudwatch.Alarm]:
        if self.tools is None:
            return []
        five_minutes = cdk.Duration.minutes(5)
        loader_dlq = self.tools.loader.dead_letter_queue
        assert loader_dlq is not None
        checks: list[tuple[str, str, cloudwatch.IMetric]] = [
            (
                "ToolErrors",
                "The agent's action-group function failed: the agent answered without its tools.",
                self.tools.analyst.metric_errors(period=five_minutes),
            ),
            (
                "LoaderErrors",
                "Loading a published dataset into the agent's tables failed (Lambda retries it twice).",
                self.tools.loader.metric_errors(period=five_minutes),
            ),
            (
                "LoadsDeadLettered",
                "A DatasetPublished event could not be loaded into the agent's tables; it waits in the "
                "dead-letter queue.",
                loader_dlq.metric_approximate_number_of_messages_visible(period=five_minutes, statistic="Maximum"),
            ),
        ]
        return [
            ThresholdAlarm(self, alarm_id, metric=metric, description=description, topic=self._props.alarm_topic)
            for alarm_id, description, metric in checks
        ]


def _check_props(props: AgentProps) -> None:
    """What agent.yaml asks for that the props cannot give, as one `ConfigError` line per agent and field."""
    problems = check_agent_sources(
        props.settings,
        props.settings_source,
        knowledge=props.knowledge_base is not None,
        data=props.curated_bucket is not None,
    )
    if problems:
        raise ConfigError.of(problems)


def check_agent_sources(
    settings: AgentSettings, source: str, *, knowledge: bool, data: bool
) -> list[tuple[str, str, str]]:
    """(file, field, reason) for each agent that needs the knowledge base or the published data without them."""
    problems = []
    for where, agent in settings.agents_with_paths():
        if agent.knowledge_base and not knowledge:
            problems.append(
                (
                    source,
                    f"{where}.knowledge_base",
                    "needs the Knowledge stack's knowledge base (features.knowledge), which is off",
                )
            )
        for index, _ in enumerate(agent.action_groups):
            if not data:
                problems.append(
                    (
                        source,
                        f"{where}.action_groups.{index}.function",
                        "needs the Data stack's published records (features.data), which is off",
                    )
                )
    return problems
