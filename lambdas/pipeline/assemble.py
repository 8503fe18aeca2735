"""Assemble step: a big object's parts put together again, as the whole-object path leaves a small object.

After the ProcessParts map (`pipeline.part` on every part of `pipeline.rows`), this step reads each part's
counts, proves that the parts hold every row the split cut (rows, records and blank rows alike), then
concatenates, in part order, the parts' redacted records into the object's staged redacted records (what
profile and publish read), their validation rejects into `<raw key>.validate-rejects.jsonl` and their
redaction rejects into `<raw key>.redact-rejects.jsonl` in quarantine, and sums the counts into the one
`Redacted` answer the redact step gives. Profile then commits the object once. Every concatenation streams
(a multipart upload of 8 MiB pieces), so no Lambda holds the object.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError
from common.clients import client
from common.observability import powertools

from pipeline import keys, rows, runtime
from pipeline.errors import raise_if_throttled
from pipeline.models import Redacted
from pipeline.split import Parted
from pipeline.storage import Storage

logger, tracer = powertools()
JSONL = "application/x-ndjson"
PIECE_BYTES = 8 * 1024 * 1024  # of a multipart upload: S3 takes 5 MiB at least, but for the last
SUMMED = ("rows_in", "records_in", "rejected", "valid", "skipped_blank", "repeated", "redacted", "redact_rejected")


class Concatenation:
    """One S3 object written from pieces in order, never whole in memory: a multipart upload of pieces of
    at least ``piece_bytes``, or one PutObject while it stays smaller; nothing at all when empty."""

    def __init__(self, s3: Any, bucket: str, key: str, *, piece_bytes: int = PIECE_BYTES) -> None:
        self._s3, self._bucket, self._key = s3, bucket, key
        self._piece_bytes = piece_bytes
        self._buffer: list[bytes] = []
        self._size = 0
        self._upload: str | None = None
        self._pieces: list[dict[str, Any]] = []

    def add(self, body: bytes) -> None:
        self._buffer.append(body)
        self._size += len(body)
        if self._size >= self._piece_bytes:
            self._send()

    def _call(self, operation: str, **params: Any) -> dict[str, Any]:
        try:
            response: dict[str, Any] = getattr(self._s3, operation)(Bucket=self._bucket, Key=self._key, **params)
        except ClientError as exc:
            raise_if_throttled(exc)
            raise
        return response

    def _send(self) -> None:
        if self._upload is None:
            self._upload = self._call("create_multipart_upload", ContentType=JSONL)["UploadId"]
        number = len(self._pieces) + 1
        etag = self._call("upload_part", UploadId=self._upload, PartNumber=number, Body=b"".join(self._buffer))["ETag"]
        self._pieces.append({"ETag": etag, "PartNumber": number})
        self._buffer, self._size = [], 0

    def close(self) -> None:
        if self._upload is None:
            if self._size:
                self._call("put_object", Body=b"".join(self._buffer), ContentType=JSONL)
            return
        if self._size:
            self._send()
        self._call("complete_multipart_upload", UploadId=self._upload, MultipartUpload={"Parts": self._pieces})


def process(item: Parted, *, storage: Storage, s3: Any, quarantine_bucket: str) -> Redacted:
    """The object's `Redacted` from its parts; a part without counts (not finished) fails the step, and the
    state machine quarantines the object whole."""
    if item.route != "parts" or item.source is None:
        raise ValueError(f"{item.key}: only a split object is assembled (the state machine routes it)")
    run = item.run
    totals: Counter[str] = Counter()
    entities: Counter[str] = Counter()
    missing: Counter[str] = Counter()
    counts = [
        json.loads(storage.read(run.bucket, rows.part_key(run.id, item.key, "counts", n))) for n in range(item.parts)
    ]
    for part in counts:
        totals.update({name: int(part[name]) for name in (*SUMMED, "records_with_pii", "requests")})
        entities.update({kind: int(n) for kind, n in part["entities"].items()})
        missing.update({name: int(n) for name, n in part["missing"].items()})
    split = (item.rows_in, item.records_in, item.skipped_blank)
    if (totals["rows_in"], totals["records_in"], totals["skipped_blank"]) != split:
        raise ValueError(
            f"{item.key}: the parts read {totals['rows_in']} rows ({totals['records_in']} records, "
            f"{totals['skipped_blank']} blank), the split cut {split[0]} ({split[1]} records, {split[2]} blank)"
        )
    if totals["redacted"] + totals["redact_rejected"] != totals["valid"]:
        raise ValueError(
            f"{item.key}: parts redacted {totals['redacted'] + totals['redact_rejected']} of {totals['valid']}"
        )
    outputs = (
        ("rejects", "rejected", Concatenation(s3, quarantine_bucket, keys.rejects_key(item.key, "validate"))),
        (
            "redact-rejects",
            "redact_rejected",
            Concatenation(s3, quarantine_bucket, keys.rejects_key(item.key, "redact")),
        ),
        ("redacted", "redacted", Concatenation(s3, run.bucket, keys.staging_key(run.id, "redacted", item.key))),
    )
    for number, part in enumerate(counts):
        for kind, count, out in outputs:
            if part[count]:
                out.add(storage.read(run.bucket, rows.part_key(run.id, item.key, kind, number)))
    for _, _, out in outputs:
        out.close()
    return Redacted(
        key=item.key,
        size=item.size,
        run=run,
        source=item.source,
        rows_in=totals["rows_in"],
        records_in=totals["records_in"],
        rejected=totals["rejected"],
        valid=totals["valid"],
        skipped_blank=totals["skipped_blank"],
        repeated=totals["repeated"],
        dedupe=item.dedupe,
        encoding=item.encoding,
        missing=dict(missing),
        redacted=totals["redacted"],
        redact_rejected=totals["redact_rejected"],
        entities=dict(entities),
        records_with_pii=totals["records_with_pii"],
        requests=totals["requests"],
    )


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@event_parser(model=Parted)
def handler(event: Parted, context: LambdaContext) -> dict[str, Any]:
    assembled = process(
        event, storage=runtime.storage(), s3=client("s3"), quarantine_bucket=runtime.env("QUARANTINE_BUCKET")
    )
    logger.info("assembled", extra={"key": assembled.key, "parts": event.parts, "records": assembled.redacted})
    return assembled.model_dump()
