"""Start step: turn the `_READY` marker's S3 event into the run's identity and open its ledger entry."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import S3EventNotificationEventBridgeModel
from aws_lambda_powertools.utilities.typing import LambdaContext
from common.observability import powertools

from pipeline import keys, runtime
from pipeline.models import Run

logger, tracer, metrics = powertools()


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
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    s3_event = parse(event=event["event"], model=S3EventNotificationEventBridgeModel)
    run = start_run(s3_event.detail.bucket.name, s3_event.detail.object.key, event["execution"], datetime.now(UTC))
    runtime.ledger().start_run(run.id, {"dataset": run.dataset, "started_at": run.started_at})
    logger.info("run started", extra={"run_id": run.id, "dataset": run.dataset})
    return {"run": run.model_dump()}
