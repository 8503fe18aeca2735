"""What the Observability stack watches, as plain values and CDK interfaces (no other stage package is imported).

Each dataclass names the metrics one stage actually publishes: its namespace and the dimension values its code
writes (stacks/stage.py fills them from the stacks' public attributes). A stage that is switched off is None, and
its dashboard section says so instead of drawing empty graphs. A team watching its own resources fills these
from them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from common.evaluation.cost import price_of


@dataclass(frozen=True)
class DataSignals:
    """The data pipeline: `emit_metrics` of lambdas/pipeline/finalize.py (Powertools, dimension service)."""

    namespace: str  # "<prefix>-<stage>/data"
    state_machine: sfn.IStateMachine
    finalize_service: str = "data-finalize"
    failed_alarm: cloudwatch.IAlarm | None = None  # the Data stack's own failed-executions alarm (composite)


@dataclass(frozen=True)
class KnowledgeSignals:
    """Ingestion sync: lambdas/knowledge/ingestion.py's names, published per KnowledgeBaseId."""

    namespace: str  # JourneyKit/Knowledge
    knowledge_base_id: str


@dataclass(frozen=True)
class ApiSignals:
    """The chat API: API Gateway and WAF metrics, and the app's own (lambdas/api/app.py, store/telemetry.py,
    common/safety/chain.py, architectures/rag.py), each with the Powertools `service` dimension."""

    api_name: str  # RestApi name: the AWS/ApiGateway ApiName dimension
    web_acl_name: str  # the AWS/WAFV2 WebACL dimension
    namespace: str  # JourneyKit/Api
    chat_service: str  # buffered routes: /chat, /feedback, /events (user signals are counted here)
    stream_service: str  # /chat/stream
    architectures: Sequence[str]  # the values of the `architecture` dimension the API can write
    log_groups: Sequence[logs.ILogGroup] = ()  # the chat functions' logs, for the Logs Insights queries
    critical_alarms: Sequence[cloudwatch.IAlarm] = ()  # the Api stack's own alarms that make the journey unhealthy

    @property
    def services(self) -> tuple[str, str]:
        return (self.chat_service, self.stream_service)


@dataclass(frozen=True)
class GuardrailSignals:
    """AWS/Bedrock/Guardrails metrics of the use case's guardrail."""

    guardrail_arn: str
    guardrail_version: str


@dataclass(frozen=True)
class AgentSignals:
    """The agent's tool screening (lambdas/agent/retention_analyst.py): withheld and trimmed tool results."""

    namespace: str  # JourneyKit/Agent
    tool_service: str


@dataclass(frozen=True)
class QualitySignals:
    """The scheduled quality evaluation (stacks/observability/evaluation.py, or a team's own run publishing the names
    of quality_metrics.py): its workflow, its golden tasks (the Task values besides the overall one) and its
    failed-executions alarm (a gate failure fails the execution), which makes the journey unhealthy."""

    state_machine: sfn.IStateMachine
    tasks: Sequence[str] = ()
    failed_alarm: cloudwatch.IAlarm | None = None


@dataclass(frozen=True)
class ModelPrice:
    """USD per 1,000 tokens of one model; None: no price is known (never guessed)."""

    input_per_1k: float
    output_per_1k: float


@dataclass(frozen=True)
class ModelSignals:
    """One Bedrock model the journey calls (AWS/Bedrock, dimension ModelId) and its price."""

    model_id: str
    role: str  # "text" or "embedding", for titles
    price: ModelPrice | None = None


@dataclass(frozen=True)
class JourneySignals:
    """Everything observed; None for a stage that is off."""

    usecase_id: str
    data: DataSignals | None = None
    knowledge: KnowledgeSignals | None = None
    api: ApiSignals | None = None
    guardrail: GuardrailSignals | None = None
    agent: AgentSignals | None = None
    models: Sequence[ModelSignals] = field(default_factory=tuple)
    quality: QualitySignals | None = None  # None: no scheduled evaluation (the Quality section says why)


def priced_model(model_id: str, role: str, overrides: Mapping[str, tuple[float, float]]) -> ModelSignals:
    """A model with its price: observability.yaml's ``overrides`` first, then the kit's pinned table
    (lambdas/common/evaluation/cost.py, the one the evaluation report uses); None when neither knows it."""
    if model_id in overrides:
        per_input, per_output = overrides[model_id]
        return ModelSignals(model_id, role, ModelPrice(per_input, per_output))
    known = price_of(model_id)
    price = ModelPrice(known.input_per_1k, known.output_per_1k) if known is not None else None
    return ModelSignals(model_id, role, price)
