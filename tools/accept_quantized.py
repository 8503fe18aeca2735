"""`python -m tools.accept_quantized`: accept a quantized hosted model on the golden set, or say why not.

    python -m tools.accept_quantized --usecase ID --candidate report.json --full-precision report.json

Both files are reports of the scheduled quality evaluation (``report.json`` under the run's prefix, written by
lambdas/evaluation/score.py): one run with the quantized model serving, one with the same model at full
precision, on the same golden set. Task by task, `scale.acceptance.accept_quantized` decides with the use case's
thresholds (usecase.yaml `evaluation`) and scale.yaml `hosted_model.acceptance_margin`; a task in only one run,
or with cases the pipeline failed on, refuses (neither is the same, full measurement). The runs' own verdicts
are not used: they compared each run with the last accepted one, not with each other.

Accepted, it writes usecases/<id>/hosted-acceptance.json: the model (scale.yaml `hosted_model`), both runs, the
thresholds, the margin and every metric compared. A reviewer commits it; synth refuses `serve_direct` of a
quantized model without it (stacks/scale/settings.py `require_acceptance`). Refused, nothing is written (an
earlier record is left as it is). Exit codes: 0 accepted; 1 refused; 2 bad input.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from stacks.config import USECASES_DIR, ConfigError, load_usecase
from stacks.scale.settings import ACCEPTANCE_FILE, SCALE_FILE, HostedModelSettings, load_scale_settings

# isort: split
from scale.acceptance import Decision, accept_quantized

NAME = "accept_quantized"
EXIT_ACCEPTED, EXIT_REFUSED, EXIT_INPUT = 0, 1, 2


class InputError(Exception):
    """A file the tool cannot use, one line."""


class _Report(BaseModel):
    """The part of a report.json the decision reads; other keys are ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class Latency(_Report):
    p50: float
    p90: float


class TaskEntry(_Report):
    kind: Literal["text", "label", "span"]
    cases: int
    metrics: dict[str, float]
    perplexity: float | None = None
    latency_ms: Latency
    errors: dict[str, int] = Field(default_factory=dict)

    def values(self) -> dict[str, float | None]:
        """Every gated metric by name, as `scoring.Scores.values` gives them to the scheduled gate."""
        return {
            **self.metrics,
            "Perplexity": self.perplexity,
            "LatencyP50": self.latency_ms.p50,
            "LatencyP90": self.latency_ms.p90,
        }


class Report(_Report):
    usecase: str
    run_id: str
    finished_at: str
    tasks: dict[str, TaskEntry] = Field(min_length=1)


def load_report(path: Path, usecase: str) -> Report:
    try:
        report = Report.model_validate_json(path.read_bytes())
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "(file)"
        raise InputError(f"{path}: {where}: {first['msg']} (not a quality evaluation report.json)") from None
    if report.usecase != usecase:
        raise InputError(f"{path}: usecase: the report is of {report.usecase!r}, not {usecase!r}")
    return report


def decide(
    candidate: Report, full_precision: Report, thresholds: Mapping[str, float], margin: float
) -> tuple[list[str], dict[str, Decision]]:
    """Every reason to refuse (task-prefixed) and each task's decision."""
    reasons: list[str] = []
    decisions: dict[str, Decision] = {}
    for task in [*candidate.tasks, *(t for t in full_precision.tasks if t not in candidate.tasks)]:
        mine, theirs = candidate.tasks.get(task), full_precision.tasks.get(task)
        if mine is None or theirs is None:
            absent = "candidate" if mine is None else "full-precision"
            reasons.append(f"{task}: not in the {absent} run (both runs must score the same golden set)")
            continue
        for label, entry in (("candidate", mine), ("full-precision", theirs)):
            if entry.errors:
                failed = sum(entry.errors.values())
                reasons.append(f"{task}: {failed} of {entry.cases} cases failed in the {label} run's pipeline")
        values = mine.values()
        applicable = {metric: limit for metric, limit in thresholds.items() if metric in values}
        decision = accept_quantized(values, theirs.values(), applicable, margin, mine.kind)
        decisions[task] = decision
        reasons += [f"{task}: {reason}" for reason in decision.reasons]
    return reasons, decisions


def record(
    usecase: str,
    hosted: HostedModelSettings,
    *,
    candidate: Report,
    full_precision: Report,
    thresholds: Mapping[str, float],
    decisions: Mapping[str, Decision],
) -> dict[str, Any]:
    """hosted-acceptance.json: what was accepted, on which runs, by which rule, with every metric compared."""
    return {
        "usecase": usecase,
        "model_id": hosted.model_id,
        "quantization": hosted.quantization,
        "instance_type": hosted.instance_type,
        "margin": hosted.acceptance_margin,
        "thresholds": dict(thresholds),
        "candidate_run": {"run_id": candidate.run_id, "finished_at": candidate.finished_at},
        "full_precision_run": {"run_id": full_precision.run_id, "finished_at": full_precision.finished_at},
        "tasks": {
            task: {"kind": candidate.tasks[task].kind, **decision.as_dict()} for task, decision in decisions.items()
        },
    }


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=f"python -m tools.{NAME}", description=__doc__.splitlines()[0])
    parser.add_argument("--usecase", required=True, help="use case id (usecases/<id>)")
    parser.add_argument("--candidate", type=Path, required=True, help="report.json of the quantized model's run")
    parser.add_argument("--full-precision", type=Path, required=True, help="report.json of the full-precision run")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None, *, root: Path = USECASES_DIR) -> int:
    args = parse_args(argv)
    try:
        thresholds = load_usecase(args.usecase, root).evaluation_for(f"tools.{NAME}").gate_thresholds()
        hosted = load_scale_settings(args.usecase, root).hosted_model
        if hosted is None:
            raise ConfigError(f"usecases/{args.usecase}/{SCALE_FILE}", "hosted_model", f"required by tools.{NAME}")
        if hosted.quantization == "none":
            raise InputError(
                f"usecases/{args.usecase}/{SCALE_FILE}: hosted_model.quantization: none (full precision needs no "
                "acceptance)"
            )
        candidate = load_report(args.candidate, args.usecase)
        full_precision = load_report(args.full_precision, args.usecase)
    except (ConfigError, InputError) as exc:
        for line in str(exc).splitlines():
            print(f"{NAME}: {line}", file=sys.stderr)
        return EXIT_INPUT
    reasons, decisions = decide(candidate, full_precision, thresholds, hosted.acceptance_margin)
    model = f"{hosted.model_id} ({hosted.quantization})"
    runs = f"run {candidate.run_id} against full-precision run {full_precision.run_id}"
    if reasons:
        print(f"refused: {model}, {runs}, margin {hosted.acceptance_margin:.2%}")
        for reason in reasons:
            print(f"- {reason}")
        return EXIT_REFUSED
    path = root / args.usecase / ACCEPTANCE_FILE
    document = record(
        args.usecase,
        hosted,
        candidate=candidate,
        full_precision=full_precision,
        thresholds=thresholds,
        decisions=decisions,
    )
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    print(f"accepted: {model}, {runs}, margin {hosted.acceptance_margin:.2%}")
    print(f"wrote {path}: commit it, then serve_direct: true may serve this model")
    return EXIT_ACCEPTED


if __name__ == "__main__":
    sys.exit(main())
