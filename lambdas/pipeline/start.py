"""Start step: turn the `_READY` marker's S3 event into the run's identity and open its ledger entry."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext
from common.observability import powertools

from pipeline import keys, runtime
from pipeline.models import Run, StartRequest

logger, tracer = powertools()


def start_run(bucket: str, marker_key: str, execution_name: str, now: datetime) -> Run:
    dataset = keys.dataset_of_marker(marker_key)
    return Run(
        id=execution_name,
        dataset=dataset,
        bucket=bucket,
        prefix=keys.dataset_prefix(dataset),
        valid_prefix=keys.staging_prefix(execution_name, "valid"),
        redacted_prefix=keys.staging_prefix(execution_name, "redacted"),
        started_at=now.isoformat(timespec="seconds"),
    )


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@event_parser(model=StartRequest)
def handler(event: StartRequest, context: LambdaContext) -> dict[str, Any]:
    detail = event.event.detail
    run = start_run(detail.bucket.name, detail.object.key, event.execution, datetime.now(UTC))
    runtime.ledger().start_run(run.id, {"dataset": run.dataset, "started_at": run.started_at})
    logger.info("run started", extra={"run_id": run.id, "dataset": run.dataset})
    return {"run": run.model_dump()}
