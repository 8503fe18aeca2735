"""`JourneyStage`: every stack of one environment, wired together in one readable place.

Adding a stack is one entry: a line in `__init__` (with its feature switch) and a method that builds its props
from the stacks it depends on; `_add` names, describes and creates it like every other stack.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

import aws_cdk as cdk
from constructs import Construct

from stacks.common.powertools import PowertoolsLayerSource
from stacks.common.stage_policy import StagePolicy
from stacks.config import ConfigError, Environment, Features, KitConfig, Stage, UseCase
from stacks.usecase_files import PROMPTS_NEED, UseCaseFiles

if TYPE_CHECKING:
    from stacks.agent.settings import AgentSettings
    from stacks.agent.stack import AgentStack
    from stacks.api.access import AgentAccess, KnowledgeBaseAccess
    from stacks.api.stack import ApiStack
    from stacks.data.stack import DataStack
    from stacks.foundation.stack import FoundationStack
    from stacks.guardrails.stack import GuardrailsStack
    from stacks.knowledge.stack import KnowledgeStack
    from stacks.observability.evaluation import QualityEvaluationProps
    from stacks.observability.signals import JourneySignals
    from stacks.observability.stack import ObservabilityStack
    from stacks.prompts.settings import PromptsSettings
    from stacks.prompts.stack import PromptsStack
    from stacks.scale.hosted_model import HostedModel
    from stacks.scale.stack import ScaleStack
    from stacks.web.stack import WebStack

# Each stack's package is imported by the method that builds it (PLC0415 below), not here: a switched-off stack
# then costs no import at synth, and the AWS service modules a stack uses are large generated Python (0.1-0.5 s
# each for API Gateway, Cognito, WAF, CloudFront, SageMaker...).

StackT = TypeVar("StackT", bound=cdk.Stack)
KNOWLEDGE_NEEDS = "the Knowledge stack (features.knowledge; -c features.knowledge=false builds without it)"
AGENT_NEEDS = "the Agent stack (features.agent; -c features.agent=false builds without it)"
API_NEEDS = "the Api stack (features.api; -c features.api=false builds without it)"


def check_required_sections(features: Features, usecase: UseCase) -> None:
    """Raise the `ConfigError` naming the usecase.yaml section a switched-on stack needs and the file lacks.

    Sections only later stages use (`models`, `evaluation`) are optional in usecase.yaml, so a data-only use
    case can be tried and deployed; app_builder calls this before any stack is built.
    """
    if features.data and features.knowledge:
        usecase.models_for(KNOWLEDGE_NEEDS)


def check_agent(features: Features, files: UseCaseFiles) -> None:
    """Raise the `ConfigError` for what agent.yaml asks of stacks that are off (app_builder calls it before any
    stack is built): every agent's model defaults to usecase.yaml `models.text`, a `knowledge_base: true` needs the
    Knowledge stack, an action group the Data stack's published records."""
    if not features.agent or files.agent is None:
        return
    from stacks.agent.settings import AGENT_FILE  # noqa: PLC0415
    from stacks.agent.stack import check_agent_sources  # noqa: PLC0415

    files.usecase.models_for(AGENT_NEEDS)
    problems = check_agent_sources(
        files.agent,
        f"usecases/{files.usecase.id}/{AGENT_FILE}",
        knowledge=features.data and features.knowledge,
        data=features.data,
    )
    if problems:
        raise ConfigError.of(problems)


def check_api(features: Features, files: UseCaseFiles) -> None:
    """Raise the `ConfigError` for what the chat API is asked to offer and cannot (app_builder calls it before any
    stack is built): its model is usecase.yaml `models.text`; rag needs the Knowledge stack, agent the Agent stack,
    multi-task (and a `default_task`) the Prompts stack."""
    if not features.api:
        return
    from stacks.api.settings import API_FILE  # noqa: PLC0415
    from stacks.api.stack import api_problems  # noqa: PLC0415

    files.usecase.models_for(API_NEEDS)
    prompts = files.prompts if features.prompts else None
    problems = api_problems(
        files.usecase.architecture,
        files.api,
        f"usecases/{files.usecase.id}/{API_FILE}",
        knowledge=features.data and features.knowledge,
        agent=features.agent and files.agent is not None,
        tasks=tuple(prompts.tasks) if prompts is not None else None,
    )
    if problems:
        raise ConfigError.of(problems)


class JourneyStage(cdk.Stage):
    """Stacks are named `<prefix>-<stage>-<Part>` (prefix defaults to `<project>-<usecase>`), and the stage's
    construct id is `<prefix>-<stage>`, so the CLI selects its stacks with `<prefix>-<stage>/*`. Every
    resource carries the project, stage and usecase tags."""

    def __init__(
        self, scope: Construct, *, config: KitConfig, files: UseCaseFiles, stage: Stage, environment: Environment
    ) -> None:
        name_prefix = f"{config.name_prefix}-{stage}"  # <project>-<usecase>-<stage> unless `prefix` is set
        super().__init__(
            scope, name_prefix, env=cdk.Environment(account=environment.account, region=environment.region)
        )
        self.name_prefix = name_prefix
        for key, value in {"project": config.project, "stage": stage, "usecase": files.usecase.id}.items():
            cdk.Tags.of(self).add(key, value)
        self._config, self._files, self._stage = config, files, stage
        self._policy = StagePolicy(
            stage,
            powertools=PowertoolsLayerSource(config.powertools_layer, config.powertools_layer_version),
        )
        features = config.features

        self.foundation = self._foundation()
        self.data = self._data() if features.data else None
        self.knowledge = self._knowledge(self.data) if features.knowledge and self.data is not None else None
        self.guardrails = self._guardrails() if features.guardrails else None
        prompts = files.prompts  # prompts.yaml is optional: a use case without it has no Prompts stack
        self.prompts = self._prompts(prompts) if features.prompts and prompts is not None else None
        agent = files.agent  # agent.yaml is optional: a use case without it has no Agent stack
        self.agent = self._agent(agent) if features.agent and agent is not None else None
        # Scale before Api: the chat API may answer `direct` from the hosted model (scale.yaml `serve_direct`).
        self.scale = self._scale() if features.hosted_model or features.fine_tuning else None
        self.api = self._api() if features.api else None
        self.web = self._web(self.api) if features.web and self.api is not None else None
        self.observability = self._observability() if features.observability else None
        if self.observability is not None:  # last: functions a construct added to it after its constructor
            self.observability.alarm_own_functions()

    def _add(self, part: str, stack: Callable[..., StackT], description: str, props: object) -> StackT:
        """One stack of this stage: construct id ``part``, named `<prefix>-<stage>-<part>`, described with the
        use case's title and the stage."""
        return stack(
            self,
            part,
            stack_name=f"{self.name_prefix}-{part}",
            description=f"{self._files.usecase.title}: {description} ({self._stage})",
            props=props,
        )

    def _foundation(self) -> FoundationStack:
        from stacks.foundation.stack import FoundationProps, FoundationStack  # noqa: PLC0415

        return self._add(
            "Foundation",
            FoundationStack,
            "key, access logs and alarm topic",
            FoundationProps(name_prefix=self.name_prefix, stage=self._policy, alarm_email=self._config.alarm_email),
        )

    def _data(self) -> DataStack:
        from stacks.data.stack import DataProps, DataStack  # noqa: PLC0415

        foundation = self.foundation
        return self._add(
            "Data",
            DataStack,
            "data evaluation pipeline, PII redaction, bias profile",
            DataProps(
                key=foundation.key,
                access_logs=foundation.access_logs.bucket,
                alarm_topic=foundation.alarm_topic,
                stage=self._policy,
                name_prefix=self.name_prefix,
                usecase_id=self._files.usecase.id,
                settings=self._files.data,
            ),
        )

    def _knowledge(self, data: DataStack) -> KnowledgeStack:
        from stacks.knowledge.stack import KnowledgeProps, KnowledgeStack  # noqa: PLC0415

        foundation, models = self.foundation, self._files.usecase.models_for(KNOWLEDGE_NEEDS)
        return self._add(
            "Knowledge",
            KnowledgeStack,
            "Bedrock knowledge base on S3 Vectors with ingestion sync",
            KnowledgeProps(
                name_prefix=self.name_prefix,
                stage=self._policy,
                key=foundation.key,
                alarm_topic=foundation.alarm_topic,
                curated_bucket=data.curated.bucket,
                curated_prefix=data.knowledge_prefix,  # documents/: only what the knowledge base parses
                event_bus=data.event_bus,
                dataset_published_source=data.event_source,
                dataset_published_detail_type=data.event_detail_type,
                embedding_model_id=models.embedding,
                embedding_dimensions=models.embedding_dimensions,
                settings=self._files.knowledge,
            ),
        )

    def _guardrails(self) -> GuardrailsStack:
        from stacks.guardrails.stack import GuardrailsProps, GuardrailsStack  # noqa: PLC0415

        foundation = self.foundation
        return self._add(
            "Guardrails",
            GuardrailsStack,
            "Bedrock guardrail and safety settings",
            GuardrailsProps(
                key=foundation.key,
                stage=self._policy,
                usecase_id=self._files.usecase.id,
                policy=self._files.guardrail_policy,
                name_prefix=self.name_prefix,
                safety=self._files.safety,
                custom_models=self._config.features.custom_safety_models,
                access_logs=foundation.access_logs.bucket,
            ),
        )

    def _prompts(self, settings: PromptsSettings) -> PromptsStack:
        from stacks.prompts.stack import PromptsProps, PromptsStack  # noqa: PLC0415

        return self._add(
            "Prompts",
            PromptsStack,
            "Bedrock Prompt Management variants and versions",
            PromptsProps(
                name_prefix=self.name_prefix,
                stage=self._policy,
                key=self.foundation.key,
                model_id=self._files.usecase.models_for(PROMPTS_NEED).text,
                settings=settings,
            ),
        )

    def _agent(self, settings: AgentSettings) -> AgentStack:
        from stacks.agent.agents import GuardrailRef, KnowledgeBaseRef  # noqa: PLC0415
        from stacks.agent.settings import AGENT_FILE  # noqa: PLC0415
        from stacks.agent.stack import AgentProps, AgentStack  # noqa: PLC0415

        foundation, guardrails, data, knowledge = self.foundation, self.guardrails, self.data, self.knowledge
        assert guardrails is not None  # Features: agent needs guardrails
        kb = knowledge.knowledge_base if knowledge is not None else None
        return self._add(
            "Agent",
            AgentStack,
            "Bedrock agents with their tools and tables",
            AgentProps(
                name_prefix=self.name_prefix,
                stage=self._policy,
                key=foundation.key,
                alarm_topic=foundation.alarm_topic,
                settings=settings,
                model=self._files.usecase.models_for(AGENT_NEEDS).text,
                guardrail=GuardrailRef(
                    guardrail_id=guardrails.guardrail_id,
                    version=guardrails.guardrail_version,
                    arn=guardrails.guardrail_arn,
                ),
                knowledge_base=KnowledgeBaseRef(kb.knowledge_base_id, kb.knowledge_base_arn) if kb else None,
                curated_bucket=data.curated.bucket if data is not None else None,
                records_prefix=data.records_prefix if data is not None else "records/",
                event_bus=data.event_bus if data is not None else None,
                dataset_published_source=data.event_source if data is not None else "journey.data",
                dataset_published_detail_type=data.event_detail_type if data is not None else "DatasetPublished",
                settings_source=f"usecases/{self._files.usecase.id}/{AGENT_FILE}",
            ),
        )

    def _api(self) -> ApiStack:
        from stacks.api.settings import API_FILE  # noqa: PLC0415
        from stacks.api.stack import ApiProps, ApiStack, FinetuneExportTarget  # noqa: PLC0415

        foundation, guardrails, data = self.foundation, self.guardrails, self.data
        assert guardrails is not None  # Features: api needs guardrails
        knowledge: KnowledgeBaseAccess | None = self.knowledge.knowledge_base if self.knowledge is not None else None
        agent: AgentAccess | None = self.agent.supervisor if self.agent is not None else None
        return self._add(
            "Api",
            ApiStack,
            "chat API with streaming, Cognito, WAF, quotas and conversation memory",
            ApiProps(
                name_prefix=self.name_prefix,
                stage=self._policy,
                key=foundation.key,
                alarm_topic=foundation.alarm_topic,
                usecase_id=self._files.usecase.id,
                architecture=self._files.usecase.architecture,
                model=self._files.usecase.models_for(API_NEEDS).text,
                guardrail=guardrails,
                settings=self._files.api,
                knowledge_base=knowledge,
                agent=agent,
                prompts=self.prompts,
                finetune_export=(
                    FinetuneExportTarget(
                        bucket=data.curated.bucket,
                        salt_secret_arn=data.stores.hash_salt.ref,
                        pii=self._files.data.contract().pii,
                    )
                    if data is not None
                    else None
                ),
                settings_source=f"usecases/{self._files.usecase.id}/{API_FILE}",
                hosted_model=self._hosted_direct(),
            ),
        )

    def _hosted_direct(self) -> HostedModel | None:
        """The Scale stack's endpoint when scale.yaml `hosted_model.serve_direct` asks the API to answer from it."""
        hosted = self._files.scale.hosted_model
        if self.scale is None or self.scale.hosted_model is None or hosted is None or not hosted.serve_direct:
            return None
        return self.scale.hosted_model

    def _observability(self) -> ObservabilityStack:
        """The journey's dashboard, alarms and queries over the stacks built before it (their public attributes)."""
        from stacks.observability.stack import ObservabilityProps, ObservabilityStack  # noqa: PLC0415

        foundation, files = self.foundation, self._files
        watched: list[cdk.Stack] = [
            stack
            for stack in (
                foundation,
                self.data,
                self.knowledge,
                self.guardrails,
                self.prompts,
                self.agent,
                self.scale,
                self.api,
                self.web,
            )
            if stack is not None
        ]
        return self._add(
            "Observability",
            ObservabilityStack,
            "journey dashboard, alarms, investigation queries and model invocation logging",
            ObservabilityProps(
                name_prefix=self.name_prefix,
                stage=self._policy,
                key=foundation.key,
                alarm_topic=foundation.alarm_topic,
                access_logs=foundation.access_logs.bucket,
                signals=self._journey_signals(),
                settings=files.observability,
                watched_stacks=watched,
                invocation_logging=self._config.features.invocation_logging,
                evaluation=self._quality_evaluation(),
            ),
        )

    def _quality_evaluation(self) -> QualityEvaluationProps | None:
        """The scheduled quality evaluation, where there is something to evaluate: the Api stack's serving pipeline,
        usecase.yaml `evaluation` and a golden set (usecases/<id>/golden/). Reports go to the Data stack's reports
        bucket when there is one; otherwise the construct keeps its own."""
        from stacks.observability.evaluation import QualityEvaluationProps, ReportsBucket, ServingPipeline  # noqa: PLC0415

        api, guardrails, data, files = self.api, self.guardrails, self.data, self._files
        usecase, foundation = files.usecase, self.foundation
        if api is None or usecase.evaluation is None or files.golden_dir is None:
            return None
        assert guardrails is not None  # Features: api needs guardrails
        hosted = self._hosted_direct()
        return QualityEvaluationProps(
            name_prefix=self.name_prefix,
            stage=self._policy,
            key=foundation.key,
            alarm_topic=foundation.alarm_topic,
            usecase_id=usecase.id,
            thresholds=usecase.evaluation,
            serving=ServingPipeline(  # what _api() hands the Api stack, so RunTask runs the same pipeline
                settings=api.settings,
                safety_settings=guardrails.safety_settings_json(),
                model=usecase.models_for(API_NEEDS).text,
                guardrail=guardrails,
                knowledge_base=self.knowledge.knowledge_base if self.knowledge is not None else None,
                agent=self.agent.supervisor if self.agent is not None else None,
                prompts=self.prompts,
                more_grants=(hosted.grant_invoke,) if hosted is not None else (),
            ),
            golden_dir=files.golden_dir,
            # The Data stack's reports bucket is encrypted with the Foundation key it was given (DataProps.key).
            reports=ReportsBucket(data.stores.reports.bucket, foundation.key) if data is not None else None,
            access_logs=foundation.access_logs.bucket,
        )

    def _journey_signals(self) -> JourneySignals:
        """What each built stack publishes, by the names its code writes (stacks/observability/signals.py). A stack's
        names are imported only when it is built, like the stack itself."""
        from stacks.observability import signals  # noqa: PLC0415

        data, knowledge, guardrails, agent, api = self.data, self.knowledge, self.guardrails, self.agent, self.api
        usecase = self._files.usecase
        prices = {
            model_id: (price.input_per_1k, price.output_per_1k)
            for model_id, price in self._files.observability.prices.items()
        }
        models: list[signals.ModelSignals] = []
        if usecase.models is not None and (api is not None or agent is not None or self.prompts is not None):
            models.append(signals.priced_model(usecase.models.text, "text", prices))
        if usecase.models is not None and knowledge is not None:
            models.append(signals.priced_model(usecase.models.embedding, "embedding", prices))
        knowledge_signals = api_signals = agent_signals = None
        if knowledge is not None:
            from stacks.knowledge.stack import METRICS_NAMESPACE as KNOWLEDGE_NAMESPACE  # noqa: PLC0415

            knowledge_signals = signals.KnowledgeSignals(
                namespace=KNOWLEDGE_NAMESPACE, knowledge_base_id=knowledge.knowledge_base.knowledge_base_id
            )
        if api is not None:
            from stacks.api.stack import CHAT_SERVICE, STREAM_SERVICE  # noqa: PLC0415
            from stacks.api.stack import METRICS_NAMESPACE as API_NAMESPACE  # noqa: PLC0415

            api_signals = signals.ApiSignals(
                api_name=api.api.rest_api_name,
                web_acl_name=str(api.firewall.web_acl.name),
                namespace=API_NAMESPACE,
                chat_service=CHAT_SERVICE,
                stream_service=STREAM_SERVICE,
                architectures=api.architectures,
                log_groups=(api.chat.log_group, api.stream.log_group),
                critical_alarms=tuple(a for a in api.alarms if a.node.id in ("ChatErrors", "StreamErrors")),
            )
        if agent is not None:
            from stacks.agent.stack import METRICS_NAMESPACE as AGENT_NAMESPACE  # noqa: PLC0415
            from stacks.agent.tools import ANALYST_SERVICE  # noqa: PLC0415

            agent_signals = signals.AgentSignals(namespace=AGENT_NAMESPACE, tool_service=ANALYST_SERVICE)
        return signals.JourneySignals(
            usecase_id=usecase.id,
            data=signals.DataSignals(
                namespace=data.metrics_namespace,
                state_machine=data.state_machine,
                failed_alarm=next(a for a in data.alarms if a.node.id == "PipelineExecutionsFailed"),
            )
            if data is not None
            else None,
            knowledge=knowledge_signals,
            api=api_signals,
            guardrail=signals.GuardrailSignals(guardrails.guardrail_arn, guardrails.guardrail_version)
            if guardrails is not None
            else None,
            agent=agent_signals,
            models=tuple(models),
        )

    def _scale(self) -> ScaleStack:
        """The hosted model and/or the fine-tuning workflow; a switched-on feature needs its scale.yaml section."""
        from stacks.scale.settings import SCALE_FILE, require_section  # noqa: PLC0415
        from stacks.scale.stack import FineTuningSource, ScaleProps, ScaleStack, gate_thresholds  # noqa: PLC0415

        foundation, features, usecase = self.foundation, self._config.features, self._files.usecase
        scale = self._files.scale
        fine_tuning: FineTuningSource | None = None
        if features.hosted_model:
            require_section(scale, "hosted_model", usecase.id, "hosted_model")
        if features.fine_tuning:
            require_section(scale, "fine_tuning", usecase.id, "fine_tuning")
            settings, data = scale.fine_tuning, self.data
            assert settings is not None
            assert data is not None
            source = f"usecases/{usecase.id}/{SCALE_FILE}"
            evaluation = usecase.evaluation_for("features.fine_tuning (the promotion gate)")
            if not scale.golden:
                raise ConfigError(source, "fine_tuning.golden_task", f"no golden/{settings.golden_task}.jsonl cases")
            fine_tuning = FineTuningSource(
                curated_bucket=data.curated.bucket,
                settings=settings,
                thresholds=gate_thresholds(evaluation),
                golden=scale.golden,
            )
        return self._add(
            "Scale",
            ScaleStack,
            "hosted model and fine-tuning workflow",
            ScaleProps(
                name_prefix=self.name_prefix,
                stage=self._policy,
                key=foundation.key,
                alarm_topic=foundation.alarm_topic,
                access_logs=foundation.access_logs.bucket,
                usecase_id=usecase.id,
                hosted_model=scale.hosted_model if features.hosted_model else None,
                fine_tuning=fine_tuning,
            ),
        )

    def _web(self, api: ApiStack) -> WebStack:
        from stacks.web.stack import WebProps, WebStack  # noqa: PLC0415

        foundation = self.foundation
        return self._add(
            "Web",
            WebStack,
            "chat page on CloudFront, same-origin with the API, Cognito managed login",
            WebProps(
                name_prefix=self.name_prefix,
                stage=self._policy,
                key=foundation.key,
                access_logs=foundation.access_logs.bucket,
                user_pool=api.users.user_pool,
                api_stage=api.api.deployment_stage,
                architectures=api.architectures,
                tasks=api.settings.tasks,
            ),
        )
