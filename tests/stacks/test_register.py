"""The register validates every file of every use case as synth does and prints one row each."""

from __future__ import annotations

import shutil

import pytest

from stacks.config import REPO_ROOT as ROOT
from stacks.config import USECASES_DIR, Features
from tools import register

HEADER = ["id", "title", "template", "architecture", "stacks", "status"]
VALID = "customer-retention"  # a shipped use case the broken copies start from


def _rows(out: str) -> list[list[str]]:
    """Table rows split on the two-space column gap (cells hold single spaces)."""
    lines = out.splitlines()[:-1]  # the last line is the count
    return [[cell.strip() for cell in line.split("  ") if cell.strip()] for line in lines]


def test_the_shipped_register_is_valid_and_lists_every_folder(capsys):
    folders = sorted(p.name for p in USECASES_DIR.iterdir() if p.is_dir() and not p.name.startswith("."))
    assert register.main([]) == 0
    out, err = capsys.readouterr()
    rows = _rows(out)
    assert rows[0] == HEADER
    assert [row[0] for row in rows[1:]] == folders
    assert {row[-1] for row in rows[1:]} == {"valid"}
    assert out.splitlines()[-1].endswith(f": {len(folders)} valid, 0 invalid")
    assert all(line.startswith("config warning: ") for line in err.splitlines())  # doubts only, no errors


def test_the_readme_shows_the_register_as_make_register_prints_it(capsys):
    readme = (ROOT / "README.md").read_text()
    start = readme.index("```\nid  ")
    shown = readme[start + 4 : readme.index("```", start + 4)]
    assert register.main([]) == 0
    assert capsys.readouterr().out == shown


def test_the_table_lists_valid_invalid_and_folders_without_usecase_yaml(tmp_path, capsys):
    shutil.copytree(USECASES_DIR / VALID, tmp_path / VALID)
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "usecase.yaml").write_text("id: broken\n")
    (tmp_path / "empty-idea").mkdir()
    (tmp_path / "notes.md").write_text("a file, not a use case\n")
    assert register.main(["--root", str(tmp_path)]) == 1
    out, err = capsys.readouterr()
    assert out == (
        "id                  title                       template    architecture  "
        "stacks                                                                            status\n"
        "broken              ?                           ?           ?             "
        "Foundation, Data, Knowledge, Guardrails, Api, Web, Observability                  invalid\n"
        "customer-retention  Personalized retain offers  knew_which  rag           "
        "Foundation, Data, Knowledge, Guardrails, Prompts, Agent, Api, Web, Observability  valid\n"
        "empty-idea          ?                           ?           ?             "
        "Foundation, Data, Knowledge, Guardrails, Api, Web, Observability                  invalid\n"
        "3 use cases: 1 valid, 2 invalid\n"
    )
    assert "broken/usecase.yaml: title: required, but missing" in err
    assert "empty-idea/usecase.yaml: " in err


BROKEN_FILES = ["data.yaml", "knowledge.yaml", "guardrail.yaml", "safety.yaml"]


@pytest.mark.parametrize("name", BROKEN_FILES)
def test_a_broken_stage_file_makes_the_use_case_invalid_naming_the_file(name, tmp_path, capsys):
    shutil.copytree(USECASES_DIR / VALID, tmp_path / VALID)
    with (tmp_path / VALID / name).open("a") as file:
        file.write("\nbogus_field: 1\n")
    assert register.main(["--root", str(tmp_path)]) == 1
    out, err = capsys.readouterr()
    row = _rows(out)[1]
    assert row[0] == VALID
    assert row[1] == "Personalized retain offers"  # usecase.yaml itself is valid: its row says what it can
    assert row[-1] == "invalid"
    assert f"{VALID}/{name}: bogus_field: unknown field" in err


def test_warnings_are_printed_but_leave_the_use_case_valid(tmp_path, capsys):
    # The use case's previous default: Claude 3.5 Haiku, legacy in stacks/config/models.yaml.
    shutil.copytree(USECASES_DIR / VALID, tmp_path / VALID)
    path = tmp_path / VALID / "usecase.yaml"
    text = path.read_text()
    old = "text: global.anthropic.claude-haiku-4-5-20251001-v1:0"
    assert old in text
    path.write_text(text.replace(old, "text: us.anthropic.claude-3-5-haiku-20241022-v1:0"))
    assert register.main(["--root", str(tmp_path)]) == 0
    out, err = capsys.readouterr()
    assert _rows(out)[1][-1] == "valid"
    assert err.startswith("config warning: ")
    assert f"{VALID}/usecase.yaml: models.text: us.anthropic.claude-3-5-haiku-20241022-v1:0" in err
    assert "legacy" in err
    assert err.count("\n") == 1


@pytest.mark.parametrize(
    ("features", "expected"),
    [
        (
            Features(
                data=False,
                knowledge=False,
                guardrails=False,
                prompts=False,
                agent=False,
                api=False,
                observability=False,
            ),
            "Foundation",
        ),
        (Features(knowledge=False, api=False), "Foundation, Data, Guardrails, Prompts, Agent, Observability"),
        (Features(), "Foundation, Data, Knowledge, Guardrails, Prompts, Agent, Api, Web, Observability"),
        (
            Features(custom_safety_models=True),
            "Foundation, Data, Knowledge, Guardrails, Prompts, Agent, Api, Web, Observability, custom models",
        ),
    ],
)
def test_stacks_column_follows_the_features(features, expected):
    assert register.stacks_on(features, frozenset({"prompts.yaml", "agent.yaml"})) == expected


def test_prompts_and_agent_appear_only_with_their_files():
    assert register.stacks_on(Features()) == "Foundation, Data, Knowledge, Guardrails, Api, Web, Observability"
    assert register.stacks_on(Features(), frozenset({"agent.yaml"})) == (
        "Foundation, Data, Knowledge, Guardrails, Agent, Api, Web, Observability"
    )


def test_a_root_that_is_missing_or_empty_is_an_error(tmp_path, capsys):
    assert register.main(["--root", str(tmp_path / "nope")]) == 2
    assert capsys.readouterr().err == f"register: {tmp_path / 'nope'}: no such folder\n"
    assert register.main(["--root", str(tmp_path)]) == 2
    assert capsys.readouterr().err == f"register: {tmp_path}: no use case folders\n"
