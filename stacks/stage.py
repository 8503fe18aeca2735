"""`JourneyStage`: every stack of one environment, wired together in one readable place."""

from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct

from stacks.common.powertools import PowertoolsLayerSource
from stacks.common.stage_policy import StagePolicy
from stacks.config import Environment, KitConfig, Stage
from stacks.data import DataProps, DataStack
from stacks.foundation import FoundationProps, FoundationStack
from stacks.guardrails import GuardrailsProps, GuardrailsStack
from stacks.knowledge import KnowledgeProps, KnowledgeStack
from stacks.usecase_files import UseCaseFiles


class JourneyStage(cdk.Stage):
    """Stacks are named `<prefix>-<stage>-<Part>` (prefix defaults to `<project>-<usecase>`), and the stage's
    construct id is `<prefix>-<stage>`, so the CLI selects its stacks with `<prefix>-<stage>/*`. Every
    resource carries the project, stage and usecase tags."""

    def __init__(
        self, scope: Construct, *, config: KitConfig, files: UseCaseFiles, stage: Stage, environment: Environment
    ) -> None:
        usecase = files.usecase
        name_prefix = f"{config.name_prefix}-{stage}"  # <project>-<usecase>-<stage> unless `prefix` is set
        super().__init__(
            scope, name_prefix, env=cdk.Environment(account=environment.account, region=environment.region)
        )
        for key, value in {"project": config.project, "stage": stage, "usecase": usecase.id}.items():
            cdk.Tags.of(self).add(key, value)
        policy = StagePolicy(
            stage,
            powertools=PowertoolsLayerSource(config.powertools_layer, config.powertools_layer_version),
        )

        def stack_name(part: str) -> str:
            return f"{name_prefix}-{part}"

        self.foundation = FoundationStack(
            self,
            "Foundation",
            stack_name=stack_name("Foundation"),
            description=f"{usecase.title}: key, access logs and alarm topic ({stage})",
            props=FoundationProps(name_prefix=name_prefix, stage=policy, alarm_email=config.alarm_email),
        )
        foundation = self.foundation

        self.data: DataStack | None = None
        if config.features.data:
            self.data = DataStack(
                self,
                "Data",
                stack_name=stack_name("Data"),
                description=f"{usecase.title}: data evaluation pipeline, PII redaction, bias profile ({stage})",
                props=DataProps(
                    key=foundation.key,
                    access_logs=foundation.access_logs.bucket,
                    alarm_topic=foundation.alarm_topic,
                    stage=policy,
                    name_prefix=name_prefix,
                    usecase_id=usecase.id,
                    settings=files.data,
                ),
            )

        self.knowledge: KnowledgeStack | None = None
        if config.features.knowledge and self.data is not None:
            self.knowledge = KnowledgeStack(
                self,
                "Knowledge",
                stack_name=stack_name("Knowledge"),
                description=f"{usecase.title}: Bedrock knowledge base on S3 Vectors with ingestion sync ({stage})",
                props=KnowledgeProps(
                    name_prefix=name_prefix,
                    stage=policy,
                    key=foundation.key,
                    alarm_topic=foundation.alarm_topic,
                    curated_bucket=self.data.curated,
                    curated_prefix=self.data.knowledge_prefix,  # documents/: only what the knowledge base parses
                    event_bus=self.data.event_bus,
                    dataset_published_source=self.data.event_source,
                    dataset_published_detail_type=self.data.event_detail_type,
                    embedding_model_id=usecase.models.embedding,
                    embedding_dimensions=usecase.models.embedding_dimensions,
                    settings=files.knowledge,
                ),
            )

        self.guardrails: GuardrailsStack | None = None
        if config.features.guardrails:
            self.guardrails = GuardrailsStack(
                self,
                "Guardrails",
                stack_name=stack_name("Guardrails"),
                description=f"{usecase.title}: Bedrock guardrail and safety settings ({stage})",
                props=GuardrailsProps(
                    key=foundation.key,
                    stage=policy,
                    usecase_id=usecase.id,
                    policy=files.guardrail_policy,
                    name_prefix=name_prefix,
                    safety=files.safety,
                    custom_models=config.features.custom_safety_models,
                    access_logs=foundation.access_logs.bucket,
                ),
            )
