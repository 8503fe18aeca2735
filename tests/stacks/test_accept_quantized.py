"""Accepting a quantized hosted model: `python -m tools.accept_quantized` on fixed report pairs (exactly at the
margin, just past it, under a threshold, bad files), the record it writes, and the synth-time guard that refuses
`serve_direct` of a quantized model without that record (the loader, no synth)."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from common.evaluation import gate, scoring
from evaluation.assessment import RunResult, TaskResult, report

from stacks.config import USECASES_DIR, ConfigError
from stacks.scale.settings import ACCEPTANCE_FILE, SCALE_FILE, load_scale_files
from stacks.usecase_files import load_usecase_files
from tests.stacks.test_docs import commands_of
from tools import accept_quantized

USECASE = "customer-retention"
MODEL = "Qwen/Qwen2.5-7B-Instruct-AWQ"
HOSTED = {"model_id": MODEL, "quantization": "awq", "instance_type": "ml.g5.2xlarge", "acceptance_margin": 0.05}
# usecase.yaml of customer-retention: evaluation bleu_min 20, rouge_l_min 0.35, wer_max 0.6.
THRESHOLDS = {"BLEU": 20.0, "ROUGEL": 0.35, "WER": 0.6}
FULL = {"BLEU": 40.0, "ROUGE1": 0.6, "ROUGE2": 0.4, "ROUGEL": 0.5, "WER": 0.4}
# Each metric exactly 5% of FULL worse, by hand: 40 x 0.95, 0.6 x 0.95, 0.4 x 0.95, 0.5 x 0.95, 0.4 x 1.05.
AT_MARGIN = {"BLEU": 38.0, "ROUGE1": 0.57, "ROUGE2": 0.38, "ROUGEL": 0.475, "WER": 0.42}
LABELS = {"F1": 0.8, "ExactMatch": 0.75}
LABELS_AT_MARGIN = {"F1": 0.76, "ExactMatch": 0.7125}  # 0.8 x 0.95, 0.75 x 0.95


def usecase_root(tmp: Path, hosted: dict[str, Any] | None = HOSTED) -> Path:
    """A copy of the shipped use case whose scale.yaml's hosted_model section is ``hosted`` (None: none)."""
    root = tmp / "usecases"
    shutil.copytree(USECASES_DIR / USECASE, root / USECASE)
    path = root / USECASE / SCALE_FILE
    data = {k: v for k, v in yaml.safe_load(path.read_text()).items() if k != "hosted_model"}
    path.write_text(yaml.safe_dump({**data, **({"hosted_model": hosted} if hosted else {})}, sort_keys=False))
    return root


def report_of(
    run_id: str,
    answer: dict[str, float],
    classify: dict[str, float] = LABELS,
    *,
    p90: float = 900.0,
    usecase: str = USECASE,
    errors: dict[str, int] | None = None,
) -> dict[str, Any]:
    """A report.json as the scheduled evaluation writes it (only the keys the tool reads are varied)."""

    def task(kind: str, metrics: dict[str, float]) -> dict[str, Any]:
        return {
            "kind": kind,
            "cases": 10,
            "passed": True,
            "reasons": [],
            "metrics": metrics,
            "perplexity": None,
            "latency_ms": {"p50": p90 / 2, "p90": p90},
            "tokens": {"input": 1000, "output": 500},
            "blocked": {},
            "errors": errors or {},
            "thresholds_checked": [],
            "not_available": ["Perplexity"],
            "baseline": None,
        }

    return {
        "usecase": usecase,
        "run_id": run_id,
        "finished_at": "2026-12-01T06:00:00+00:00",
        "passed": True,
        "reasons": [],
        "baseline_run": None,
        "tasks": {"answer": task("text", answer), "classify": task("label", classify)},
        "bedrock_evaluation": None,
    }


def write(tmp: Path, name: str, document: dict[str, Any]) -> Path:
    path = tmp / name
    path.write_text(json.dumps(document))
    return path


def run(tmp: Path, root: Path, candidate: dict[str, Any], full: dict[str, Any] | None = None) -> int:
    return accept_quantized.main(
        [
            "--usecase",
            USECASE,
            "--candidate",
            str(write(tmp, "candidate.json", candidate)),
            "--full-precision",
            str(write(tmp, "full.json", full or report_of("fp-1", FULL))),
        ],
        root=root,
    )


def record_path(root: Path) -> Path:
    return root / USECASE / ACCEPTANCE_FILE


# ------------------------------------------------------------------ the decision


def test_a_model_exactly_at_the_margin_is_accepted_and_recorded(tmp_path, capsys):
    root = usecase_root(tmp_path)
    # Slower than full precision: latency never counts against a quantized model.
    assert run(tmp_path, root, report_of("q-1", AT_MARGIN, LABELS_AT_MARGIN, p90=5000.0)) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == f"accepted: {MODEL} (awq), run q-1 against full-precision run fp-1, margin 5.00%"
    document = json.loads(record_path(root).read_text())
    deltas = {
        task: {d["metric"]: (d["candidate"], d["baseline"]) for d in e["deltas"]}
        for task, e in document["tasks"].items()
    }
    assert deltas == {
        "answer": {m: (AT_MARGIN[m], FULL[m]) for m in FULL},
        "classify": {m: (LABELS_AT_MARGIN[m], LABELS[m]) for m in LABELS},
    }
    assert {k: v for k, v in document.items() if k != "tasks"} == {
        "usecase": USECASE,
        "model_id": MODEL,
        "quantization": "awq",
        "instance_type": "ml.g5.2xlarge",
        "margin": 0.05,
        "thresholds": THRESHOLDS,
        "candidate_run": {"run_id": "q-1", "finished_at": "2026-12-01T06:00:00+00:00"},
        "full_precision_run": {"run_id": "fp-1", "finished_at": "2026-12-01T06:00:00+00:00"},
    }
    assert document["tasks"]["answer"]["kind"] == "text"
    assert document["tasks"]["classify"]["kind"] == "label"
    assert all(e["accepted"] and e["reasons"] == [] for e in document["tasks"].values())
    assert all(d["margin"] == 0.05 and d["within"] for e in document["tasks"].values() for d in e["deltas"])


@pytest.mark.parametrize(
    ("answer", "classify", "reason"),
    [
        (
            {**AT_MARGIN, "BLEU": 37.99},
            LABELS,
            "answer: BLEU 37.99 is not within 5.00% of the full-precision 40 (worst allowed 38)",
        ),
        (
            {**AT_MARGIN, "WER": 0.4201},
            LABELS,
            "answer: WER 0.4201 is not within 5.00% of the full-precision 0.4 (worst allowed 0.42)",
        ),
        (
            AT_MARGIN,
            {**LABELS_AT_MARGIN, "F1": 0.7599},
            "classify: F1 0.7599 is not within 5.00% of the full-precision 0.8 (worst allowed 0.76)",
        ),
    ],
    ids=["BLEU", "WER", "F1"],
)
def test_a_metric_just_past_the_margin_is_refused_with_its_reason(tmp_path, capsys, answer, classify, reason):
    root = usecase_root(tmp_path)
    assert run(tmp_path, root, report_of("q-1", answer, classify)) == 1
    assert capsys.readouterr().out.splitlines() == [
        f"refused: {MODEL} (awq), run q-1 against full-precision run fp-1, margin 5.00%",
        f"- {reason}",
    ]
    assert not record_path(root).exists()


def test_a_model_within_the_margin_but_under_a_threshold_is_refused(tmp_path, capsys):
    root = usecase_root(tmp_path)
    full = report_of("fp-1", {**FULL, "BLEU": 20.5})
    # 19.9 is within 5% of 20.5 (worst allowed 19.475) but under usecase.yaml's bleu_min 20.
    assert run(tmp_path, root, report_of("q-1", {**FULL, "BLEU": 19.9}), full) == 1
    assert capsys.readouterr().out.splitlines()[1:] == ["- answer: BLEU 19.9 is past its minimum 20"]
    assert not record_path(root).exists()


def test_every_reason_is_printed_and_unlike_runs_or_failed_cases_refuse(tmp_path, capsys):
    root = usecase_root(tmp_path)
    candidate = report_of("q-1", {**FULL, "BLEU": 19.0, "WER": 0.7}, errors={"MODEL_TIMEOUT": 2})
    del candidate["tasks"]["classify"]
    assert run(tmp_path, root, candidate) == 1
    assert capsys.readouterr().out.splitlines()[1:] == [
        "- answer: 2 of 10 cases failed in the candidate run's pipeline",
        "- answer: BLEU 19 is past its minimum 20",
        "- answer: WER 0.7 is past its maximum 0.6",
        "- answer: BLEU 19 is not within 5.00% of the full-precision 40 (worst allowed 38)",
        "- answer: WER 0.7 is not within 5.00% of the full-precision 0.4 (worst allowed 0.42)",
        "- classify: not in the candidate run (both runs must score the same golden set)",
    ]


def test_the_report_the_scheduled_evaluation_writes_is_read(tmp_path):
    """The real writer (lambdas/evaluation/assessment.py `report`), not only hand-made reports."""

    def written(run_id: str, quality: dict[str, float]) -> dict[str, Any]:
        scores = scoring.Scores("text", 3, quality, 400.0, 800.0, 90, 60, None)
        verdict = gate.gate(scores.values(), {})
        task = TaskResult("answer", scores, verdict, blocked={}, errors={}, baseline=None)
        at = datetime(2026, 12, 1, 6, tzinfo=UTC)
        return json.loads(json.dumps(report(RunResult(USECASE, run_id, at, (task,), baseline_run=None))))

    root = usecase_root(tmp_path)
    assert run(tmp_path, root, written("q-1", AT_MARGIN), written("fp-1", FULL)) == 0
    document = json.loads(record_path(root).read_text())
    assert document["candidate_run"] == {"run_id": "q-1", "finished_at": "2026-12-01T06:00:00+00:00"}
    assert [d["metric"] for d in document["tasks"]["answer"]["deltas"]] == list(FULL)


# ------------------------------------------------------------------ bad input


def _bad_files(tmp: Path) -> dict[str, tuple[Path, str]]:
    no_tasks = report_of("q-1", FULL)
    del no_tasks["tasks"]
    bad_kind = report_of("q-1", FULL)
    bad_kind["tasks"]["answer"]["kind"] = "poem"
    (tmp / "not-json.json").write_text("{not json")
    return {
        "missing": (tmp / "absent.json", f"{tmp / 'absent.json'}: cannot read: No such file or directory"),
        "not json": (tmp / "not-json.json", f"{tmp / 'not-json.json'}: (file): Invalid JSON"),
        "no tasks": (write(tmp, "no-tasks.json", no_tasks), f"{tmp / 'no-tasks.json'}: tasks: Field required"),
        "bad kind": (write(tmp, "kind.json", bad_kind), f"{tmp / 'kind.json'}: tasks.answer.kind: Input should be"),
        "other use case": (
            write(tmp, "other.json", report_of("q-1", FULL, usecase="it-helpdesk")),
            f"{tmp / 'other.json'}: usecase: the report is of 'it-helpdesk', not 'customer-retention'",
        ),
    }


@pytest.mark.parametrize("case", ["missing", "not json", "no tasks", "bad kind", "other use case"])
def test_a_bad_report_is_bad_input_and_writes_nothing(tmp_path, capsys, case):
    root = usecase_root(tmp_path)
    path, message = _bad_files(tmp_path)[case]
    full = write(tmp_path, "full.json", report_of("fp-1", FULL))
    argv = ["--usecase", USECASE, "--candidate", str(path), "--full-precision", str(full)]
    assert accept_quantized.main(argv, root=root) == 2
    assert capsys.readouterr().err.startswith(f"accept_quantized: {message}")
    assert not record_path(root).exists()


@pytest.mark.parametrize(
    ("hosted", "message"),
    [
        (None, f"usecases/{USECASE}/scale.yaml: hosted_model: required by tools.accept_quantized"),
        (
            {**HOSTED, "quantization": "none"},
            f"usecases/{USECASE}/scale.yaml: hosted_model.quantization: none (full precision needs no acceptance)",
        ),
    ],
    ids=["no hosted_model", "full precision"],
)
def test_scale_yaml_without_a_quantized_model_is_bad_input(tmp_path, capsys, hosted, message):
    root = usecase_root(tmp_path, hosted)
    assert run(tmp_path, root, report_of("q-1", AT_MARGIN)) == 2
    assert capsys.readouterr().err == f"accept_quantized: {message}\n"


# ------------------------------------------------------------------ the synth-time guard


def serving(tmp: Path, **changes: Any) -> Path:
    return usecase_root(tmp, {**HOSTED, "serve_direct": True, **changes})


def test_serving_a_quantized_model_without_a_record_stops_the_use_case_files(tmp_path):
    root = serving(tmp_path)
    expected = (
        f"usecases/{USECASE}/scale.yaml: hosted_model.serve_direct: the quantized model {MODEL} (awq) is not "
        f"accepted: no hosted-acceptance.json; run `python -m tools.accept_quantized --usecase {USECASE} "
        "--candidate <report.json> --full-precision <report.json>` and commit its record, or set serve_direct: false"
    )
    with pytest.raises(ConfigError) as raised:
        load_scale_files(USECASE, root)
    assert str(raised.value) == expected
    with pytest.raises(ConfigError) as raised:
        load_usecase_files(USECASE, root)  # what the stage loads before it builds any stack
    assert str(raised.value) == expected


@pytest.mark.parametrize(
    ("accepted", "described"),
    [
        ({"model_id": "Qwen/Qwen2.5-14B-Instruct-AWQ", "quantization": "awq"}, "Qwen/Qwen2.5-14B-Instruct-AWQ (awq)"),
        ({"model_id": MODEL, "quantization": "gptq"}, f"{MODEL} (gptq)"),
    ],
    ids=["other model", "other quantization"],
)
def test_a_record_of_another_model_does_not_accept_this_one(tmp_path, accepted, described):
    root = serving(tmp_path)
    record_path(root).write_text(json.dumps(accepted))
    with pytest.raises(ConfigError) as raised:
        load_scale_files(USECASE, root)
    assert str(raised.value).startswith(
        f"usecases/{USECASE}/scale.yaml: hosted_model.serve_direct: hosted-acceptance.json accepted {described}, "
        f"not the served {MODEL} (awq); run `python -m tools.accept_quantized"
    )


def test_an_unreadable_record_names_the_record(tmp_path):
    root = serving(tmp_path)
    record_path(root).write_text(json.dumps({"model_id": MODEL}))
    with pytest.raises(ConfigError) as raised:
        load_scale_files(USECASE, root)
    assert str(raised.value).startswith(f"usecases/{USECASE}/hosted-acceptance.json: quantization: Field required; ")


def test_the_record_the_tool_writes_lets_the_model_serve(tmp_path):
    root = serving(tmp_path)  # serve_direct already on: the tool must not need the record to make it
    assert run(tmp_path, root, report_of("q-1", AT_MARGIN, LABELS_AT_MARGIN)) == 0
    hosted = load_scale_files(USECASE, root).hosted_model
    assert hosted is not None
    assert hosted.serve_direct


@pytest.mark.parametrize(
    "changes", [{"quantization": "none"}, {"serve_direct": False}], ids=["full precision", "not served"]
)
def test_no_record_is_needed_for_full_precision_or_a_model_not_served(tmp_path, changes):
    hosted = load_scale_files(USECASE, serving(tmp_path, **changes)).hosted_model
    assert hosted is not None
    assert not record_path(tmp_path / "usecases").exists()


# ------------------------------------------------------------------ docs


def test_the_documented_command_is_the_tools_command_line():
    (words,) = [
        c.words
        for c in commands_of(Path(__file__).resolve().parents[2] / "docs" / "scale.md")
        if "tools.accept_quantized" in c.words
    ]
    assert words[:3] == ("python", "-m", "tools.accept_quantized")
    args = accept_quantized.parse_args(words[3:])
    assert args.usecase == USECASE
    assert args.candidate.name == args.full_precision.name == "report.json"
