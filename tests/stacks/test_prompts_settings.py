"""prompts.yaml: the shipped files load, and every bad file fails with one line naming file, field and reason."""

from __future__ import annotations

import copy
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from stacks.config import USECASES_DIR, ConfigError
from stacks.prompts.settings import MAX_STEPS, PROMPTS_FILE, load_prompts_settings, parse_prompts_settings
from stacks.usecase_files import load_usecase_files

SOURCE = "usecases/demo/prompts.yaml"

BASE: dict[str, Any] = {
    "tasks": {
        "answer": {
            "description": "Answer a question from passages.",
            "variables": ["question", "context"],
            "variants": [
                {
                    "name": "few-shot",
                    "technique": "few-shot",
                    "selected": True,
                    "system": "You answer about {{context}}.",
                    "template": "Q: {{question}}",
                    "inference": {"temperature": 0.2, "max_tokens": 300},
                },
                {
                    "name": "chain-of-thought",
                    "technique": "chain-of-thought",
                    "template": "Think. {{question}} {{context}}",
                },
                {
                    "name": "extract-then-answer",
                    "technique": "multi-prompt",
                    "steps": [
                        {"name": "facts", "template": "{{question}} {{context}}"},
                        {"name": "answer", "template": "{{facts}} {{question}}"},
                    ],
                },
            ],
        }
    }
}


def _variant(data: dict[str, Any], index: int) -> dict[str, Any]:
    variant: dict[str, Any] = data["tasks"]["answer"]["variants"][index]
    return variant


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """A change setting the dotted ``path`` (list indexes as numbers) to ``value``; None deletes it."""

    def change(data: dict[str, Any]) -> None:
        *parents, leaf = path.split(".")
        node: Any = data
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        if value is None:
            del node[int(leaf) if leaf.isdigit() else leaf]
        elif leaf.isdigit():
            node[int(leaf)] = value
        else:
            node[leaf] = value

    return change


V = "tasks.answer.variants"
BAD_FILES: list[tuple[str, Callable[[dict[str, Any]], None], str, str]] = [
    (
        "unknown variable",
        _set(f"{V}.1.template", "{{question}} {{context}} {{customer}}"),
        f"{V}.1.template",
        "unknown variable {{customer}} (declared: question, context)",
    ),
    (
        "unknown variable in system text",
        _set(f"{V}.0.system", "About {{contex}}."),
        f"{V}.0.system",
        "unknown variable {{contex}} (declared: question, context)",
    ),
    ("unused variable", _set(f"{V}.1.template", "{{question}}"), f"{V}.1.template", "{{context}} is never used"),
    (
        "two selected",
        _set(f"{V}.1.selected", True),
        V,
        "2 variants are selected (few-shot, chain-of-thought): mark exactly one",
    ),
    ("none selected", _set(f"{V}.0.selected", False), V, "no variant is selected"),
    (
        "steps on a non-multi-prompt variant",
        _set(f"{V}.1.steps", [{"name": "x", "template": "{{question}}"}]),
        f"{V}.1.steps",
        "only a multi-prompt variant has steps (this one is chain-of-thought)",
    ),
    (
        "template on a multi-prompt variant",
        _set(f"{V}.2.template", "{{question}}"),
        f"{V}.2.template",
        "not allowed on a multi-prompt variant",
    ),
    (
        "step referencing a later step",
        _set(f"{V}.2.steps.0.template", "{{question}} {{context}} {{answer}}"),
        f"{V}.2.steps.0.template",
        "uses {{answer}}, the output of this or a later step",
    ),
    (
        "step referencing itself",
        _set(f"{V}.2.steps.1.template", "{{facts}} {{question}} {{answer}}"),
        f"{V}.2.steps.1.template",
        "uses {{answer}}, the output of this or a later step",
    ),
    ("duplicate variant names", _set(f"{V}.1.name", "few-shot"), V, "variant names must be unique within the task"),
    ("bad technique", _set(f"{V}.1.technique", "tree-of-thought"), f"{V}.1.technique", "must be 'few-shot', "),
    ("temperature out of bounds", _set(f"{V}.0.inference.temperature", 1.5), f"{V}.0.inference.temperature", "1"),
    ("max_tokens out of bounds", _set(f"{V}.0.inference.max_tokens", 0), f"{V}.0.inference.max_tokens", "1"),
    ("a typo", _set(f"{V}.0.inference.temprature", 0.3), f"{V}.0.inference.temprature", "did you mean 'temperature'"),
    (
        "a one-step chain",
        _set(f"{V}.2.steps", [{"name": "facts", "template": "{{question}} {{context}}"}]),
        f"{V}.2.steps",
        "needs at least 2 steps (has 1)",
    ),
    ("a chain without steps", _set(f"{V}.2.steps", None), f"{V}.2.steps", "needs at least 2 steps (has none)"),
    ("a template missing", _set(f"{V}.1.template", None), f"{V}.1.template", "required for a chain-of-thought variant"),
    (
        "a step output nobody uses",
        _set(f"{V}.2.steps.1.template", "{{question}} {{context}}"),
        f"{V}.2.steps.0.name",
        "the output of step facts is never used by a later step",
    ),
    (
        "a variable no step uses",
        _set(f"{V}.2.steps.0.template", "{{question}}"),
        f"{V}.2.steps",
        "declared variable {{context}} is never used by any step",
    ),
    (
        "a step named like a variable",
        _set(f"{V}.2.steps.0.name", "question"),
        f"{V}.2.steps.0.name",
        "also a declared variable",
    ),
    (
        "a malformed placeholder",
        _set(f"{V}.1.template", "{{question}} {{ context }}"),
        f"{V}.1.template",
        "malformed placeholder {{ context }}",
    ),
    (
        "a duplicate variable",
        _set("tasks.answer.variables", ["question", "context", "question"]),
        "tasks.answer.variables",
        "declared twice: question",
    ),
    (
        "a task name with capitals",
        lambda d: d["tasks"].update(Answer=d["tasks"].pop("answer")),
        "tasks.Answer",
        "lowercase letters",
    ),
    ("a variant name ending in a hyphen", _set(f"{V}.1.name", "cot-"), f"{V}.1.name", "single hyphens"),
    ("no variant", _set("tasks.answer.variants", []), "tasks.answer.variants", "at least 1 item"),
    (
        "too many steps",
        _set(
            f"{V}.2.steps",
            [
                {"name": f"s{i}", "template": "{{question}} {{context}}" + (f" {{{{s{i - 1}}}}}" if i else "")}
                for i in range(MAX_STEPS + 1)
            ],
        ),
        f"{V}.2.steps",
        f"at most {MAX_STEPS} items",
    ),
]


@pytest.mark.parametrize(("change", "field", "reason"), [c[1:] for c in BAD_FILES], ids=[c[0] for c in BAD_FILES])
def test_a_bad_file_fails_with_file_field_and_reason(change, field, reason):
    data = copy.deepcopy(BASE)
    change(data)
    with pytest.raises(ConfigError) as error:
        parse_prompts_settings(data, source=SOURCE)
    problems = [(source, f, r) for source, f, r in error.value.problems if f == field and reason in r]
    assert problems, str(error.value)
    assert all("\n" not in line for line in str(error.value).splitlines())
    assert all(line.startswith(f"{SOURCE}: ") for line in str(error.value).splitlines())


def test_the_base_file_is_valid():
    settings = parse_prompts_settings(copy.deepcopy(BASE), source=SOURCE)
    assert settings.selected("answer").name == "few-shot"


def test_every_problem_of_a_file_is_reported_at_once():
    data = copy.deepcopy(BASE)
    _set(f"{V}.1.selected", True)(data)
    _set(f"{V}.1.template", "{{question}} {{nope}}")(data)
    _set(f"{V}.2.template", "{{question}}")(data)
    with pytest.raises(ConfigError) as error:
        parse_prompts_settings(data, source=SOURCE)
    fields = [f for _, f, _ in error.value.problems]
    assert fields == [V, f"{V}.1.template", f"{V}.1.template", f"{V}.2.template"]


def test_the_shipped_files_load_with_a_selected_variant_per_task_and_a_multi_prompt_somewhere():
    for usecase in ("customer-retention", "it-helpdesk"):
        settings = load_usecase_files(usecase).prompts
        assert settings is not None
        techniques = {v.technique for task in settings.tasks.values() for v in task.variants}
        assert "multi-prompt" in techniques
        for name, task in settings.tasks.items():
            assert settings.selected(name) in task.variants
    retention = load_usecase_files("customer-retention").prompts
    assert retention is not None
    assert set(retention.tasks) == {"answer", "summarize", "classify"}
    assert all(2 <= len(task.variants) <= 3 for task in retention.tasks.values())
    classify = retention.tasks["classify"]
    for variant in classify.variants:  # the fixed labels are in every variant
        text = f"{variant.system or ''} {variant.template or ''}"
        assert all(label in text for label in ("billing", "outage", "cancellation", "upgrade", "other"))


def _copy(tmp_path: Path, usecase: str = "customer-retention") -> Path:
    root = tmp_path / "usecases"
    shutil.copytree(USECASES_DIR / usecase, root / usecase, ignore=shutil.ignore_patterns("sample-data"))
    return root


def test_the_file_is_optional(tmp_path):
    root = _copy(tmp_path)
    (root / "customer-retention" / PROMPTS_FILE).unlink()
    assert load_prompts_settings("customer-retention", root) is None
    assert load_usecase_files("customer-retention", root).prompts is None


def test_a_loaded_file_names_its_path_and_the_word_yaml_read(tmp_path):
    root = _copy(tmp_path)
    path = root / "customer-retention" / PROMPTS_FILE
    data = yaml.safe_load(path.read_text())
    data["tasks"]["answer"]["variants"][0]["name"] = "no"  # unquoted: YAML reads false
    path.write_text(yaml.safe_dump(data).replace("name: 'no'", "name: no"))
    with pytest.raises(ConfigError) as error:
        load_prompts_settings("customer-retention", root)
    assert str(error.value) == (
        "usecases/customer-retention/prompts.yaml: tasks.answer.variants.0.name: YAML read `no` as false; quote it"
    )


def test_prompts_need_the_text_model(tmp_path):
    root = _copy(tmp_path)
    usecase = root / "customer-retention" / "usecase.yaml"
    data = yaml.safe_load(usecase.read_text())
    del data["models"]
    usecase.write_text(yaml.safe_dump(data))
    (root / "customer-retention" / "knowledge.yaml").unlink(missing_ok=True)
    with pytest.raises(ConfigError) as error:
        load_usecase_files("customer-retention", root)
    assert (error.value.field, error.value.reason) == (
        "models",
        "required by prompts.yaml (each prompt runs on models.text), but missing",
    )
