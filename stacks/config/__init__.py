"""Typed configuration every stage shares: the kit's context, usecase.yaml, and the base of all file models.

- `base`: `StrictModel`, `ConfigError` (one line per problem: file, field, reason), YAML loading, paths.
- `kit`: `KitConfig` from cdk.json context and `-c` overrides (app.py is the only reader of context).
- `usecase`: `UseCase` from usecases/<id>/usecase.yaml.
- `model_catalogue` with `models.yaml`: the Bedrock models the kit knows, checked against usecase.yaml at synth.
- `comprehend_types`: Comprehend's PII entity types, shared by data.yaml's and safety.yaml's models.

Each stage package models its own use-case file (`stacks/data/settings.py`, ...) on this base; stacks receive
the models (or parts of them) as typed props.
"""

from stacks.config.base import (
    PATTERN_WORDS,
    REPO_ROOT,
    USECASES_DIR,
    ConfigError,
    StrictModel,
    display_path,
    field_error,
    read_yaml_mapping,
    validation_error,
    worded,
)
from stacks.config.kit import (
    CUSTOM_SAFETY_MODEL_REGIONS,
    MAX_PREFIX,
    MAX_USECASE_ID,
    Environment,
    Features,
    KitConfig,
    Stage,
    kit_config_from_context,
)
from stacks.config.usecase import IDEATION_TEMPLATES, MAX_SOURCE_NAME, MAX_SOURCES, Ideation, UseCase, load_usecase

__all__ = [
    "CUSTOM_SAFETY_MODEL_REGIONS",
    "IDEATION_TEMPLATES",
    "MAX_PREFIX",
    "MAX_SOURCES",
    "MAX_SOURCE_NAME",
    "MAX_USECASE_ID",
    "PATTERN_WORDS",
    "REPO_ROOT",
    "USECASES_DIR",
    "ConfigError",
    "Environment",
    "Features",
    "Ideation",
    "KitConfig",
    "Stage",
    "StrictModel",
    "UseCase",
    "display_path",
    "field_error",
    "kit_config_from_context",
    "load_usecase",
    "read_yaml_mapping",
    "validation_error",
    "worded",
]
