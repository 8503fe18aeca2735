"""Turns CDK context into stages. Kept apart from app.py so tests build the same app in-process."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import aws_cdk as cdk

from stacks.agent.settings import AGENT_FILE
from stacks.common.cdk_context import CDK_JSON, load_cdk_json_context
from stacks.common.nag import add_nag_packs
from stacks.config import USECASES_DIR, ConfigError, KitConfig, display_path, kit_config_from_context
from stacks.config.model_catalogue import TEXT_FIELD, check_models, load_catalogue
from stacks.stage import JourneyStage, check_agent, check_api, check_required_sections
from stacks.usecase_files import UseCaseFiles, load_usecase_files


def cdk_json_context(**overrides: Any) -> dict[str, Any]:
    """cdk.json's context (kit settings and CDK feature flags) for apps built outside the CLI.

    Tests must use it: without the feature flags CDK falls back to legacy defaults (ACL-based log
    delivery, wider policies) and the synthesized templates would not be what `cdk synth` produces.
    """
    return load_cdk_json_context(CDK_JSON, **overrides)


def read_context(app: cdk.App) -> dict[str, Any]:
    """Everything in cdk.json context plus `-c` overrides, as CDK merged them."""
    return dict(app.node.get_all_context())


def validate_usecase(config: KitConfig, root: Path = USECASES_DIR) -> tuple[UseCaseFiles, list[str]]:
    """Every file of the configured use case, checked exactly as synth checks it (also `make register`).

    Returns the files and one warning line per doubt (an unknown or legacy model); raises `ConfigError`
    with every problem that would fail the deployment, such as a model not offered in a pinned region.
    """
    files = load_usecase_files(config.usecase, root)
    check_required_sections(config.features, files.usecase)
    check_agent(config.features, files)
    check_api(config.features, files)
    models = files.usecase.models
    if models is None:  # no stack that calls a model is switched on
        return files, []
    regions = sorted({r for s in config.selected_stages() if (r := config.environments[s].region) is not None})
    check = check_models(models.text, models.embedding, models.embedding_dimensions, regions, load_catalogue())
    source = display_path(root / config.usecase / "usecase.yaml", root)
    problems = [(source, field, reason) for field, reason in check.errors]
    warnings = [f"{source}: {field}: {reason}" for field, reason in check.warnings]
    if config.features.agent and files.agent is not None:  # an agent's own model is checked like models.text
        agent_source = display_path(root / config.usecase / AGENT_FILE, root)
        for where, agent in files.agent.agents_with_paths():
            if agent.model is None:
                continue
            own = check_models(agent.model, models.embedding, models.embedding_dimensions, regions, load_catalogue())
            problems += [(agent_source, f"{where}.model", r) for f, r in own.errors if f == TEXT_FIELD]
            warnings += [f"{agent_source}: {where}.model: {r}" for f, r in own.warnings if f == TEXT_FIELD]
    if problems:
        raise ConfigError.of(problems)
    return files, warnings


def build_app(app: cdk.App, root: Path = USECASES_DIR) -> list[JourneyStage]:
    """Validate all config first, so a bad file synthesizes nothing; then build and nag-gate.

    ``root`` is the folder of use cases (tests synthesize generated ones from a temporary folder).
    """
    config: KitConfig = kit_config_from_context(read_context(app))
    files, warnings = validate_usecase(config, root)
    for warning in warnings:
        print(f"config warning: {warning}", file=sys.stderr)
    stages = [
        JourneyStage(app, config=config, files=files, stage=stage, environment=config.environments[stage])
        for stage in config.selected_stages()
    ]
    add_nag_packs(app)
    return stages
