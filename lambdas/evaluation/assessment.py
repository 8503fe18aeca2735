"""A run's assessment: each task scored (`common.evaluation.scoring`) and gated (`common.evaluation.gate`), the
run's verdict, its JSON and Markdown report, its CloudWatch metric data and its record as the last accepted run.

Pure: golden cases, predictions and the last accepted record in, plain data out (the handler does the I/O).

- Thresholds (usecase.yaml `evaluation`, by gate metric name) apply to every task that has the metric: BLEU,
  ROUGE and WER to text tasks, exact match and F1 to classify and extract tasks, latency to all.
- The regression check compares the quality metrics and perplexity with the last accepted run's, task by task,
  with the relative margin (usecase.yaml `evaluation.regression_margin`); latency is not compared (it varies
  with load far more than a margin of a few percent).
- A case the pipeline failed on (`Prediction.error`) fails the run: a verdict on part of the golden set would
  not be the same measurement as the last accepted one. A blocked case is scored as the empty answer it was.
- The run passes when every task passes; the metrics carry ``GatePassed`` 1 or 0 per task and for the run
  (Task ``overall_task``). Perplexity is published only when available.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from common.evaluation import gate, scoring
from common.evaluation.perplexity import describe as describe_perplexity

from evaluation.contract import GoldenCase
from evaluation.runner import Prediction

GATE_PASSED = "GatePassed"
PERPLEXITY = "Perplexity"


@dataclass(frozen=True)
class TaskResult:
    task: str
    scores: scoring.Scores
    verdict: gate.Verdict
    blocked: dict[str, int]  # cause -> cases
    errors: dict[str, int]  # ChatError code -> cases
    baseline: Mapping[str, float | None] | None

    @property
    def reasons(self) -> list[str]:
        reasons = [reason.message for reason in self.verdict.reasons]
        if self.errors:
            codes = ", ".join(f"{code} x{count}" for code, count in sorted(self.errors.items()))
            reasons.append(f"{sum(self.errors.values())} of {self.scores.count} cases failed in the pipeline ({codes})")
        return reasons

    @property
    def passed(self) -> bool:
        return not self.reasons

    def compared_values(self) -> dict[str, float | None]:
        """What the next run is compared with: the quality metrics and perplexity."""
        return {**self.scores.quality, PERPLEXITY: self.scores.perplexity}


@dataclass(frozen=True)
class RunResult:
    usecase: str
    run_id: str
    finished_at: datetime
    tasks: tuple[TaskResult, ...]
    baseline_run: str | None  # the last accepted run's id, None on a first run

    @property
    def passed(self) -> bool:
        return all(task.passed for task in self.tasks)

    @property
    def reasons(self) -> list[str]:
        return [f"{task.task}: {reason}" for task in self.tasks for reason in task.reasons]


def assess_task(
    task: str,
    cases: Sequence[GoldenCase],
    predictions: Sequence[Prediction],
    thresholds: Mapping[str, float],
    *,
    baseline: Mapping[str, float | None] | None,
    margin: float,
) -> TaskResult:
    by_id = {p.id: p for p in predictions}
    missing = [case.id for case in cases if case.id not in by_id]
    if missing:
        raise ValueError(f"{task}: no prediction for {len(missing)} golden case(s): {', '.join(missing[:3])}")
    rows = [by_id[case.id] for case in cases]
    scores = scoring.score(
        scoring.task_kind(task),
        [
            scoring.Scored(p.output, case.reference, p.latency_ms, p.input_tokens, p.output_tokens, p.logprobs)
            for p, case in zip(rows, cases, strict=True)
        ],
    )
    values = scores.values()
    applicable = {metric: limit for metric, limit in thresholds.items() if metric in values}
    # The baseline holds quality metrics and perplexity only, so latency is never compared with it.
    verdict = gate.gate(values, applicable, baseline=baseline, margin=margin)
    return TaskResult(
        task=task,
        scores=scores,
        verdict=verdict,
        blocked=dict(Counter(p.blocked for p in rows if p.blocked is not None)),
        errors=dict(Counter(p.error for p in rows if p.error is not None)),
        baseline=baseline,
    )


def baselines(accepted: Mapping[str, Any] | None) -> dict[str, dict[str, float | None]]:
    """Task -> compared values of the last accepted run (empty without one)."""
    if not accepted:
        return {}
    return {task: dict(entry["metrics"]) for task, entry in accepted.get("tasks", {}).items()}


def accepted_record(run: RunResult) -> dict[str, Any]:
    """What `accepted.json` holds once ``run`` passed: its id, time and compared values per task."""
    return {
        "usecase": run.usecase,
        "run_id": run.run_id,
        "accepted_at": run.finished_at.isoformat(timespec="seconds"),
        "tasks": {task.task: {"metrics": task.compared_values()} for task in run.tasks},
    }


# ------------------------------------------------------------------ report


def report(run: RunResult, *, judge: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The run's JSON report."""
    return {
        "usecase": run.usecase,
        "run_id": run.run_id,
        "finished_at": run.finished_at.isoformat(timespec="seconds"),
        "passed": run.passed,
        "reasons": run.reasons,
        "baseline_run": run.baseline_run,
        "tasks": {
            task.task: {
                "kind": task.scores.kind,
                "cases": task.scores.count,
                "passed": task.passed,
                "reasons": task.reasons,
                "metrics": task.scores.quality,
                "perplexity": task.scores.perplexity,
                "latency_ms": {"p50": task.scores.latency_p50_ms, "p90": task.scores.latency_p90_ms},
                "tokens": {"input": task.scores.input_tokens, "output": task.scores.output_tokens},
                "blocked": task.blocked,
                "errors": task.errors,
                "thresholds_checked": list(task.verdict.checked),
                "not_available": list(task.verdict.not_available),
                "baseline": dict(task.baseline) if task.baseline else None,
            }
            for task in run.tasks
        },
        "bedrock_evaluation": dict(judge) if judge else None,
    }


def _number(metric: str, value: float) -> str:
    return f"{value:.2f}" if metric == "BLEU" else f"{value:.3f}"


def render_markdown(document: Mapping[str, Any]) -> str:
    """The JSON report as a page a reviewer reads (GitHub-flavoured Markdown)."""
    verdict = "PASSED" if document["passed"] else "FAILED"
    lines = [
        f"# Quality evaluation: {document['usecase']}, run {document['run_id']}",
        "",
        f"**Gate: {verdict}** (finished {document['finished_at']}; "
        f"compared with {document['baseline_run'] or 'no accepted run yet'})",
        "",
    ]
    if document["reasons"]:
        lines += ["Reasons:", "", *(f"- {reason}" for reason in document["reasons"]), ""]
    for task, entry in document["tasks"].items():
        lines += [f"## {task} ({entry['kind']} task, {entry['cases']} cases): {'pass' if entry['passed'] else 'FAIL'}"]
        lines += ["", "| metric | value | last accepted |", "|---|---|---|"]
        baseline = entry["baseline"] or {}
        for metric, value in entry["metrics"].items():
            before = baseline.get(metric)
            lines.append(
                f"| {metric} | {_number(metric, value)} | {_number(metric, before) if before is not None else '-'} |"
            )
        lines.append(f"| Perplexity | {describe_perplexity(entry['perplexity'])} | - |")
        latency, tokens = entry["latency_ms"], entry["tokens"]
        lines += [
            "",
            f"Latency p50 {latency['p50']:.0f} ms, p90 {latency['p90']:.0f} ms; tokens in {tokens['input']}, "
            f"out {tokens['output']}.",
        ]
        if entry["blocked"]:
            lines.append(f"Blocked: {', '.join(f'{k} x{v}' for k, v in sorted(entry['blocked'].items()))}.")
        if entry["not_available"]:
            lines.append(f"Not available (thresholds not applied): {', '.join(entry['not_available'])}.")
        lines.append("")
    judge = document.get("bedrock_evaluation")
    if judge:
        lines += ["## Bedrock evaluation job", "", f"- job: `{judge['job_arn']}`", f"- results: {judge['output']}", ""]
    return "\n".join(lines)


# ------------------------------------------------------------------ metrics


def metric_data(run: RunResult, *, overall_task: str) -> dict[str, dict[str, float]]:
    """Task -> metric name -> value: each task's quality metrics (and perplexity when available) and
    ``GatePassed`` per task, and ``GatePassed`` of the run under ``overall_task``."""
    data: dict[str, dict[str, float]] = {}
    for task in run.tasks:
        values = dict(task.scores.quality)
        if task.scores.perplexity is not None:
            values[PERPLEXITY] = task.scores.perplexity
        values[GATE_PASSED] = 1.0 if task.passed else 0.0
        data[task.task] = values
    data[overall_task] = {GATE_PASSED: 1.0 if run.passed else 0.0}
    return data
