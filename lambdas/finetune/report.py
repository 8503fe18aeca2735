"""Step 7: every run ends in a report, ``<reports_prefix><run>/report.json`` and ``report.md``, never silently.

The workflow calls this on every ending: ``promoted`` (approved and promotion created), ``not_promoted`` (the
gate said no), ``rejected`` (a reviewer said no) and ``failed`` (any step's error, caught with the state it
had, and the name of the step that failed). The report carries what the state holds: the dataset's counts,
the job, the evaluation and the gate's reasons, the error with its cause. A failed run still fails its
execution after the report is written (a Fail state follows), so the failure shows in Step Functions too.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from common.clients import client
from common.observability import powertools

from finetune.contract import FinetuneSettings, settings_from_deployment

logger, tracer = powertools()

OUTCOMES = ("promoted", "not_promoted", "rejected", "failed")


def cause_text(error: dict[str, Any] | None) -> str:
    """A Lambda error's message (its Cause is JSON with ``errorMessage``), else the Cause as given."""
    if not error:
        return ""
    cause = str(error.get("Cause", ""))
    try:
        parsed = json.loads(cause)
    except ValueError:
        return cause
    return str(parsed.get("errorMessage", cause)) if isinstance(parsed, dict) else cause


def build_report(event: dict[str, Any]) -> dict[str, Any]:
    """The report of one run from the workflow's state (see the module docstring)."""
    outcome = str(event.get("outcome", "failed"))
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown outcome {outcome!r}; known: {', '.join(OUTCOMES)}")
    state = event.get("state", {}) or {}
    error = state.get("error")
    dataset = state.get("dataset", {}) or {}
    return {
        "execution": event.get("execution"),
        "outcome": outcome,
        "failed_step": state.get("failed_step") if outcome in {"failed", "rejected"} else None,
        "error": {"error": error.get("Error"), "cause": cause_text(error)} if error else None,
        "run": dataset.get("run"),
        "dataset": dataset.get("counts"),
        "job": state.get("job"),
        "evaluation": state.get("evaluation"),
        "gate": state.get("gate"),
        "promotion": state.get("promotion"),
    }


def markdown(report: dict[str, Any]) -> str:
    lines = [f"# Fine-tuning run {report['run'] or report['execution']}: {report['outcome']}", ""]
    if report["error"]:
        lines += [
            f"**Failed at:** {report['failed_step'] or 'unknown step'}",
            f"**Error:** `{report['error']['error']}`",
            f"**Cause:** {report['error']['cause']}",
            "",
        ]
    if report["dataset"]:
        counts = report["dataset"]
        rejected = ", ".join(f"{k} {v}" for k, v in counts.get("rejected", {}).items())
        lines += [
            "## Dataset",
            f"{counts.get('valid')} valid of {counts.get('read')} read from {counts.get('sources')} files; "
            f"rejected: {rejected}",
            "",
        ]
    if report["evaluation"]:
        evaluation = report["evaluation"]
        custom, base = evaluation["custom"]["values"], evaluation["base"]["values"]
        lines += ["## Golden set", "", "| metric | custom | base |", "|---|---|---|"]
        lines += [f"| {m} | {_number(custom.get(m))} | {_number(base.get(m))} |" for m in custom]
        lines.append("")
    if report["gate"]:
        gate = report["gate"]
        lines += ["## Gate", f"accepted: {gate.get('accepted')}"]
        lines += [f"- {reason}" for reason in gate.get("reasons", [])]
        lines.append("")
    return "\n".join(lines)


def _number(value: Any) -> str:
    return "unavailable" if value is None else f"{float(value):.4g}"


def write_report(event: dict[str, Any], *, settings: FinetuneSettings, s3: Any) -> dict[str, Any]:
    report = build_report(event)
    folder = f"{settings.reports_prefix}{report['run'] or event.get('execution', 'unknown')}/"
    s3.put_object(
        Bucket=settings.work_bucket,
        Key=f"{folder}report.json",
        Body=(json.dumps(report, indent=2, sort_keys=True, default=str) + "\n").encode(),
        ContentType="application/json",
    )
    s3.put_object(
        Bucket=settings.work_bucket,
        Key=f"{folder}report.md",
        Body=markdown(report).encode(),
        ContentType="text/markdown",
    )
    return {"outcome": report["outcome"], "report": f"s3://{settings.work_bucket}/{folder}report.md"}


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = write_report(event, settings=settings_from_deployment(), s3=client("s3"))
    logger.info("fine-tuning report", extra=result)
    return result
