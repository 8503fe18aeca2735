"""`JourneyStage`: every stack of one environment, wired together in one readable place."""

from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct

from stacks.common.stage_policy import StagePolicy
from stacks.config import Environment, KitConfig, Stage
from stacks.foundation import FoundationProps, FoundationStack
from stacks.guardrails import GuardrailsProps, GuardrailsStack
from stacks.usecase_files import UseCaseFiles


class JourneyStage(cdk.Stage):
    """Stacks are named `<project>-<stage>-<Part>`; every resource carries project, stage and usecase tags."""

    def __init__(
        self, scope: Construct, *, config: KitConfig, files: UseCaseFiles, stage: Stage, environment: Environment
    ) -> None:
        usecase = files.usecase
        name_prefix = f"{config.project}-{stage}"
        super().__init__(
            scope, name_prefix, env=cdk.Environment(account=environment.account, region=environment.region)
        )
        for key, value in {"project": config.project, "stage": stage, "usecase": usecase.id}.items():
            cdk.Tags.of(self).add(key, value)
        policy = StagePolicy(stage)

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
