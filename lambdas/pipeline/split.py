"""Split step: a CSV or JSONL object stored larger than `limits.row_fanout_bytes`, streamed and cut into parts.

The state machine sends every object over the threshold here (RouteBySize); the answer's ``route`` says
where it goes next:

- ``parts``: cut into parts of at most `row_fanout_bytes` under `staging/<run>/parts/<object id>/rows/`
  (pipeline.rows); the ProcessParts map lists them and runs `pipeline.part` on each. The answer carries the
  object's row counts, so a part that fails quarantines the object whole with its rows counted.
- ``rejected``: what validate would reject whole (larger than `max_fanout_object_bytes`, undecodable, a CSV
  header that does not fit, ...), with the reason and its rows counted as validate counts them; the
  quarantine step copies it whole.
- ``whole``: not a CSV or JSONL object of its source (text, an unknown source or format): validate reads
  it as it reads every object, and gives it its reason.

The object is read as a stream (never whole in memory); the answer holds keys and counts only.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError
from common.clients import client
from common.observability import powertools
from pydantic import Field

from pipeline import keys, rows, runtime
from pipeline.contract import PipelineSettings, SourceSpec
from pipeline.errors import raise_if_throttled
from pipeline.models import Failure, Item
from pipeline.storage import Storage

logger, tracer = powertools()
PART_CONTENT_TYPE = "text/plain; charset=utf-8"
REJECTED = "ObjectRejected"  # the error the quarantine step records for an object rejected whole


class Parted(Item):
    """The split's answer: where the object goes next, and what it held."""

    route: str = Field(pattern=r"^(parts|rejected|whole)$")
    source: str | None = None
    parts: int = 0
    parts_prefix: str | None = None  # staging/<run>/parts/<object id>/rows/: what ProcessParts lists
    rows_in: int = 0
    records_in: int | None = None  # rows that are records; with skipped_blank, what a quarantine counts
    skipped_blank: int = 0
    encoding: str | None = None
    dedupe: str | None = None  # the source's rule, for the object's counters
    error: Failure | None = None  # route rejected: the reason, as the quarantine step reads a failure


def splittable(item: Item, settings: PipelineSettings) -> SourceSpec | None:
    """The CSV or JSONL source the object belongs to, or None: validate judges it (text, unknown places)."""
    raw = keys.parse_raw_key(item.key)
    source = settings.sources.get(raw.source) if raw.source is not None else None
    if raw.dataset != item.run.dataset or source is None or source.format == "text" or raw.format != source.format:
        return None
    return source


class _Reader:
    """The object's body from S3 as a stream (botocore's StreamingBody), opened again for a count."""

    def __init__(self, s3: Any, bucket: str, key: str) -> None:
        self._s3, self._bucket, self._key = s3, bucket, key

    def open(self) -> rows.Readable:
        try:
            body: rows.Readable = self._s3.get_object(Bucket=self._bucket, Key=self._key)["Body"]
        except ClientError as exc:
            raise_if_throttled(exc)
            raise
        return body


def process(item: Item, *, settings: PipelineSettings, s3: Any, storage: Storage) -> Parted:
    source = splittable(item, settings)
    if source is None:
        return Parted(**item.model_dump(), route="whole")
    limits = settings.limits
    run = item.run
    if item.size > limits.max_fanout_object_bytes:
        return _rejected(
            item,
            source,
            f"object of {item.size} bytes exceeds max_fanout_object_bytes {limits.max_fanout_object_bytes}: "
            "too large to split into parts",
            records=1,
            blank=0,
        )
    gzipped = keys.parse_raw_key(item.key).compressed
    reader = _Reader(s3, run.bucket, item.key)

    def write(number: int, offset: int, body: bytes) -> None:
        storage.write(run.bucket, rows.rows_key(run.id, item.key, number, offset), body, PART_CONTENT_TYPE)

    try:
        split = rows.split_object(
            reader.open(), source, limits, gzipped=gzipped, part_bytes=limits.row_fanout_bytes, write=write
        )
    except rows.Unsplittable as rejected:
        verdict = rejected
        records, blank = 1, 0
        if verdict.counted is not None:
            try:
                records, blank = rows.count_rows(
                    reader.open(), source, limits, gzipped=gzipped, counted=verdict.counted
                )
            except rows.Unsplittable as undecodable:  # validate decodes first: its reason is the decoding's
                verdict = undecodable
                records, blank = rows.count_rows(reader.open(), source, limits, gzipped=gzipped, counted="bytes")
        return _rejected(item, source, verdict.reason, records=records, blank=blank)
    return Parted(
        **item.model_dump(),
        route="parts",
        source=source.name,
        parts=split.parts,
        parts_prefix=rows.parts_prefix(run.id, item.key, "rows"),
        rows_in=split.rows,
        records_in=split.records,
        skipped_blank=split.skipped_blank,
        encoding=split.encoding,
        dedupe=source.dedupe,
    )


def _rejected(item: Item, source: SourceSpec, reason: str, *, records: int, blank: int) -> Parted:
    return Parted(
        **item.model_dump(),
        route="rejected",
        source=source.name,
        rows_in=records + blank,
        records_in=records,
        skipped_blank=blank,
        error=Failure(Error=REJECTED, Cause=reason),
    )


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@event_parser(model=Item)
def handler(event: Item, context: LambdaContext) -> dict[str, Any]:
    parted = process(event, settings=runtime.settings(), s3=client("s3"), storage=runtime.storage())
    logger.info(
        "split", extra={"key": parted.key, "route": parted.route, "parts": parted.parts, "rows": parted.rows_in}
    )
    return parted.model_dump(exclude_none=True)
