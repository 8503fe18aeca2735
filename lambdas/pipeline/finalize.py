"""Finalize step: prove conservation, write the run report (JSON + Markdown), emit the run's metrics.

Fails with `ConservationError` (after writing the report and metrics) when the counts do not add up.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Metrics, single_metric
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext
from common.observability import powertools, powertools_metrics

from pipeline import keys, runtime
from pipeline.ledger import Ledger
from pipeline.models import FinalizeRequest
from pipeline.profiling import status_code
from pipeline.report import ConservationError, conservation, ingestion, quarantine_rate, render_markdown
from pipeline.storage import Storage

logger, tracer = powertools()
metrics = powertools_metrics()
PSI_METRIC = "PopulationStabilityIndex"


def build_report(request: FinalizeRequest, counts: dict[str, int], now: datetime) -> dict[str, Any]:
    balance = conservation(counts, published=request.published)
    return {
        "dataset": request.run.dataset,
        "run_id": request.run.id,
        "started_at": request.run.started_at,
        "finished_at": now.isoformat(timespec="seconds"),
        "published": request.published,
        "conservation": balance,
        "ingestion": ingestion(counts),
        "quarantine_rate": quarantine_rate(balance),
        "profile": request.assessment,
    }


def emit_metrics(report: dict[str, Any], sink: Metrics) -> None:
    balance = report["conservation"]
    sink.add_metric(name="RecordsIn", unit=MetricUnit.Count, value=balance["records_in"])
    sink.add_metric(name="RecordsCurated", unit=MetricUnit.Count, value=balance["curated"])
    sink.add_metric(name="RecordsQuarantined", unit=MetricUnit.Count, value=balance["quarantined"])
    sink.add_metric(name="RecordsHeld", unit=MetricUnit.Count, value=balance["held"])
    sink.add_metric(name="QuarantineRate", unit=MetricUnit.Percent, value=100 * report["quarantine_rate"])
    sink.add_metric(name="BiasStatus", unit=MetricUnit.Count, value=status_code(report["profile"]["status"]))
    sink.add_metric(name="ConservationViolated", unit=MetricUnit.Count, value=0 if balance["holds"] else 1)
    for kind, count in report["profile"]["pii"]["entities"].items():
        with single_metric(name="PiiEntities", unit=MetricUnit.Count, value=count, namespace=sink.namespace) as one:
            one.add_dimension(name="EntityType", value=kind)
    # The population stability index of each profiled group against its reference (the Observability dashboard's
    # Data section); a group without a defined PSI (no records) publishes none.
    for group, figures in report["profile"].get("groups", {}).items():
        psi = figures.get("psi", {}).get("value")
        if psi is None:
            continue
        with single_metric(name=PSI_METRIC, unit=MetricUnit.NoUnit, value=psi, namespace=sink.namespace) as one:
            one.add_dimension(name="Group", value=group)


def process(
    request: FinalizeRequest,
    *,
    ledger: Ledger,
    storage: Storage,
    reports_bucket: str,
    curated_bucket: str,
    usecase: str,
    sink: Metrics,
) -> dict[str, Any]:
    report = build_report(request, ledger.counts(request.run.id), datetime.now(UTC))
    json_key = keys.report_key(request.run.dataset, request.run.id, "json")
    markdown_key = keys.report_key(request.run.dataset, request.run.id, "md")
    storage.write_json(reports_bucket, json_key, report)
    storage.write(reports_bucket, markdown_key, render_markdown(report).encode(), "text/markdown")
    emit_metrics(report, sink)
    balance = report["conservation"]
    if not balance["holds"]:
        failed = [name for name, ok in balance["checks"].items() if not ok]
        raise ConservationError(f"run {request.run.id}: {'; '.join(failed)} (report: s3://{reports_bucket}/{json_key})")
    return {
        "summary": {
            "usecase": usecase,
            "dataset": request.run.dataset,
            "run_id": request.run.id,
            "bias_status": report["profile"]["status"],
            "published": request.published,
            "rows_in": balance["rows_in"],
            "records_in": balance["records_in"],
            "records_skipped_blank": balance["skipped_blank"],
            "records_curated": balance["curated"],
            "records_quarantined": balance["quarantined"],
            "curated": {
                "bucket": curated_bucket,
                "records_prefix": keys.records_prefix(request.run.dataset),
                "documents_prefix": keys.documents_prefix(request.run.dataset),
            },
            "report": {"bucket": reports_bucket, "json": json_key, "markdown": markdown_key},
        }
    }


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=FinalizeRequest)
def handler(event: FinalizeRequest, context: LambdaContext) -> dict[str, Any]:
    return process(
        event,
        ledger=runtime.ledger(),
        storage=runtime.storage(),
        reports_bucket=runtime.env("REPORTS_BUCKET"),
        curated_bucket=runtime.env("CURATED_BUCKET"),
        usecase=runtime.env("USECASE_ID"),
        sink=metrics,
    )
