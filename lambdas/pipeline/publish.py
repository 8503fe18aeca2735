"""Publish step: redacted records to curated in the source's format, with a knowledge-base metadata sidecar.

Curated keys equal raw keys, so re-running the same input overwrites the same objects. The sidecar is
written before the object it describes, so an object is never visible without its metadata.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from common.observability import powertools

from pipeline import keys, runtime
from pipeline.ledger import Ledger
from pipeline.models import PublishItem
from pipeline.settings import TEXT_FIELD, PipelineSettings, SourceSpec
from pipeline.storage import Storage

logger, tracer, metrics = powertools()
PHASE = "publish"
CONTENT_TYPES = {"jsonl": "application/x-ndjson", "csv": "text/csv", "text": "text/plain", ".md": "text/markdown"}


def render(records: Sequence[dict[str, Any]], source: SourceSpec, extension: str) -> tuple[bytes, str]:
    """The records as the source's format: JSON lines, CSV with the schema's columns, or the document."""
    if source.format == "jsonl":
        body = "".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r in records)
        return body.encode(), CONTENT_TYPES["jsonl"]
    if source.format == "csv":
        out = io.StringIO(newline="")
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(source.field_names)
        for record in records:
            writer.writerow([_cell(record.get(name)) for name in source.field_names])
        return out.getvalue().encode(), CONTENT_TYPES["csv"]
    if len(records) != 1:
        raise ValueError(f"a text document is one record, got {len(records)}")
    return str(records[0][TEXT_FIELD]).encode(), CONTENT_TYPES.get(extension, CONTENT_TYPES["text"])


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def sidecar(raw: keys.RawKey, source: SourceSpec, records: int, bias_status: str, usecase: str) -> dict[str, Any]:
    """Bedrock knowledge-base metadata (`<key>.metadata.json`) for filtering retrieval."""
    return {
        "metadataAttributes": {
            "usecase": usecase,
            "dataset": raw.dataset,
            "source": source.name,
            "format": source.format,
            "records": records,
            "bias_status": bias_status,
        }
    }


def process(
    item: PublishItem,
    *,
    settings: PipelineSettings,
    storage: Storage,
    ledger: Ledger,
    curated_bucket: str,
    usecase: str,
) -> dict[str, Any]:
    raw_key = keys.raw_key_of_staging(item.run.id, "redacted", item.key)
    marker = ledger.marker(item.run.id, "process", raw_key)
    if marker is None or marker.get("outcome") != "processed":
        return {"key": raw_key, "published": False}  # quarantined after redaction: not for curated
    raw = keys.parse_raw_key(raw_key)
    assert raw.source is not None
    source = settings.sources[raw.source]
    records = [row["r"] for row in storage.read_jsonl(item.run.bucket, item.key)]
    body, content_type = render(records, source, raw.extension)
    curated = keys.curated_key(raw_key)
    storage.write_json(
        curated_bucket, keys.sidecar_key(curated), sidecar(raw, source, len(records), item.bias_status, usecase)
    )
    storage.write(curated_bucket, curated, body, content_type)
    ledger.commit(item.run.id, PHASE, raw_key, outcome="published", counts={"curated": len(records)}, detail={})
    return {"key": raw_key, "published": True}


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = process(
        PublishItem.model_validate(event),
        settings=runtime.settings(),
        storage=runtime.storage(),
        ledger=runtime.ledger(),
        curated_bucket=runtime.env("CURATED_BUCKET"),
        usecase=runtime.env("USECASE_ID"),
    )
    logger.info("published", extra=result)
    return result
