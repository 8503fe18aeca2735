"""Validate step: read one raw object, check format, encoding, schema, size and duplicates.

Valid records go to the run's staging area, rejected ones to quarantine with a reason each; an object
that cannot be read as records at all is copied to quarantine whole with its reason, and counted as the
rows its lines hold. Duplicates across the objects of a dataset follow the source's dedupe rule: each
object claims its records' key digests (``key``) or record digests (``records``) in the claims table; a
claim another object holds is a duplicate, named by its first position.
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
from pipeline.validation import ObjectRejected, Reject, Valid, ValidationResult, key_text, validate_bytes

logger, tracer = powertools()
CROSS_OBJECT_DUPLICATE = "duplicate of a record in another object of the dataset"  # its owner unknown


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
        named = raw.content_extension + (keys.GZIP if raw.compressed else "")  # `x.parquet.gz` is '.parquet.gz'
        raise ObjectRejected(
            f"unknown format '{named or '(no extension)'}': expected .jsonl, .csv, .txt or .md (each optionally .gz)"
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
        compressed = keys.parse_raw_key(item.key).compressed
        result = validate_bytes(storage.read(bucket, item.key), source, settings.limits, gzipped=compressed)
    except ObjectRejected as rejected:
        copied = storage.copy(bucket, item.key, quarantine_bucket, item.key)
        storage.write_json(
            quarantine_bucket,
            keys.reason_key(item.key),
            {"step": "validate", "reason": rejected.reason, "run_id": item.run.id, "copied": copied},
        )
        logger.info("object quarantined", extra={"key": item.key, "reason": rejected.reason})
        source_name = keys.parse_raw_key(item.key).source
        return Validated(
            **item.model_dump(),
            source=source_name,
            whole_object_rejected=True,
            rows_in=rejected.rows,
            records_in=rejected.records,
            rejected=rejected.records,
            skipped_blank=rejected.skipped_blank,
        )
    result = drop_cross_object_duplicates(result, item, source, claims)
    if result.rejects:
        storage.write_jsonl(quarantine_bucket, keys.rejects_key(item.key, "validate"), reject_rows(result.rejects))
    if result.valid:
        staged = keys.staging_key(item.run.id, "valid", item.key)
        storage.write_jsonl(bucket, staged, ({"p": v.position, "r": v.record} for v in result.valid))
    return Validated(
        **item.model_dump(),
        source=source.name,
        rows_in=result.rows,
        records_in=result.records_in,
        rejected=len(result.rejects),
        valid=len(result.valid),
        skipped_blank=result.skipped_blank,
        repeated=result.repeated,
        dedupe=source.dedupe,
        encoding=result.encoding,
        missing=count_missing(result.valid, source),
    )


def claim_scope(dataset: str, source: SourceSpec) -> str:
    """Key digests and record digests are claimed apart, so changing a source's rule never mixes them."""
    scope = f"{dataset}#{source.name}"
    return f"{scope}#key" if source.dedupe == "key" else scope


def drop_cross_object_duplicates(
    result: ValidationResult, item: Item, source: SourceSpec, claims: Claims
) -> ValidationResult:
    """Claim every valid record's key or digest; a claim another object holds makes the record a duplicate."""
    claimed, taken = claim_records(result, item.key, item.run.dataset, source, claims)
    if not taken:
        return result
    kept = [v for v in result.valid if v.claim not in taken]
    dropped = [
        Reject(v.position, cross_object_reason(v, taken[v.claim], source), v.record)
        for v in claimed
        if v.claim in taken
    ]
    return ValidationResult(
        valid=kept,
        rejects=sorted([*result.rejects, *dropped], key=lambda r: r.position),
        skipped_blank=result.skipped_blank,
        repeated=result.repeated,
        encoding=result.encoding,
    )


def claim_records(
    result: ValidationResult, raw_key: str, dataset: str, source: SourceSpec, claims: Claims
) -> tuple[list[Valid], dict[str, str | None]]:
    """Claim each valid record's key or digest for `<raw key>#<position>`: (the records claimed, the claims
    another place already held with their owners). Shared by validate and the fan-out's parts."""
    claimed = [v for v in result.valid if v.claim is not None]
    if not claimed:
        return claimed, {}
    owners = [(v.claim, f"{raw_key}#{v.position}") for v in claimed if v.claim]
    return claimed, claims.claim(claim_scope(dataset, source), owners)


def cross_object_reason(valid: Valid, owner: str | None, source: SourceSpec) -> str:
    """Names the first holder: ``duplicate key customer_id=C1 of record 3 in datasets/ds/profiles/a.jsonl``."""
    if owner is None:
        return CROSS_OBJECT_DUPLICATE
    key, _, position = owner.rpartition("#")
    if source.dedupe == "key":
        values = tuple(valid.record[name] for name in source.key)
        return f"duplicate key {key_text(source, values)} of record {position} in {key}"
    return f"duplicate of record {position} in {key}"


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
