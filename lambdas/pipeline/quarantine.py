"""Quarantine route: where a step's Catch sends an object whose processing failed after its retries.

The object is counted in the ledger as quarantined in the same transaction-guarded way a successful
step counts it; when the step had in fact finished (and only its response was lost) the marker says so
and nothing moves. Phase `process` copies the raw object whole; phase `publish` keeps the redacted
records and removes anything the failed publish left in curated (records/ and documents/).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext
from common.observability import powertools

from pipeline import keys, runtime
from pipeline.contract import PipelineSettings
from pipeline.ledger import Ledger
from pipeline.models import QuarantineRequest
from pipeline.storage import Storage

logger, tracer = powertools()
MAX_CAUSE_CHARS = 4000


def _claim(ledger: Ledger, run_id: str, phase: str, key: str, counts: dict[str, int]) -> bool:
    """True when this object is (now, or from an earlier attempt) counted as quarantined in ``phase``."""
    if ledger.commit(run_id, phase, key, outcome="quarantined", counts=counts, detail={}):
        return True
    marker = ledger.marker(run_id, phase, key)
    return marker is not None and marker.get("outcome") == "quarantined"


def published_keys(raw_key: str, settings: PipelineSettings) -> list[str]:
    """Every curated key the publish step writes for the object: its records, its document and sidecar."""
    found = [keys.records_key(raw_key)]
    source = keys.parse_raw_key(raw_key).source
    spec = settings.sources.get(source) if source else None
    document = keys.document_key(raw_key, spec.knowledge) if spec else None
    if document is not None:
        found += [document, keys.sidecar_key(document)]
    return found


def process(
    request: QuarantineRequest,
    *,
    storage: Storage,
    ledger: Ledger,
    quarantine_bucket: str,
    curated_bucket: str,
    settings: PipelineSettings,
) -> dict[str, Any]:
    failed = request.failed
    run = failed.run
    reason = {
        "step": request.phase,
        "error": failed.error.Error,
        "cause": failed.error.Cause[:MAX_CAUSE_CHARS],
        "run_id": run.id,
    }
    if request.phase == "process":
        raw_key = failed.key
        n = failed.records_in or 1  # unread objects count as one record: the object itself
        blank = failed.skipped_blank if failed.records_in else 0
        counts = {
            "objects": 1,
            "objects_quarantined": 1,
            "rows_in": n + blank,
            "records_in": n,
            "quarantined": n,
            "skipped_blank": blank,
        }
        if not _claim(ledger, run.id, "process", raw_key, counts):
            return {"key": raw_key, "quarantined": False}
        copied = storage.copy(run.bucket, raw_key, quarantine_bucket, raw_key)
        for step in ("validate", "redact"):  # their records are all inside the whole copy now
            storage.delete(quarantine_bucket, keys.rejects_key(raw_key, step))
        storage.write_json(quarantine_bucket, keys.reason_key(raw_key), {**reason, "copied": copied})
    else:
        raw_key = keys.raw_key_of_staging(run.id, "redacted", failed.key)
        marker = ledger.marker(run.id, "process", raw_key) or {}
        n = int(marker.get("passed", 0))
        if not _claim(ledger, run.id, "publish", raw_key, {"publish_quarantined": n}):
            return {"key": raw_key, "quarantined": False}
        storage.copy(run.bucket, failed.key, quarantine_bucket, keys.rejects_key(raw_key, "publish"))
        for leftover in published_keys(raw_key, settings):
            storage.delete(curated_bucket, leftover)
        storage.write_json(quarantine_bucket, keys.reason_key(raw_key), {**reason, "records": n})
    logger.warning("object quarantined", extra={"key": raw_key, **reason})
    return {"key": raw_key, "quarantined": True}


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@event_parser(model=QuarantineRequest)
def handler(event: QuarantineRequest, context: LambdaContext) -> dict[str, Any]:
    return process(
        event,
        storage=runtime.storage(),
        ledger=runtime.ledger(),
        quarantine_bucket=runtime.env("QUARANTINE_BUCKET"),
        curated_bucket=runtime.env("CURATED_BUCKET"),
        settings=runtime.settings(),
    )
