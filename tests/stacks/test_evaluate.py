"""`python -m tools.evaluate` (tools/evaluate.py): the README's command on small files, its printed numbers checked
against sacrebleu, rouge-score and jiwer called here directly; label tasks; the gate with a use case's
thresholds; bad input."""

from __future__ import annotations

import json
import re
import shlex
import statistics
from pathlib import Path

import jiwer
import pytest
import sacrebleu
from rouge_score import rouge_scorer

from stacks.config import REPO_ROOT as ROOT
from tools import evaluate

OUTPUTS = ["Up to three months once per year with no charge [1].", "At the start of the next billing cycle [1]."]
REFERENCES = [
    "Up to three months, once per year, with no charge during the pause [1].",
    "At the start of the next billing cycle: downgrades take effect then [1].",
]


def write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def files(tmp_path: Path, outputs=OUTPUTS, references=REFERENCES, name="answer") -> tuple[Path, Path]:
    golden = write(
        tmp_path / f"{name}.jsonl",
        [{"id": f"c{i}", "variables": {"question": "q"}, "reference": r} for i, r in enumerate(references)],
    )
    predictions = write(
        tmp_path / "p.jsonl",
        [
            {"id": f"c{i}", "output": o, "latency_ms": 100 * (i + 1), "input_tokens": 40, "output_tokens": 10}
            for i, o in enumerate(outputs)
        ],
    )
    return predictions, golden


def printed(capsys: pytest.CaptureFixture[str]) -> dict[str, str]:
    lines = capsys.readouterr().out.splitlines()[1:]
    return dict(re.split(r"\s{2,}", line.strip(), maxsplit=1) for line in lines if re.search(r"\s{2,}", line))


def readme_arguments() -> list[str]:
    """The README's `python -m tools.evaluate ...` command, as the tool's arguments."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    (command,) = set(re.findall(r"`(python -m tools\.evaluate [^`]+)`", text))
    words = shlex.split(command)
    assert words[:3] == ["python", "-m", "tools.evaluate"]
    return words[3:]


def test_the_readme_command_prints_the_reference_libraries_numbers(tmp_path, capsys, monkeypatch):
    _, golden = files(tmp_path)
    arguments = readme_arguments()
    assert arguments == ["--predictions", "p.jsonl", "--references", "g.jsonl"]
    golden = golden.rename(tmp_path / "g.jsonl")
    monkeypatch.chdir(tmp_path)
    assert evaluate.main(arguments) == 0
    table = printed(capsys)
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
    each = [scorer.score(r, o) for o, r in zip(OUTPUTS, REFERENCES, strict=True)]
    assert table["BLEU"] == f"{sacrebleu.corpus_bleu(OUTPUTS, [REFERENCES]).score:.2f}"
    assert table["ROUGE1"] == f"{statistics.fmean(s['rouge1'].fmeasure for s in each):.3f}"
    assert table["ROUGE2"] == f"{statistics.fmean(s['rouge2'].fmeasure for s in each):.3f}"
    assert table["ROUGEL"] == f"{statistics.fmean(s['rougeL'].fmeasure for s in each):.3f}"
    assert table["WER"] == f"{jiwer.wer(REFERENCES, OUTPUTS):.3f}"
    assert table["Perplexity"] == "unavailable"
    assert (table["Latency p50 ms"], table["Latency p90 ms"]) == ("150", "190")
    assert (table["Input tokens"], table["Output tokens"], table["Cost"]) == ("80", "20", "unknown")


def test_a_classify_file_is_a_label_task_with_a_cost_at_the_models_price(tmp_path, capsys):
    predictions, golden = files(tmp_path, ["Billing.", "outage"], ["billing", "billing"], name="classify")
    model = "amazon.nova-micro-v1:0"  # 0.035 / 0.14 USD per 1M tokens
    assert evaluate.main(["--predictions", str(predictions), "--references", str(golden), "--model", model]) == 0
    table = printed(capsys)
    assert (table["F1"], table["ExactMatch"]) == ("0.667", "0.500")  # billing: 1 hit, 1 miss
    assert table["Cost"] == f"${80 / 1e6 * 0.035 + 20 / 1e6 * 0.14:.6f}"
    assert "BLEU" not in table


def test_the_use_cases_thresholds_gate_the_run(tmp_path, capsys):
    predictions, golden = files(tmp_path, ["Nothing at all.", "No."])
    arguments = ["--predictions", str(predictions), "--references", str(golden), "--usecase", "customer-retention"]
    assert evaluate.main(arguments) == 1
    out = capsys.readouterr().out
    assert "gate (customer-retention): FAILED" in out
    assert "- ROUGEL 0 is past its minimum 0.35" in out
    assert "- WER 1 is past its maximum 0.6" in out
    predictions, golden = files(tmp_path, REFERENCES)  # the references themselves
    assert evaluate.main(["--predictions", str(predictions), "--references", str(golden), "--usecase",
                          "customer-retention"]) == 0  # fmt: skip
    assert "gate (customer-retention): PASSED" in capsys.readouterr().out


def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys):
    predictions, golden = files(tmp_path)
    write(predictions, [{"id": "c0", "output": "x", "latency_ms": 1, "input_tokens": 1, "output_tokens": 1}])
    assert evaluate.main(["--predictions", str(predictions), "--references", str(golden)]) == 2
    assert "no prediction for 1 golden case(s): c1" in capsys.readouterr().err
