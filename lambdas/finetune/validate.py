"""Step 1-2 of the fine-tuning workflow: gather the training records and check them against Bedrock's format.

Sources, both in the Data stack's curated bucket:

- the daily thumbs-up export, ``<export_prefix><day>/train.jsonl`` (`api.finetune_export` writes it);
- hand-curated records, ``<curated_records_prefix>*.jsonl``, in the same format.

Every line is checked with the export's own validator (`api.finetune_export.validate_line`: the
``bedrock-conversation-2024`` schema, alternating user/assistant turns, no reserved markers), so the two can
never disagree about the format. Rejected lines are counted by reason (`REJECT_REASONS`) and the first
`MAX_SAMPLES` are reported by source and line number with the validator's message: never the record's text.
Identical records are kept once (``duplicate``); records past ``max_records`` are left out (``too_many``).

The valid records go to ``<training_prefix><run>/train.jsonl`` in the Scale stack's bucket, the counts to
``<training_prefix><run>/validation.json``. Fewer than ``min_records`` valid records raise `DatasetTooSmall`
(after the counts are written): the workflow reports it and starts no job.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from api.finetune_export import validate_line
from aws_lambda_powertools.utilities.typing import LambdaContext
from common.clients import client
from common.observability import powertools
from pydantic import ValidationError

from finetune.contract import FinetuneSettings, settings_from_deployment

logger, tracer = powertools()

REJECT_REASONS = ("not_json", "format", "duplicate", "too_many")
MAX_SAMPLES = 20
# Bedrock job names ([a-zA-Z0-9](-*[a-zA-Z0-9+\-.])*) and custom-model and deployment names
# (([0-9a-zA-Z][_-]?){1,63}: no two separators in a row), at most 63 characters: one alphabet fits all three.
_NAME_UNSAFE = re.compile(r"[^a-zA-Z0-9-]")
_HYPHENS = re.compile(r"-{2,}")
MAX_NAME = 63


class DatasetTooSmall(Exception):  # noqa: N818 - the error name Step Functions reports and the report shows
    """Fewer valid records than the use case's ``min_records``."""


@dataclass
class DatasetCheck:
    lines: list[str] = field(default_factory=list)
    read: Counter[str] = field(default_factory=Counter)  # lines read per source key
    rejected: Counter[str] = field(default_factory=Counter)
    samples: list[dict[str, Any]] = field(default_factory=list)

    def counts(self) -> dict[str, Any]:
        return {
            "sources": len(self.read),
            "read": sum(self.read.values()),
            "valid": len(self.lines),
            "rejected": {reason: self.rejected[reason] for reason in REJECT_REASONS},
        }


def _problem(exc: ValidationError) -> str:
    """The validator's first complaint: where and what, without the input value."""
    first = exc.errors(include_input=False, include_url=False)[0]
    where = ".".join(str(part) for part in first["loc"]) or "record"
    return f"{where}: {first['msg']}"


def check_records(sources: Iterable[tuple[str, Iterable[str]]], *, max_records: int) -> DatasetCheck:
    """The valid, distinct records of ``sources`` ((key, lines) pairs) in order, and what was rejected."""
    result = DatasetCheck()
    seen: set[str] = set()

    def reject(key: str, number: int, reason: str, detail: str) -> None:
        result.rejected[reason] += 1
        if len(result.samples) < MAX_SAMPLES:
            result.samples.append({"source": key, "line": number, "reason": reason, "detail": detail})

    for key, lines in sources:
        for number, raw in enumerate(lines, start=1):
            if not raw.strip():
                continue
            result.read[key] += 1
            try:
                json.loads(raw)
            except ValueError as exc:
                reject(key, number, "not_json", f"record: {type(exc).__name__}")
                continue
            try:
                record = validate_line(raw)
            except ValidationError as exc:
                reject(key, number, "format", _problem(exc))
                continue
            line = record.model_dump_json(exclude_defaults=True)
            if line in seen:
                reject(key, number, "duplicate", "the same record appeared earlier")
                continue
            if len(result.lines) >= max_records:
                reject(key, number, "too_many", f"past max_records {max_records}")
                continue
            seen.add(line)
            result.lines.append(line)
    return result


def run_name(execution: str) -> str:
    """A short, Bedrock-safe, unique token of the execution (its name may hold underscores and 80 characters)."""
    return hashlib.sha256(execution.encode()).hexdigest()[:12]


def bedrock_name(prefix: str, kind: str, run: str) -> str:
    """A job or custom-model name: ``<prefix>-<kind>-<run>``, Bedrock's alphabet, at most 63 characters."""
    head = _HYPHENS.sub("-", _NAME_UNSAFE.sub("-", prefix)).strip("-")[: MAX_NAME - len(kind) - len(run) - 2]
    return f"{head.rstrip('-')}-{kind}-{run}"


def source_keys(s3: Any, settings: FinetuneSettings) -> list[str]:
    """Every export ``train.jsonl`` and curated ``*.jsonl`` key, sorted (the curated ones are not exports)."""
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(
        Bucket=settings.curated_bucket, Prefix=settings.export_prefix
    ):
        for item in page.get("Contents", []):
            key = item["Key"]
            curated = key.startswith(settings.curated_records_prefix)
            if (curated and key.endswith(".jsonl")) or (not curated and key.endswith("/train.jsonl")):
                keys.append(key)
    if not settings.curated_records_prefix.startswith(settings.export_prefix):
        for page in s3.get_paginator("list_objects_v2").paginate(
            Bucket=settings.curated_bucket, Prefix=settings.curated_records_prefix
        ):
            keys.extend(item["Key"] for item in page.get("Contents", []) if item["Key"].endswith(".jsonl"))
    return sorted(keys)


def _lines(s3: Any, bucket: str, key: str) -> Iterator[str]:
    body = s3.get_object(Bucket=bucket, Key=key)["Body"]
    for raw in body.iter_lines():
        yield raw.decode("utf-8", errors="replace")


def validate(execution: str, *, settings: FinetuneSettings, s3: Any) -> dict[str, Any]:
    """Check every source, write the training file and the counts; the names and URIs the job needs."""
    run = run_name(execution)
    keys = source_keys(s3, settings)
    checked = check_records(
        ((key, _lines(s3, settings.curated_bucket, key)) for key in keys), max_records=settings.max_records
    )
    base = f"{settings.training_prefix}{run}/"
    counts = {**checked.counts(), "min_records": settings.min_records, "max_records": settings.max_records}
    summary = {"run": run, "execution": execution, "counts": counts, "source_keys": keys, "rejects": checked.samples}
    s3.put_object(
        Bucket=settings.work_bucket,
        Key=f"{base}validation.json",
        Body=(json.dumps(summary, indent=2, sort_keys=True) + "\n").encode(),
        ContentType="application/json",
    )
    if len(checked.lines) < settings.min_records:
        raise DatasetTooSmall(
            f"{len(checked.lines)} valid records, fewer than min_records {settings.min_records}; "
            f"counts in s3://{settings.work_bucket}/{base}validation.json: {json.dumps(counts, sort_keys=True)}"
        )
    s3.put_object(
        Bucket=settings.work_bucket,
        Key=f"{base}train.jsonl",
        Body=("\n".join(checked.lines) + "\n").encode(),
        ContentType="application/jsonl",
    )
    return {
        "run": run,
        "job_name": bedrock_name(settings.name_prefix, "ft", run),
        "model_name": bedrock_name(settings.name_prefix, "model", run),
        "evaluation_deployment_name": bedrock_name(settings.name_prefix, "eval", run),
        "training_uri": f"s3://{settings.work_bucket}/{base}train.jsonl",
        "output_uri": f"s3://{settings.work_bucket}/{settings.output_prefix}{run}/",
        "counts": counts,
        "poll_seconds": settings.poll_seconds,
    }


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = validate(str(event["execution"]), settings=settings_from_deployment(), s3=client("s3"))
    logger.info("fine-tuning dataset", extra={"run": result["run"], "counts": result["counts"]})
    return result
