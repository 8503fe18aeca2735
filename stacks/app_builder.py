"""Turns CDK context into stages. Kept apart from app.py so tests build the same app in-process."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk

from stacks.common.nag import add_nag_packs
from stacks.config import KitConfig, kit_config_from_context, load_usecase
from stacks.stage import JourneyStage


def read_context(app: cdk.App) -> dict[str, Any]:
    """Everything in cdk.json context plus `-c` overrides, as CDK merged them."""
    return dict(app.node.get_all_context())


def build_app(app: cdk.App) -> list[JourneyStage]:
    """Validate all config first, so a bad file synthesizes nothing; then build and nag-gate."""
    config: KitConfig = kit_config_from_context(read_context(app))
    usecase = load_usecase(config.usecase)
    stages = [
        JourneyStage(app, config=config, usecase=usecase, stage=stage, environment=config.environments[stage])
        for stage in config.selected_stages()
    ]
    add_nag_packs(app)
    return stages
