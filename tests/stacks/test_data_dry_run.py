"""`make data-dry-run`: the pipeline's own steps on local files, offline; a data-only use case needs no models."""

from __future__ import annotations

import json
import re
import shlex
import shutil
from pathlib import Path

import boto3
import pytest
import yaml
from botocore.stub import Stubber

from stacks.app_builder import cdk_json_context, validate_usecase
from stacks.config import REPO_ROOT as ROOT
from stacks.config import USECASES_DIR, ConfigError, kit_config_from_context
from tools import data_dry_run, register

SAMPLE = "customer-retention"
NOTE = "Please call Jane Doe back about the refund.\n"


def readme_dry_runs() -> list[list[str]]:
    """Every `make data-dry-run ...` command of the README, as words."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    found = [shlex.split(line.split("#")[0]) for line in re.findall(r"^make data-dry-run[^\n]*", text, re.M)]
    assert found, "the README shows make data-dry-run"
    return found


def as_arguments(words: list[str]) -> list[str]:
    """The tool's arguments for a `make data-dry-run VAR=value ...` command, as the Makefile recipe maps them."""
    recipe = (ROOT / "Makefile").read_text(encoding="utf-8").split("\ndata-dry-run:", 1)[1].split("\n\n", 1)[0]
    assert (
        '$(PY) -m tools.data_dry_run $(if $(USECASE),--usecase "$(USECASE)") $(if $(DATA),--data "$(DATA)")' in recipe
    )
    flags = {"USECASE": "--usecase", "DATA": "--data"}
    arguments = []
    for word in words[2:]:
        name, _, value = word.partition("=")
        arguments += [flags[name], value]
    return arguments


def run(capsys: pytest.CaptureFixture[str], *arguments: str) -> tuple[int, str, str]:
    code = data_dry_run.main(list(arguments))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("usecase", [SAMPLE, "it-helpdesk"])
def test_the_readme_command_runs_on_the_shipped_sample_data(usecase, tmp_path, capsys):
    (words,) = readme_dry_runs()
    arguments = [a.replace(SAMPLE, usecase) for a in as_arguments(words)]
    code, out, err = run(capsys, *arguments, "--out", str(tmp_path))
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[1].startswith("PII detection: STUBBED")
    assert "free text (`scan: true` fields, text documents) is NOT scanned" in lines[1]
    assert re.search(r"^gate: (PASS|WARN) \(would publish\)$", out, re.M)
    report = json.loads((tmp_path / "report.json").read_text())
    balance = report["conservation"]
    assert balance["holds"]
    assert balance["records_in"] == balance["curated"] + balance["quarantined"]
    assert (
        f"conservation: records_in {balance['records_in']} = curated {balance['curated']} + quarantined "
        f"{balance['quarantined']} + held 0: holds"
    ) in lines
    assert report["dry_run"]["pii_detection"] == "stubbed"
    assert sum(report["dry_run"]["quarantine_reasons"].values()) == balance["quarantined"]
    markdown = (tmp_path / "report.md").read_text()
    assert markdown.startswith(f"# Data evaluation report: sample-data\n\n> **Dry run** of `{usecase}`")
    assert "PII detection: STUBBED" in markdown
    assert (tmp_path / "curated" / "records" / "sample-data").is_dir()


def test_the_sample_shows_its_planted_problems_by_reason(tmp_path, capsys):
    code, out, _ = run(capsys, "--usecase", SAMPLE, "--out", str(tmp_path))
    assert code == 0
    reasons = json.loads((tmp_path / "report.json").read_text())["dry_run"]["quarantine_reasons"]
    assert reasons["validate: empty object"] == 1
    assert any(r.startswith("validate: unknown format '.parquet'") for r in reasons)
    assert any(r.startswith("validate: not UTF-8") for r in reasons)
    assert "quarantined records by reason:" in out
    # Whole-object rejects land in quarantine/ with their reason, as in the quarantine bucket.
    assert (tmp_path / "quarantine" / "datasets" / "sample-data" / "feedback" / "empty.txt.reason.json").is_file()


def _one_note(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    (data / "feedback").mkdir(parents=True)
    (data / "feedback" / "note.txt").write_text(NOTE)
    return data


def test_stubbed_detection_leaves_free_text_as_it_is_and_says_so(tmp_path):
    result = data_dry_run.dry_run(SAMPLE, _one_note(tmp_path))
    curated = result.store.buckets["curated"]["records/data/feedback/note.txt"].decode()
    assert curated == NOTE  # nothing scanned: the name passes, as the notice warns
    assert result.report["dry_run"]["comprehend_requests"] == 0
    assert result.pii_detection == data_dry_run.STUBBED


def test_comprehend_detection_redacts_free_text_with_one_request(tmp_path):
    client = boto3.client("comprehend", region_name="eu-west-1")
    begin = NOTE.index("Jane Doe")
    with Stubber(client) as stub:
        stub.add_response(
            "detect_pii_entities",
            {"Entities": [{"Score": 0.99, "Type": "NAME", "BeginOffset": begin, "EndOffset": begin + 8}]},
            {"Text": NOTE, "LanguageCode": "en"},
        )
        result = data_dry_run.dry_run(SAMPLE, _one_note(tmp_path), comprehend=client)
        stub.assert_no_pending_responses()
    assert result.store.buckets["curated"]["records/data/feedback/note.txt"].decode() == NOTE.replace(
        "Jane Doe", "[NAME]"
    )
    assert result.report["dry_run"] | {"quarantine_reasons": {}} == {
        "usecase": SAMPLE,
        "data": str(tmp_path / "data"),
        "pii_detection": "comprehend",
        "pii_note": "PII detection: Amazon Comprehend DetectPiiEntities (eu-west-1), free text scanned as deployed",
        "comprehend_requests": 1,
        "quarantine_reasons": {},
    }
    assert result.report["profile"]["pii"]["entities"] == {"NAME": 1}


def test_comprehend_without_credentials_is_a_bad_input(tmp_path, capsys, monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name)
    code, out, err = run(capsys, "--usecase", SAMPLE, "--data", str(_one_note(tmp_path)), "--comprehend")
    assert (code, out) == (2, "")
    assert err.startswith("data-dry-run: --comprehend: no AWS credentials found")


def _profiles(data: Path, age_band: str, count: int = 60) -> None:
    (data / "profiles").mkdir(parents=True)
    rows = [
        {
            "customer_id": f"C{i:05d}",
            "full_name": f"Person {i}",
            "email": f"p{i}@example.com",
            "age_band": age_band,
            "region": ["north", "south", "east", "west"][i % 4],
            "plan": "basic",
            "tenure_months": 12,
            "retained": i % 2 == 0,
        }
        for i in range(count)
    ]
    (data / "profiles" / "part-000.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_a_failing_gate_exits_1_and_holds_everything_back(tmp_path, capsys):
    data = tmp_path / "skewed"
    _profiles(data, "18-24")  # one age band only: PSI far past its FAIL threshold
    code, out, _ = run(capsys, "--usecase", SAMPLE, "--data", str(data), "--out", str(tmp_path / "out"))
    assert code == 1
    assert "gate: FAIL (held back: nothing would publish)" in out
    assert "conservation: records_in 60 = curated 0 + quarantined 0 + held 60: holds" in out
    assert not (tmp_path / "out" / "curated").exists()
    assert "note: no files for source 'purchases'" in out


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda d: (d / "purchase").mkdir(), "'purchase' is not a source (did you mean 'purchases'?); expected "),
        (lambda d: (d / "orders.csv").write_text("a\n"), "orders.csv: a file outside a source folder; expected "),
        (lambda d: (d / "datasets" / "x" / "purchases").mkdir(parents=True), "the raw bucket's layout: pass DATA="),
    ],
    ids=["unknown source", "file outside a source", "raw bucket layout"],
)
def test_a_folder_that_does_not_match_data_yaml_is_one_clear_line(tmp_path, capsys, make, expected):
    data = tmp_path / "mine"
    data.mkdir()
    make(data)
    code, out, err = run(capsys, "--usecase", SAMPLE, "--data", str(data))
    assert (code, out) == (2, "")
    assert len(err.splitlines()) == 1
    assert err.startswith("data-dry-run: ")
    assert expected in err
    if "expected" in expected:
        assert "<source>/<files>, <source> one of: feedback, profiles, purchases" in err


def test_missing_folder_bad_dataset_and_unknown_usecase_exit_2(tmp_path, capsys):
    assert run(capsys, "--usecase", SAMPLE, "--data", str(tmp_path / "nope"))[2] == (
        f"data-dry-run: DATA={tmp_path / 'nope'}: no such folder; expected <DATA>/<source>/<files>\n"
    )
    assert run(capsys, "--usecase", SAMPLE, "--data", str(tmp_path))[0] == 2  # no files at all
    code, _, err = run(capsys, "--usecase", SAMPLE, "--dataset", "Bad Name")
    assert (code, err) == (
        2,
        "data-dry-run: --dataset 'Bad Name': must be 1-63 lowercase letters, digits, '.', '_' or '-'\n",
    )
    code, _, err = run(capsys, "--usecase", "no-such-idea")
    assert code == 2
    assert err.startswith("config error: usecases/no-such-idea/usecase.yaml: usecase: no such use case")


def test_reasons_count_together_whatever_their_numbers():
    assert data_dry_run.normalized("duplicate of record 12 in the same object") == (
        "duplicate of record N in the same object"
    )
    assert data_dry_run.normalized("record of 70000 bytes exceeds max_record_bytes 65536") == (
        "record of N bytes exceeds max_record_bytes N"
    )


# ------------------------------------------------------------------------------------------ data-only use case


def data_only(root: Path) -> Path:
    """customer-retention without `models`, `evaluation`, prompts.yaml and agent.yaml (the serving stages' files):
    what trying data needs."""
    shutil.copytree(
        USECASES_DIR / SAMPLE,
        root / SAMPLE,
        ignore=shutil.ignore_patterns("sample-data", "golden", "prompts.yaml", "agent.yaml"),
    )
    path = root / SAMPLE / "usecase.yaml"
    usecase = yaml.safe_load(path.read_text())
    del usecase["models"], usecase["evaluation"]
    path.write_text(yaml.safe_dump(usecase))
    return root


def test_a_data_only_use_case_dry_runs(tmp_path, capsys):
    root = data_only(tmp_path / "usecases")
    (root / SAMPLE / "guardrail.yaml").unlink()
    code, _, err = run(
        capsys, "--root", str(root), "--usecase", SAMPLE, "--data", str(USECASES_DIR / SAMPLE / "sample-data"),
        "--out", str(tmp_path / "out"),
    )  # fmt: skip
    assert (code, err) == (0, "")


def test_a_stack_that_needs_models_names_the_missing_section(tmp_path):
    root = data_only(tmp_path / "usecases")
    with pytest.raises(ConfigError) as raised:
        validate_usecase(kit_config_from_context(cdk_json_context()), root)
    assert raised.value.problems == [
        (
            f"usecases/{SAMPLE}/usecase.yaml",
            "models",
            "required by the Knowledge stack (features.knowledge; -c features.knowledge=false builds without it), "
            "but missing",
        )
    ]
    row = register.entry(SAMPLE, root)  # the register says the same, as synth would
    assert row.status == "invalid"
    assert row.error is not None
    assert row.error.field == "models"


def test_without_the_knowledge_and_api_stacks_a_data_only_use_case_is_valid(tmp_path):
    """The check synth makes before building any stack (a full synth of Foundation and Data costs 20 s here;
    the Data stack reads nothing from usecase.yaml's models)."""
    root = data_only(tmp_path / "usecases")
    config = kit_config_from_context(cdk_json_context(**{"features": {"knowledge": False, "api": False}}))
    files, warnings = validate_usecase(config, root)
    assert (files.usecase.models, files.usecase.evaluation, warnings) == (None, None, [])
