"""Part step: one part of a big object (`pipeline.rows`) validated and redacted as a small object is.

The same domain code as validate and redact: `validation.validate_object` on the part's rows (positions
offset to the object's, the CSV header the part repeats), the duplicate claims across the dataset, then
`pii.redact_records` with the same policy, salt and Comprehend requests. A duplicate in another part of the
same object is found by the claims (owner `<raw key>#<position>`, the scope validate claims in) and named
as validate names one: ``duplicate key order_id=O1 of record 3 in the same object``. The part's rejects,
redacted records and counts are written beside it (counts last: `pipeline.assemble` relies on it); the
answer holds counts only, never content, and nothing is committed to the run ledger.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext
from common.clients import client
from common.observability import powertools
from pydantic import BaseModel, ConfigDict

from pipeline import rows, runtime
from pipeline.contract import Limits, PipelineSettings, SourceSpec
from pipeline.ledger import Claims
from pipeline.models import Run
from pipeline.pii import Detect, Hasher, redact_records
from pipeline.redact import comprehend_detector
from pipeline.storage import Storage
from pipeline.validate import claim_records, count_missing, cross_object_reason, reject_rows
from pipeline.validation import Reject, Valid, ValidationResult, key_text, read_rows, validate_object

logger, tracer = powertools()


class PartItem(BaseModel):
    """One item of the ProcessParts map: a rows part (listed by the map's S3 item reader) and its object."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    part: str  # staging/<run>/parts/<object id>/rows/<n>-<offset>.txt
    key: str  # the raw object's key
    run: Run
    source: str
    encoding: str  # the object's, as the split decoded it (the part itself is UTF-8)


def same_object_reason(valid: Valid, position: str, source: SourceSpec) -> str:
    """What validate says of a duplicate within one object."""
    if source.dedupe == "key":
        values = tuple(valid.record[name] for name in source.key)
        return f"duplicate key {key_text(source, values)} of record {position} in the same object"
    return f"duplicate of record {position} in the same object"


def claim_duplicates(
    result: ValidationResult,
    item: PartItem,
    source: SourceSpec,
    claims: Claims,
    read_raw: Callable[[], dict[int, Any]],
) -> ValidationResult:
    """Claim every valid record's key or digest for `<raw key>#<position>`; a record whose claim another
    place holds, in this object or another, is a duplicate naming it. ``read_raw``: the part's rows as read,
    by position, called only when a duplicate lies within the object (quarantined as read, as validate
    quarantines it)."""
    claimed, taken = claim_records(result, item.key, item.run.dataset, source, claims)
    if not taken:
        return result
    dropped: list[Reject] = []
    raw: dict[int, Any] | None = None
    for valid in claimed:
        if valid.claim not in taken:
            continue
        owner = taken[valid.claim]
        owner_key, _, position = (owner or "").rpartition("#")
        if owner is not None and owner_key == item.key:
            raw = read_raw() if raw is None else raw
            dropped.append(Reject(valid.position, same_object_reason(valid, position, source), raw[valid.position]))
        else:
            dropped.append(Reject(valid.position, cross_object_reason(valid, owner, source), valid.record))
    return ValidationResult(
        valid=[v for v in result.valid if v.claim not in taken],
        rejects=sorted([*result.rejects, *dropped], key=lambda r: r.position),
        skipped_blank=result.skipped_blank,
        repeated=result.repeated,
        encoding=result.encoding,
    )


def raw_rows(text: str, source: SourceSpec, limits: Limits, offset: int) -> dict[int, Any]:
    """Every row of the part as read (a JSONL line, a CSV row's cells), by position."""
    return {position: raw for position, raw, _ in read_rows(text, source, limits, offset=offset)}


def process(
    item: PartItem,
    *,
    settings: PipelineSettings,
    storage: Storage,
    claims: Claims,
    detect: Detect,
    hasher: Hasher,
) -> dict[str, Any]:
    run = item.run
    number, offset = rows.part_of(run.id, item.key, item.part)
    source = settings.sources[item.source]
    limits = settings.limits
    text = storage.read(run.bucket, item.part).decode()
    validated = validate_object(text, source, limits, offset=offset, part=True)
    result = claim_duplicates(validated, item, source, claims, lambda: raw_rows(text, source, limits, offset))
    if result.rejects:
        storage.write_jsonl(run.bucket, rows.part_key(run.id, item.key, "rejects", number), reject_rows(result.rejects))
    redaction = redact_records([(v.position, v.record) for v in result.valid], source, settings.pii, detect, hasher)
    if redaction.rejects:
        storage.write_jsonl(
            run.bucket,
            rows.part_key(run.id, item.key, "redact-rejects", number),
            [{"position": p, "reason": reason, "record": record} for p, reason, record in redaction.rejects],
        )
    if redaction.records:
        storage.write_jsonl(
            run.bucket,
            rows.part_key(run.id, item.key, "redacted", number),
            ({"p": p, "r": record} for p, record in redaction.records),
        )
    counts = {
        "rows_in": result.rows,
        "records_in": result.records_in,
        "rejected": len(result.rejects),
        "valid": len(result.valid),
        "skipped_blank": result.skipped_blank,
        "repeated": result.repeated,
        "missing": count_missing(result.valid, source),
        "redacted": len(redaction.records),
        "redact_rejected": len(redaction.rejects),
        "entities": dict(redaction.entities),
        "records_with_pii": redaction.records_with_pii,
        "requests": redaction.requests,
    }
    # Last: a counts file means the part's rejects and records are in place (assemble relies on it).
    body = json.dumps(counts, sort_keys=True, separators=(",", ":")).encode()
    storage.write(run.bucket, rows.part_key(run.id, item.key, "counts", number), body, "application/json")
    return {"part": number, **{k: v for k, v in counts.items() if isinstance(v, int)}}


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@event_parser(model=PartItem)
def handler(event: PartItem, context: LambdaContext) -> dict[str, Any]:
    settings = runtime.settings()
    result = process(
        event,
        settings=settings,
        storage=runtime.storage(),
        claims=runtime.claims(),
        detect=comprehend_detector(client("comprehend"), settings.pii.language),
        hasher=Hasher(runtime.hash_salt()),
    )
    logger.info("part validated and redacted", extra={"key": event.key, **result})
    return result
