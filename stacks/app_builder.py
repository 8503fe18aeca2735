"""Turns CDK context into stages. Kept apart from app.py so tests build the same app in-process."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk

from stacks.common.nag import add_nag_packs
from stacks.config import KitConfig, kit_config_from_context
from stacks.stage import JourneyStage
from stacks.usecase_files import load_usecase_files

CDK_JSON = Path(__file__).resolve().parent.parent / "cdk.json"


def cdk_json_context(**overrides: Any) -> dict[str, Any]:
    """cdk.json's context (kit settings and CDK feature flags) for apps built outside the CLI.

    Tests must use it: without the feature flags CDK falls back to legacy defaults (ACL-based log
    delivery, wider policies) and the synthesized templates would not be what `cdk synth` produces.
    """
    context: dict[str, Any] = json.loads(CDK_JSON.read_text(encoding="utf-8"))["context"]
    return {**context, **overrides}


def read_context(app: cdk.App) -> dict[str, Any]:
    """Everything in cdk.json context plus `-c` overrides, as CDK merged them."""
    return dict(app.node.get_all_context())


def build_app(app: cdk.App) -> list[JourneyStage]:
    """Validate all config first, so a bad file synthesizes nothing; then build and nag-gate."""
    config: KitConfig = kit_config_from_context(read_context(app))
    files = load_usecase_files(config.usecase)
    stages = [
        JourneyStage(app, config=config, files=files, stage=stage, environment=config.environments[stage])
        for stage in config.selected_stages()
    ]
    add_nag_packs(app)
    return stages
