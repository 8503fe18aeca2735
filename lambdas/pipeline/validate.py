"""Validate step: read one raw object, check format, encoding, schema, size and duplicates.

Valid records go to the run's staging area, rejected ones to quarantine with a reason each; an object
that cannot be read as records at all is copied to quarantine whole with its reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext
from common.observability import powertools

from pipeline import keys, runtime
from pipeline.contract import PipelineSettings, SourceSpec
from pipeline.ledger import Claims
from pipeline.models import Item, Validated
from pipeline.storage import Storage
from pipeline.validation import ObjectRejected, Reject, Valid, ValidationResult, decode, validate_object

logger, tracer = powertools()
CROSS_OBJECT_DUPLICATE = "duplicate of a record in another object of the dataset"


def count_missing(valid: Sequence[Valid], source: SourceSpec) -> dict[str, int]:
    missing: dict[str, int] = {}
    for spec in source.fields:
        if not spec.required:
            count = sum(1 for v in valid if v.record.get(spec.name) is None)
            if count:
                missing[spec.name] = count
    return missing


def source_for(item: Item, settings: PipelineSettings) -> SourceSpec:
    """The schema for the object, or `ObjectRejected` when its place or extension says it has none."""
    raw = keys.parse_raw_key(item.key)
    if raw.dataset != item.run.dataset:
        raise ObjectRejected(f"object is outside dataset '{item.run.dataset}'")
    if raw.source is None:
        raise ObjectRejected("object is not inside a source folder datasets/<dataset>/<source>/")
    source = settings.sources.get(raw.source)
    if source is None:
        raise ObjectRejected(f"unknown source '{raw.source}' (known: {', '.join(sorted(settings.sources))})")
    if raw.format is None:
        raise ObjectRejected(
            f"unknown format '{raw.extension or '(no extension)'}': expected .jsonl, .csv, .txt or .md"
        )
    if raw.format != source.format:
        raise ObjectRejected(f"a {raw.format} object in source '{raw.source}', which holds {source.format}")
    if item.size > settings.limits.max_object_bytes:
        raise ObjectRejected(f"object of {item.size} bytes exceeds max_object_bytes {settings.limits.max_object_bytes}")
    return source


def reject_rows(rejects: Sequence[Reject]) -> list[dict[str, Any]]:
    return [{"position": r.position, "reason": r.reason, "record": r.raw} for r in rejects]


def process(
    item: Item, *, settings: PipelineSettings, storage: Storage, claims: Claims, quarantine_bucket: str
) -> Validated:
    if keys.is_marker(item.key) or item.key.endswith("/"):
        return Validated(**item.model_dump(), skipped=True)
    bucket = item.run.bucket
    try:
        source = source_for(item, settings)
        result = validate_object(decode(storage.read(bucket, item.key)), source, settings.limits)
    except ObjectRejected as rejected:
        copied = storage.copy(bucket, item.key, quarantine_bucket, item.key)
        storage.write_json(
            quarantine_bucket,
            keys.reason_key(item.key),
            {"step": "validate", "reason": rejected.reason, "run_id": item.run.id, "copied": copied},
        )
        logger.info("object quarantined", extra={"key": item.key, "reason": rejected.reason})
        source_name = keys.parse_raw_key(item.key).source
        return Validated(**item.model_dump(), source=source_name, whole_object_rejected=True, records_in=1, rejected=1)
    result = drop_cross_object_duplicates(result, item, source, claims)
    if result.rejects:
        storage.write_jsonl(quarantine_bucket, keys.rejects_key(item.key, "validate"), reject_rows(result.rejects))
    if result.valid:
        staged = keys.staging_key(item.run.id, "valid", item.key)
        storage.write_jsonl(bucket, staged, ({"p": v.position, "r": v.record} for v in result.valid))
    return Validated(
        **item.model_dump(),
        source=source.name,
        records_in=result.records_in,
        rejected=len(result.rejects),
        valid=len(result.valid),
        missing=count_missing(result.valid, source),
    )


def drop_cross_object_duplicates(
    result: ValidationResult, item: Item, source: SourceSpec, claims: Claims
) -> ValidationResult:
    scope = f"{item.run.dataset}#{source.name}"
    taken = claims.claim(scope, [(v.digest, f"{item.key}#{v.position}") for v in result.valid])
    if not taken:
        return result
    kept = [v for v in result.valid if v.digest not in taken]
    dropped = [Reject(v.position, CROSS_OBJECT_DUPLICATE, v.record) for v in result.valid if v.digest in taken]
    return ValidationResult(valid=kept, rejects=sorted([*result.rejects, *dropped], key=lambda r: r.position))


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@event_parser(model=Item)
def handler(event: Item, context: LambdaContext) -> dict[str, Any]:
    validated = process(
        event,
        settings=runtime.settings(),
        storage=runtime.storage(),
        claims=runtime.claims(),
        quarantine_bucket=runtime.env("QUARANTINE_BUCKET"),
    )
    logger.info("validated", extra={"key": validated.key, "valid": validated.valid, "rejected": validated.rejected})
    return validated.model_dump()
