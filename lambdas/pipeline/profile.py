"""Profile step (per object): count groups, outcomes, missing values and PII into the run ledger, once."""

from __future__ import annotations

from collections import Counter
from typing import Any

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext
from common.observability import powertools

from pipeline import keys, runtime
from pipeline.contract import ProfileSpec
from pipeline.ledger import Ledger
from pipeline.models import Redacted
from pipeline.profiling import count_groups
from pipeline.storage import Storage

logger, tracer = powertools()
PHASE = "process"


def object_counts(item: Redacted, spec: ProfileSpec | None, storage: Storage) -> Counter[str]:
    """Everything this object adds to the run's counters."""
    counts: Counter[str] = Counter(
        objects=1,
        rows_in=item.rows_in,
        records_in=item.records_in,
        skipped_blank=item.skipped_blank,
        quarantined=item.rejected + item.redact_rejected,
        passed=item.redacted,
        objects_quarantined=int(item.whole_object_rejected),
    )
    if item.source is None or item.whole_object_rejected:
        return counts
    # How the object was read, per source: the dedupe rule, the encoding, and repeats kept (report.ingestion).
    counts[f"dedupe|{item.source}|{item.dedupe}"] += 1
    counts[f"encoding|{item.source}|{item.encoding}"] += 1
    counts[f"repeated|{item.source}"] += item.repeated
    counts[f"valid|{item.source}"] += item.valid
    counts[f"pii_records|{item.source}"] += item.records_with_pii
    counts.update({f"missing|{item.source}|{field}": n for field, n in item.missing.items()})
    counts.update({f"pii|{kind}": n for kind, n in item.entities.items()})
    if spec is not None and item.source == spec.source and item.redacted:
        staged = keys.staging_key(item.run.id, "redacted", item.key)
        counts.update(count_groups((row["r"] for row in storage.read_jsonl(item.run.bucket, staged)), spec))
    return counts


def process(item: Redacted, *, spec: ProfileSpec | None, storage: Storage, ledger: Ledger) -> dict[str, Any]:
    if item.skipped:
        return {"key": item.key, "counted": False}
    counts = object_counts(item, spec, storage)
    counted = ledger.commit(
        item.run.id, PHASE, item.key, outcome="processed", counts=counts, detail={"passed": item.redacted}
    )
    return {"key": item.key, "counted": counted}


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@event_parser(model=Redacted)
def handler(event: Redacted, context: LambdaContext) -> dict[str, Any]:
    result = process(
        event,
        spec=runtime.settings().profile,
        storage=runtime.storage(),
        ledger=runtime.ledger(),
    )
    logger.info("profiled", extra=result)
    return result
