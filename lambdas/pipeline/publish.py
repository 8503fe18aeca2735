"""Publish step: redacted records to curated, once for record consumers and once for the knowledge base.

- `records/<dataset>/<source>/<path>`: the records in the source's format (JSONL, CSV with the schema's
  columns, or the document), for consumers that read records.
- `documents/<dataset>/<source>/<path>[.md|.csv]`: what a Bedrock knowledge base can parse, with its
  `<document>.metadata.json` sidecar, as the source's `knowledge` setting says: text and CSV as they are
  (`native`), structured records as one markdown document per object (`markdown`) or as CSV with the
  schema's columns (`csv`), or nothing (`none`). Nothing else is ever written under documents/, so every
  object the knowledge base scans is one it can ingest.

Both keys derive from the raw key only, so re-running the same input overwrites the same objects. The
object's records count once (`curated`), however many places they are written to. The sidecar is written
before its document, so a document is never visible without its metadata.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from typing import Any

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext
from common.observability import powertools

from pipeline import keys, runtime
from pipeline.contract import TEXT_FIELD, PipelineSettings, SourceSpec
from pipeline.ledger import Ledger
from pipeline.models import PublishItem
from pipeline.storage import Storage

logger, tracer = powertools()
PHASE = "publish"
CONTENT_TYPES = {
    "jsonl": "application/x-ndjson",
    "csv": "text/csv",
    "text": "text/plain",
    ".md": "text/markdown",
    "markdown": "text/markdown",
}
# Bedrock knowledge bases ingest files up to 50 MB; a larger document would count as failed in every sync.
KNOWLEDGE_BASE_MAX_DOCUMENT_BYTES = 50_000_000


class DocumentTooLarge(Exception):  # noqa: N818 - the name is the error the state machine's Catch reports
    """The object's knowledge-base document exceeds the file size a knowledge base ingests."""


def render(records: Sequence[dict[str, Any]], source: SourceSpec, extension: str) -> tuple[bytes, str]:
    """The records as the source's format: JSON lines, CSV with the schema's columns, or the document."""
    if source.format == "jsonl":
        body = "".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r in records)
        return body.encode(), CONTENT_TYPES["jsonl"]
    if source.format == "csv":
        return render_csv(records, source), CONTENT_TYPES["csv"]
    if len(records) != 1:
        raise ValueError(f"a text document is one record, got {len(records)}")
    return str(records[0][TEXT_FIELD]).encode(), CONTENT_TYPES.get(extension, CONTENT_TYPES["text"])


def render_csv(records: Sequence[dict[str, Any]], source: SourceSpec) -> bytes:
    """A header of the schema's columns, one row per record; a missing value is an empty cell.

    Rows end in LF. The writer's terminator is CRLF so that a value holding a CR or an LF is quoted (with
    LF alone, a bare CR inside a value would go unquoted and end the row for readers); `_Rows` turns each
    row's CRLF back into LF.
    """
    out = _Rows()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(source.field_names)
    for record in records:
        writer.writerow([_cell(record.get(name)) for name in source.field_names])
    return "".join(out.lines).encode()


class _Rows:
    """File-like target of csv.writer, which writes each row with one call, ending in its terminator."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def write(self, row: str) -> int:
        self.lines.append(row.removesuffix("\r\n") + "\n")
        return len(row)


def render_markdown(rows: Sequence[tuple[int, dict[str, Any]]], source: SourceSpec, raw: keys.RawKey) -> bytes:
    """One markdown document for the object: a section per record, headed by its place in the uploaded
    object, one `field: value` line per present field in the schema's order.

    Every chunk a knowledge base cuts from it still names the fields it holds (a CSV chunk after the
    first loses its header). Values appear as they are; a multi-line value continues indented, so no
    line of it can pass for a heading or another field.
    """
    path = raw.key.split("/", 3)[3]
    unit = "line" if source.format == "jsonl" else "row"
    count = f"{len(rows)} record{'' if len(rows) == 1 else 's'}"
    lines = [f"# {source.name}: {path}", "", f"Dataset `{raw.dataset}`, {count}.", ""]
    for position, record in rows:
        lines += [f"## Record at {unit} {position}", ""]
        for name in source.field_names:
            value = record.get(name)
            if value is None:
                continue
            lines.append(f"- {name}: " + _lines(_cell(value)).replace("\n", "\n  "))
        lines.append("")
    return "\n".join(lines).encode()


def _lines(text: str) -> str:
    """Markdown's line endings (CRLF, CR, LF) as LF, so every line of a value can be indented."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def document(
    rows: Sequence[tuple[int, dict[str, Any]]],
    source: SourceSpec,
    raw: keys.RawKey,
    native: tuple[bytes, str],
) -> tuple[str, bytes, str] | None:
    """(key, body, content type) of the object's knowledge-base document; None when the source has none."""
    key = keys.document_key(raw.key, source.knowledge)
    if key is None:
        return None
    if source.knowledge == "native":
        body, content_type = native
    elif source.knowledge == "csv":
        body, content_type = render_csv([r for _, r in rows], source), CONTENT_TYPES["csv"]
    else:
        body, content_type = render_markdown(rows, source, raw), CONTENT_TYPES["markdown"]
    if len(body) > KNOWLEDGE_BASE_MAX_DOCUMENT_BYTES:
        raise DocumentTooLarge(
            f"{key}: {len(body)} bytes; a knowledge base ingests at most {KNOWLEDGE_BASE_MAX_DOCUMENT_BYTES}"
        )
    return key, body, content_type


def sidecar(raw: keys.RawKey, source: SourceSpec, records: int, bias_status: str, usecase: str) -> dict[str, Any]:
    """Bedrock knowledge-base metadata (`<document>.metadata.json`) for filtering retrieval."""
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
    rows = [(int(row["p"]), row["r"]) for row in storage.read_jsonl(item.run.bucket, item.key)]
    records = [record for _, record in rows]
    native = render(records, source, raw.content_extension)
    knowledge = document(rows, source, raw, native)  # before any write: a document too large publishes nothing
    records_key = keys.records_key(raw_key)
    storage.write(curated_bucket, records_key, *native)
    if knowledge is not None:
        document_key, body, content_type = knowledge
        storage.write_json(
            curated_bucket,
            keys.sidecar_key(document_key),
            sidecar(raw, source, len(records), item.bias_status, usecase),
        )
        storage.write(curated_bucket, document_key, body, content_type)
    # The records count once, whether they went to records/ only or to documents/ too.
    ledger.commit(item.run.id, PHASE, raw_key, outcome="published", counts={"curated": len(records)}, detail={})
    return {
        "key": raw_key,
        "published": True,
        "records_key": records_key,
        "document_key": knowledge[0] if knowledge else None,
    }


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@event_parser(model=PublishItem)
def handler(event: PublishItem, context: LambdaContext) -> dict[str, Any]:
    result = process(
        event,
        settings=runtime.settings(),
        storage=runtime.storage(),
        ledger=runtime.ledger(),
        curated_bucket=runtime.env("CURATED_BUCKET"),
        usecase=runtime.env("USECASE_ID"),
    )
    logger.info("published", extra=result)
    return result
