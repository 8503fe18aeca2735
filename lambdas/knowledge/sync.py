"""Knowledge-base sync handler: SQS batch in, ingestion jobs started and followed.

Thin on purpose: Powertools parses each record (`SyncRecord`), reports per-record failures to SQS
(`process_partial_response`), logs, traces and publishes EMF metrics; `knowledge.ingestion` decides.
Its settings are `knowledge.contract.SyncSettings`, which the Knowledge stack writes into ``SYNC_SETTINGS``.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel, SqsRecordModel
from aws_lambda_powertools.utilities.typing import LambdaContext
from common.clients import client
from common.observability import powertools, powertools_metrics
from pydantic import Json

from knowledge.contract import SyncSettings
from knowledge.ingestion import SECONDS, PollRequest, RequestExpiredError, StartRequest, handle, start_request

logger, tracer = powertools()
metrics = powertools_metrics()


class SyncRecord(SqsRecordModel):
    """An SQS record holding an EventBridge event (DatasetPublished, schedule) or a re-queued request.

    Pydantic picks the one member that validates: events lack ``action``, requests forbid extra fields.
    """

    body: Json[EventBridgeModel | StartRequest | PollRequest]


# A batch where every record failed is still reported per record, not as a function error:
# SQS redelivers exactly those, and the SyncErrors alarm stays for real crashes.
processor = BatchProcessor(event_type=EventType.SQS, model=SyncRecord, raise_on_entire_batch_failure=False)


def process(record: SyncRecord, config: SyncSettings) -> None:
    """Handle one request; raising marks only this record failed, so SQS redelivers it."""
    body = record.body
    if isinstance(body, EventBridgeModel):
        logger.info("sync requested", extra={"event_id": body.id, "source": body.source, "detail": body.detail})
        message: StartRequest | PollRequest = start_request(
            event_id=body.id, detail_type=body.detail_type, time=body.time
        )
    else:
        message = body
    try:
        outcome = handle(
            message, agent=client("bedrock-agent"), target=config.target, timing=config.timing, now=datetime.now(UTC)
        )
    except RequestExpiredError as expired:
        logger.error("sync request expired; it will move to the dead-letter queue", extra={"reason": str(expired)})
        raise
    context = {"action": message.action, "trigger_id": message.trigger_id, "attempt": message.attempt}
    if outcome.job_status == "FAILED":
        logger.error(outcome.summary, extra={**context, "failure_reasons": list(outcome.failure_reasons)})
    else:
        logger.info(outcome.summary, extra=context)
    if outcome.follow_up is not None:
        client("sqs").send_message(
            QueueUrl=config.queue_url,
            MessageBody=outcome.follow_up.message.model_dump_json(),
            DelaySeconds=outcome.follow_up.delay_seconds,
        )
    for name, value in outcome.metrics.items():
        metrics.add_metric(name=name, unit=MetricUnit.Seconds if name in SECONDS else MetricUnit.Count, value=value)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    config = SyncSettings.from_environment(os.environ)
    # Published per knowledge base, the dimension the stack's alarms and VectorKnowledgeBase.metric_* use.
    metrics.add_dimensions(KnowledgeBaseId=config.target.knowledge_base_id)
    return process_partial_response(
        event=event,
        record_handler=lambda record: process(record, config),
        processor=processor,
        context=context,
    )
