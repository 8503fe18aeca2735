"""Typed config: good config loads; each bad one gives one line naming file, field and reason."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from stacks.app_builder import cdk_json_context
from stacks.config import USECASES_DIR, ConfigError, Ideation, KitConfig, kit_config_from_context, load_usecase

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
    "stage without environment": ({"stage": "prod", "environments": {"dev": {}}}, "(root)"),
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
    "embedding dimensions unsupported": (_with("models.embedding_dimensions", 768), "models.embedding_dimensions"),
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
    with pytest.raises(ConfigError, match="known: customer-retention"):
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
