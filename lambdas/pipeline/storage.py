"""S3 reads and writes of the pipeline; the buckets' default SSE-KMS encryption applies to every write."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from botocore.exceptions import ClientError

from pipeline.errors import raise_if_throttled


class Storage:
    def __init__(self, client: Any) -> None:
        self._s3 = client

    def read(self, bucket: str, key: str) -> bytes:
        try:
            body: bytes = self._s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        except ClientError as exc:
            raise_if_throttled(exc)
            raise
        return body

    def read_jsonl(self, bucket: str, key: str) -> Iterator[dict[str, Any]]:
        for line in self.read(bucket, key).decode().splitlines():
            if line:
                yield json.loads(line)

    def write(self, bucket: str, key: str, body: bytes, content_type: str) -> None:
        try:
            self._s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type)
        except ClientError as exc:
            raise_if_throttled(exc)
            raise

    def write_json(self, bucket: str, key: str, value: Mapping[str, Any]) -> None:
        self.write(bucket, key, json.dumps(value, indent=2, sort_keys=True, default=str).encode(), "application/json")

    def write_jsonl(self, bucket: str, key: str, rows: Iterable[Mapping[str, Any]]) -> None:
        body = "".join(json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n" for row in rows)
        self.write(bucket, key, body.encode(), "application/x-ndjson")

    def copy(self, source_bucket: str, source_key: str, bucket: str, key: str) -> bool:
        """Server-side copy; False when the source no longer exists."""
        try:
            self._s3.copy_object(CopySource={"Bucket": source_bucket, "Key": source_key}, Bucket=bucket, Key=key)
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("NoSuchKey", "404"):
                return False
            raise_if_throttled(exc)
            raise
        return True

    def delete(self, bucket: str, key: str) -> None:
        """Idempotent: deleting a missing key succeeds."""
        try:
            self._s3.delete_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            raise_if_throttled(exc)
            raise
