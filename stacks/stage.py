"""`JourneyStage`: every stack of one environment, wired together in one readable place."""

from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct

from stacks.common.stage_policy import StagePolicy
from stacks.config import Environment, KitConfig, Stage, UseCase
from stacks.foundation import FoundationProps, FoundationStack


class JourneyStage(cdk.Stage):
    """Stacks are named `<project>-<stage>-<Part>`; every resource carries project, stage and usecase tags."""

    def __init__(
        self, scope: Construct, *, config: KitConfig, usecase: UseCase, stage: Stage, environment: Environment
    ) -> None:
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
