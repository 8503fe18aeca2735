"""Typed config: good config loads; each bad one gives one line naming file, field and reason."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import typing
from pathlib import Path
from typing import Any

import pytest
import yaml

from stacks.app_builder import cdk_json_context, validate_usecase
from stacks.config import (
    PATTERN_WORDS,
    USECASES_DIR,
    ConfigError,
    Ideation,
    KitConfig,
    UseCase,
    kit_config_from_context,
    load_usecase,
)
from stacks.data.settings import DataSettings
from stacks.guardrails.policy import GuardrailPolicy
from stacks.guardrails.safety_settings import SafetyConfig
from stacks.knowledge.settings import KnowledgeSettings
from tools.config_reference import _nested_models

REPO = Path(__file__).resolve().parents[2]


def test_the_shipped_config_and_use_case_load():
    config = kit_config_from_context(cdk_json_context())
    assert config.selected_stages() == ["dev"]
    usecase = load_usecase(config.usecase)
    assert usecase.architecture == "rag"
    assert usecase.ideation.template == "knew_which"


def test_overrides_use_dotted_keys_and_win_over_cdk_json():
    config = kit_config_from_context(
        cdk_json_context(
            **{"stage": "all", "environments.prod.account": "123456789012", "alarm_email": "ops@example.com"}
        )
    )
    assert config.selected_stages() == ["dev", "prod"]
    assert config.environments["prod"].account == "123456789012"
    assert config.alarm_email == "ops@example.com"


CONTEXT_CASES: dict[str, tuple[dict[str, Any], str]] = {
    "unknown stage": ({"stage": "qa"}, "stage"),
    "project with capitals": ({"project": "Journey"}, "project"),
    "project too short": ({"project": "j"}, "project"),
    "account not 12 digits": ({"environments.dev.account": "12345"}, "environments.dev.account"),
    "region malformed": ({"environments.dev.region": "Europe"}, "environments.dev.region"),
    "email malformed": ({"alarm_email": "ops-at-example"}, "alarm_email"),
    "unknown setting": ({"colour": "blue"}, "colour"),
    "unknown feature": ({"features.teleport": "true"}, "features.teleport"),
    "stage without environment": ({"stage": "prod", "environments": {"dev": {}}}, "stage"),
    "environment not a stage": ({"environments": {"test": {}}}, "environments.test"),
}


@pytest.mark.parametrize("case", CONTEXT_CASES, ids=list(CONTEXT_CASES))
def test_bad_context_names_the_field(case):
    overrides, field = CONTEXT_CASES[case]
    with pytest.raises(ConfigError) as raised:
        kit_config_from_context(cdk_json_context(**overrides))
    assert raised.value.source == "cdk.json context"
    assert raised.value.field == field
    assert "\n" not in str(raised.value)


def _good_usecase() -> dict:
    return yaml.safe_load((USECASES_DIR / "customer-retention" / "usecase.yaml").read_text())


def _with(path: str, value):
    data = _good_usecase()
    node = data
    *parents, leaf = path.split(".")
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    node[leaf] = value
    return data


USECASE_CASES = {
    "statement off-template": (_with("ideation.statement", "We should use AI for retention"), "ideation.statement"),
    "unknown architecture": (_with("architecture", "blockchain"), "architecture"),
    "model id malformed": (_with("models.text", "Claude 3 Haiku"), "models.text"),
    "embedding dimensions not a size": (_with("models.embedding_dimensions", 0), "models.embedding_dimensions"),
    "bleu out of range": (_with("evaluation.bleu_min", 140), "evaluation.bleu_min"),
    "rouge out of range": (_with("evaluation.rouge_l_min", -0.1), "evaluation.rouge_l_min"),
    "unknown source format": (_with("data.sources.0.format", "parquet"), "data.sources.0.format"),
    "no success metrics": (_with("success_metrics", []), "success_metrics"),
    "id differs from folder": (_with("id", "other-case"), "id"),
    "typo in a field": (_with("architecure", "rag"), "architecure"),
}


@pytest.mark.parametrize("case", USECASE_CASES, ids=list(USECASE_CASES))
def test_bad_usecase_names_file_and_field(case, tmp_path):
    data, field = USECASE_CASES[case]
    folder = tmp_path / "customer-retention"
    folder.mkdir()
    (folder / "usecase.yaml").write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError) as raised:
        load_usecase("customer-retention", root=tmp_path)
    assert raised.value.source.endswith("customer-retention/usecase.yaml")
    assert raised.value.field == field


@pytest.mark.parametrize(
    ("content", "field", "reason"),
    [
        ("id: [unclosed", "line 1", "invalid YAML"),
        ("- just\n- a list\n", "(file)", "mapping"),
        ("", "(file)", "mapping"),
        (b"\xff\xfe bad bytes", "(file)", "UTF-8"),
    ],
)
def test_unreadable_usecase_files(tmp_path, content, field, reason):
    folder = tmp_path / "broken"
    folder.mkdir()
    target = folder / "usecase.yaml"
    target.write_bytes(content) if isinstance(content, bytes) else target.write_text(content)
    with pytest.raises(ConfigError) as raised:
        load_usecase("broken", root=tmp_path)
    assert raised.value.field == field
    assert reason in raised.value.reason


def test_missing_usecase_lists_the_known_ones():
    known = sorted(p.name for p in USECASES_DIR.iterdir() if (p / "usecase.yaml").is_file())
    with pytest.raises(ConfigError, match=re.escape(f"(known: {', '.join(known)})")):
        load_usecase("no-such-case")


def test_all_three_ideation_templates_are_accepted():
    statements = {
        "recognize": "If I could recognize churn signals in support transcripts I could intervene early",
        "knew_which": "If I knew which offers were most likely to be accepted by each individual customer I could "
        "personalize them",
        "identify": "If I could identify at-risk accounts with usage data, I could call them first",
    }
    for template, statement in statements.items():
        assert Ideation(statement=statement).template == template


@pytest.mark.parametrize("override", ["stage=qa", "usecase=nope"])
def test_app_exits_with_one_line_and_synthesizes_nothing(tmp_path, override):
    outdir = tmp_path / "out"
    key, value = override.split("=")
    context = {**cdk_json_context(), key: value}
    env = {**os.environ, "CDK_OUTDIR": str(outdir), "CDK_CONTEXT_JSON": json.dumps(context)}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    result = subprocess.run(
        [sys.executable, "app.py"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("config error: ")
    assert "Traceback" not in result.stderr
    assert not outdir.exists() or not any(outdir.iterdir())


def test_kit_config_is_frozen():
    config = KitConfig()
    with pytest.raises(Exception, match="frozen"):
        config.project = "other"  # type: ignore[misc]


# -------------------------------------------------------------------------------- every problem, in words


def test_every_error_of_a_file_is_reported_one_line_each(tmp_path):
    data = _with("architecture", "blockchain")
    data["models"]["text"] = "Claude 3 Haiku"
    data["evaluation"]["bleu_min"] = 140
    folder = tmp_path / "customer-retention"
    folder.mkdir()
    (folder / "usecase.yaml").write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError) as raised:
        load_usecase("customer-retention", root=tmp_path)
    assert [field for _, field, _ in raised.value.problems] == ["architecture", "models.text", "evaluation.bleu_min"]
    lines = str(raised.value).splitlines()
    assert len(lines) == 3
    assert "(and " not in str(raised.value)
    assert lines[2].endswith("evaluation.bleu_min: must be less than or equal to 100")


@pytest.mark.parametrize(
    ("overrides", "field", "reason"),
    [
        ({"environments.dev.account": "12345"}, "environments.dev.account", "must be 12 digits"),
        ({"alarm_email": "ops-at-example"}, "alarm_email", "must be an email address"),
        (
            {"environments.dev.region": "Europe"},
            "environments.dev.region",
            "must look like an AWS region, e.g. `eu-west-1`",
        ),
        ({"stage": "qa"}, "stage", "must be 'dev', 'prod' or 'all'"),
        ({"features.knowlege": False}, "features.knowlege", "unknown field; did you mean 'knowledge'?"),
        ({"environments.dev.regoin": "eu-west-1"}, "environments.dev.regoin", "unknown field; did you mean 'region'?"),
        (
            {"colour": "blue"},
            "colour",
            "unknown field (known: alarm_email, environments, features, powertools_layer, powertools_layer_version, "
            "prefix, project, stage, usecase)",
        ),
    ],
)
def test_reasons_are_words_and_typos_name_the_close_match(overrides, field, reason):
    with pytest.raises(ConfigError) as raised:
        kit_config_from_context(cdk_json_context(**overrides))
    assert (raised.value.field, raised.value.reason) == (field, reason)


def test_a_model_id_in_the_wrong_shape_says_what_shape(tmp_path):
    with pytest.raises(ConfigError) as raised:
        load_usecase("customer-retention", root=_usecase_root(_with("models.text", "Claude 3 Haiku"), tmp_path))
    assert raised.value.reason.startswith("must look like `provider.model-name-v1:0`")
    assert "^" not in raised.value.reason  # no raw regex


@pytest.mark.parametrize(
    ("path", "value", "field", "suggestion"),
    [
        ("architecure", "rag", "architecure", "architecture"),
        ("models.embeding", "amazon.titan-embed-text-v2:0", "models.embeding", "embedding"),
        ("data.sources.0.formatt", "csv", "data.sources.0.formatt", "format"),
    ],
)
def test_a_typo_in_usecase_yaml_suggests_the_field(path, value, field, suggestion, tmp_path):
    with pytest.raises(ConfigError) as raised:
        load_usecase("customer-retention", root=_usecase_root(_with(path, value), tmp_path))
    assert raised.value.field == field
    assert raised.value.reason == f"unknown field; did you mean '{suggestion}'?"


def _usecase_root(data: dict, root: Path) -> Path:
    (root / "customer-retention").mkdir()
    (root / "customer-retention" / "usecase.yaml").write_text(yaml.safe_dump(data))
    return root


def test_every_pattern_in_the_config_models_has_words():
    """A pattern without registered words would surface as a raw regex in an error."""
    seen: set[type] = set()
    patterns: list[tuple[str, str]] = []

    def walk(model) -> None:
        if model in seen:
            return
        seen.add(model)
        for name, field in model.model_fields.items():
            for meta in [
                *field.metadata,
                *(m for a in typing.get_args(field.annotation) for m in getattr(a, "__metadata__", ())),
            ]:
                pattern = getattr(meta, "pattern", None)
                if pattern is not None:
                    patterns.append((f"{model.__name__}.{name}", pattern))
            for sub in _nested_models(field.annotation):
                walk(sub)

    for model in (KitConfig, UseCase, DataSettings, KnowledgeSettings, GuardrailPolicy, SafetyConfig):
        walk(model)
    assert len(patterns) >= 9
    assert [where for where, pattern in patterns if pattern not in PATTERN_WORDS] == []


# -------------------------------------------------------------------------------- names and regions


def test_the_name_prefix_defaults_to_project_and_usecase_and_is_bounded():
    assert kit_config_from_context(cdk_json_context()).name_prefix == "journey-customer-retention"
    assert kit_config_from_context(cdk_json_context(prefix="team-a")).name_prefix == "team-a"
    at_limit = "a" * 34
    assert kit_config_from_context(cdk_json_context(prefix=at_limit)).name_prefix == at_limit
    with pytest.raises(ConfigError) as raised:
        kit_config_from_context(cdk_json_context(prefix="a" * 35))
    assert raised.value.field == "prefix"
    # <project>-<usecase> over the limit asks for an explicit prefix; 34 characters exactly is fine.
    assert len(kit_config_from_context(cdk_json_context(project="p" * 20, usecase="u" * 13)).name_prefix) == 34
    with pytest.raises(ConfigError) as raised:
        kit_config_from_context(cdk_json_context(project="p" * 20, usecase="u" * 14))
    assert (raised.value.field, raised.value.reason.split(":")[-1].strip()) == (
        "prefix",
        "set a shorter one with -c prefix=...",
    )


@pytest.mark.parametrize("region", ["us-east-1", "us-west-2", "eu-central-1", "ap-south-1"])
def test_custom_safety_models_accept_the_regions_with_comprehend_endpoints(region):
    overrides = {"features.custom_safety_models": True, "environments.dev.region": region}
    assert kit_config_from_context(cdk_json_context(**overrides)).environments["dev"].region == region


def test_custom_safety_models_in_an_unsupported_region_is_a_config_error_not_a_traceback(tmp_path):
    outdir = tmp_path / "out"
    context = {
        **cdk_json_context(),
        "features": {"custom_safety_models": True, "guardrails": True, "data": True, "knowledge": True},
        "environments.prod.region": "eu-west-1",
    }
    env = {**os.environ, "CDK_OUTDIR": str(outdir), "CDK_CONTEXT_JSON": json.dumps(context)}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    result = subprocess.run(
        [sys.executable, "app.py"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "config error: cdk.json context: environments.prod.region: eu-west-1 has no CloudFormation resources for "
        "Comprehend custom model endpoints, which features.custom_safety_models needs; use one of ap-south-1, "
        "eu-central-1, us-east-1, us-west-2"
    ]
    assert not outdir.exists() or not any(outdir.iterdir())


# -------------------------------------------------------------------------------- models checked at synth


def _usecase_with_models(tmp_path: Path, **models: object) -> Path:
    shutil.copytree(USECASES_DIR / "customer-retention", tmp_path / "customer-retention")
    path = tmp_path / "customer-retention" / "usecase.yaml"
    data = yaml.safe_load(path.read_text())
    data["models"].update(models)
    path.write_text(yaml.safe_dump(data))
    return tmp_path


@pytest.mark.parametrize(
    ("models", "region", "field", "words"),
    [
        ({"embedding": "amazon.nova-lite-v1:0"}, None, "models.embedding", "text"),
        ({"text": "amazon.titan-embed-text-v2:0"}, None, "models.text", "embedding"),
        ({"embedding_dimensions": 768}, None, "models.embedding_dimensions", "256, 512, 1024"),
        ({}, "ap-southeast-1", "models.embedding", "ap-southeast-1"),
    ],
)
def test_known_incompatible_models_fail_synth(tmp_path, models, region, field, words):
    root = _usecase_with_models(tmp_path, **models)
    overrides = {"environments.dev.region": region} if region else {}
    config = kit_config_from_context(cdk_json_context(**overrides))
    with pytest.raises(ConfigError) as raised:
        validate_usecase(config, root)
    assert raised.value.source.endswith("customer-retention/usecase.yaml")
    assert raised.value.field == field
    assert words in raised.value.reason


@pytest.mark.parametrize("dimensions", [256, 512, 1024])
def test_every_titan_v2_size_is_accepted(tmp_path, dimensions):
    root = _usecase_with_models(tmp_path, embedding_dimensions=dimensions)
    files, warnings = validate_usecase(kit_config_from_context(cdk_json_context()), root)
    assert (files.usecase.models_for("the test").embedding_dimensions, warnings) == (dimensions, [])


def test_an_unknown_or_legacy_model_warns_and_synth_goes_on(tmp_path):
    root = _usecase_with_models(tmp_path, text="anthropic.claude-haiku-9-20300101-v1:0")
    _, warnings = validate_usecase(kit_config_from_context(cdk_json_context()), root)
    assert len(warnings) == 1
    assert "models.text: " in warnings[0]
    assert "not in stacks/config/models.yaml" in warnings[0]
    root = _usecase_with_models(tmp_path / "legacy", text="us.anthropic.claude-3-5-haiku-20241022-v1:0")
    _, warnings = validate_usecase(kit_config_from_context(cdk_json_context()), root)
    assert len(warnings) == 1
    assert "legacy" in warnings[0]


def test_the_shipped_use_cases_use_current_models_in_both_pinned_regions():
    for usecase in sorted(p.name for p in USECASES_DIR.iterdir() if (p / "usecase.yaml").is_file()):
        for region in ("us-east-1", "eu-west-1"):
            config = kit_config_from_context(cdk_json_context(usecase=usecase, **{"environments.dev.region": region}))
            assert validate_usecase(config)[1] == [], (usecase, region)


def test_the_readme_error_examples_are_what_the_kit_prints(tmp_path):
    readme = (REPO / "README.md").read_text()
    start = readme.index("```\nconfig error: ")
    shown = readme[start + 4 : readme.index("```", start + 4)].splitlines()
    bleu = _with("evaluation.bleu_min", 140)
    typo = _with("models.embeding", "amazon.titan-embed-text-v2:0")
    printed = []
    for name, data in (("a", bleu), ("b", typo)):
        root = tmp_path / name / "usecases"  # shown relative to its parent: usecases/<id>/usecase.yaml
        root.mkdir(parents=True)
        with pytest.raises(ConfigError) as raised:
            load_usecase("customer-retention", root=_usecase_root(data, root))
        printed.append(f"config error: {raised.value}")
    with pytest.raises(ConfigError) as raised:
        kit_config_from_context(cdk_json_context(**{"environments.prod.account": "12345"}))
    printed.append(f"config error: {raised.value}")
    assert printed == shown


def test_only_the_selected_stages_regions_are_checked(tmp_path):
    """prod pinned where the embedding model is not offered: a dev-only synth is fine, stage=all is not."""
    pinned = {"environments.prod.region": "ap-southeast-1"}
    dev_only = kit_config_from_context(cdk_json_context(**pinned))
    assert validate_usecase(dev_only)[1] == []
    with pytest.raises(ConfigError) as raised:
        validate_usecase(kit_config_from_context(cdk_json_context(stage="all", **pinned)))
    assert raised.value.field == "models.embedding"
    assert "ap-southeast-1" in raised.value.reason


def test_one_pattern_has_one_wording_so_import_order_cannot_reword_errors():
    from stacks.config.base import PATTERN_WORDS, SAGEMAKER_INSTANCE_PATTERN, worded  # noqa: PLC0415

    assert worded(SAGEMAKER_INSTANCE_PATTERN, PATTERN_WORDS[SAGEMAKER_INSTANCE_PATTERN]) == SAGEMAKER_INSTANCE_PATTERN
    with pytest.raises(ValueError, match="already worded"):
        worded(SAGEMAKER_INSTANCE_PATTERN, "must be an instance type")
    assert PATTERN_WORDS[SAGEMAKER_INSTANCE_PATTERN] == "must be a SageMaker instance type, e.g. `ml.g5.2xlarge`"
