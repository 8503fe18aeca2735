"""Redact step: find PII with Amazon Comprehend (one request per chunk) and apply the use case's policy."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError
from common.clients import client
from common.observability import powertools

from pipeline import keys, runtime
from pipeline.contract import PipelineSettings
from pipeline.errors import raise_if_throttled
from pipeline.models import Redacted, Validated
from pipeline.pii import Detect, Hasher, redact_records
from pipeline.storage import Storage

logger, tracer = powertools()


def comprehend_detector(comprehend: Any, language: str) -> Detect:
    """DetectPiiEntities for one chunk; throttling that outlasts the client's retries becomes `Throttled`."""

    def detect(text: str) -> Sequence[Mapping[str, Any]]:
        try:
            entities: Sequence[Mapping[str, Any]] = comprehend.detect_pii_entities(Text=text, LanguageCode=language)[
                "Entities"
            ]
        except ClientError as exc:
            raise_if_throttled(exc)
            raise
        return entities

    return detect


def process(
    item: Validated,
    *,
    settings: PipelineSettings,
    storage: Storage,
    detect: Detect,
    hasher: Hasher,
    quarantine_bucket: str,
) -> Redacted:
    if item.skipped or item.valid == 0 or item.source is None:
        return Redacted(**item.model_dump())
    source = settings.sources[item.source]
    staged = keys.staging_key(item.run.id, "valid", item.key)
    records = [(row["p"], row["r"]) for row in storage.read_jsonl(item.run.bucket, staged)]
    result = redact_records(records, source, settings.pii, detect, hasher)
    if result.rejects:
        storage.write_jsonl(
            quarantine_bucket,
            keys.rejects_key(item.key, "redact"),
            [{"position": p, "reason": reason, "record": record} for p, reason, record in result.rejects],
        )
    if result.records:
        storage.write_jsonl(
            item.run.bucket,
            keys.staging_key(item.run.id, "redacted", item.key),
            ({"p": p, "r": record} for p, record in result.records),
        )
    return Redacted(
        **item.model_dump(),
        redacted=len(result.records),
        redact_rejected=len(result.rejects),
        entities=dict(result.entities),
        records_with_pii=result.records_with_pii,
        requests=result.requests,
    )


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@event_parser(model=Validated)
def handler(event: Validated, context: LambdaContext) -> dict[str, Any]:
    settings = runtime.settings()
    redacted = process(
        event,
        settings=settings,
        storage=runtime.storage(),
        detect=comprehend_detector(client("comprehend"), settings.pii.language),
        hasher=Hasher(runtime.hash_salt()),
        quarantine_bucket=runtime.env("QUARANTINE_BUCKET"),
    )
    logger.info(
        "redacted",
        extra={
            "key": redacted.key,
            "records": redacted.redacted,
            "requests": redacted.requests,
            "pii": redacted.entities,
        },
    )
    return redacted.model_dump()
