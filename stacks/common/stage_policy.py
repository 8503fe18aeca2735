"""What a stage means for data lifetime (one place decides RETAIN vs DESTROY and log retention), and where its
functions get the Powertools layer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import aws_cdk as cdk
from aws_cdk import aws_logs as logs

from stacks.common.powertools import PowertoolsLayerSource

# The stages a policy knows. The kit's context model (stacks/config/kit.py `Stage`) lists the same names; mypy
# checks that every stage the kit configures is one of these where stacks/stage.py builds the policy.
StageName = Literal["dev", "prod"]


@dataclass(frozen=True)
class StagePolicy:
    """Lifetime settings derived from the stage name, passed to every stack in its props."""

    stage: StageName
    # The deploy-time source of the Powertools layer (`powertools_layer` in the kit's context).
    powertools: PowertoolsLayerSource = field(default_factory=PowertoolsLayerSource)

    @property
    def is_prod(self) -> bool:
        return self.stage == "prod"

    @property
    def removal_policy(self) -> cdk.RemovalPolicy:
        """Prod keeps data when a stack is deleted; dev cleans up after itself."""
        return cdk.RemovalPolicy.RETAIN if self.is_prod else cdk.RemovalPolicy.DESTROY

    @property
    def auto_delete_objects(self) -> bool:
        """Dev buckets are emptied on stack deletion so `cdk destroy` leaves nothing behind."""
        return not self.is_prod

    @property
    def deletion_protection(self) -> bool:
        return self.is_prod

    @property
    def log_retention(self) -> logs.RetentionDays:
        return logs.RetentionDays.ONE_YEAR if self.is_prod else logs.RetentionDays.TWO_WEEKS

    @property
    def noncurrent_version_expiration(self) -> cdk.Duration:
        """How long overwritten object versions stay recoverable."""
        return cdk.Duration.days(90 if self.is_prod else 7)
