"""Daily export of thumbs-up exchanges as a Bedrock fine-tuning dataset (the Api stack schedules it).

For one UTC day D (by default yesterday; the day a user gave the thumbs-up), the handler

1. reads the day's thumbs-up from the telemetry table's sparse index (`schema.TELEMETRY_UP_INDEX`) and the
   exchanges they rate (prompt + answer, `Telemetry.exchange`);
2. redacts PII with the data stage's own code and policy (`pipeline.pii.redact_records` with Comprehend
   DetectPiiEntities, one request per chunk, and the salted `Hasher`): mask, hash, or drop; an exchange
   whose prompt or answer the policy drops is left out;
3. writes ``<prefix><D>/train.jsonl`` to the curated bucket, one record per exchange, and
   ``<prefix><D>/manifest.json`` with the counts (thumbs-up read, exchanges read, exported, dropped by
   reason) and the date window.

Format: Bedrock's ``bedrock-conversation-2024`` schema (Amazon Nova supervised fine-tuning; also Bedrock
model distillation): the Converse API's shape, ``{"schemaVersion": "bedrock-conversation-2024",
"system": [{"text": ...}], "messages": [{"role": "user", "content": [{"text": ...}]}, {"role": "assistant",
"content": [{"text": ...}]}]}``. Roles are user and assistant only, the first message is the user's, the
last the assistant's, and the reserved markers (``User:``, ``Bot:``, ``Assistant:``, ``System:``,
``<image>``, ``<video>``, ``[EOS]``) may not appear in any text. Each line is validated against
`ConversationRecord` before it is written. (Anthropic Claude 3 Haiku's customization takes a different,
string-content shape; the kit targets Converse-style models.)

Drop reasons: ``exchange_missing`` (expired, or the rated request is not the rater's), ``too_long`` (cut when
stored, or estimated over ``max_record_tokens``), ``pii_drop`` (the policy drops a detected type),
``empty_after_redaction`` (nothing but placeholders, punctuation and spaces left), ``reserved_keyword``.

Idempotent per day: the records are in a fixed order (user, request), the hashes are deterministic, and the
manifest holds no run time, so a re-run for D writes the same bytes to the same keys; a day with nothing to
export has a manifest and no train.jsonl.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from typing import Any, Literal

from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.typing import LambdaContext
from common.clients import client
from common.observability import powertools
from pipeline.contract import FieldSpec, SourceSpec
from pipeline.pii import Detect, Hasher, redact_records
from pipeline.redact import comprehend_detector
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from api.deployed_settings import export_settings_from_deployment
from api.store import schema
from api.store.export_contract import ExportSettings
from api.store.items import from_attributes, live
from api.store.tokens import estimate_tokens

logger, tracer = powertools()

SCHEMA_VERSION = "bedrock-conversation-2024"
RESERVED = ("User:", "Bot:", "Assistant:", "System:", "<image>", "<video>", "[EOS]")
DROP_REASONS = ("exchange_missing", "too_long", "pii_drop", "empty_after_redaction", "reserved_keyword")
SALT_MAX_AGE_SECONDS = 3600
BATCH_GET = 100  # BatchGetItem's maximum
GET_ATTEMPTS = 5
# What is left of a text when its redaction placeholders ([NAME], [EMAIL:1f0c...]) are taken out.
_PLACEHOLDER = re.compile(r"\[[A-Z_]+(?::[0-9a-f]+)?\]")
_CONTENT = re.compile(r"\w")
EXCHANGES = SourceSpec(
    name="exchanges",
    format="jsonl",
    fields=(FieldSpec(name="prompt", type="string", scan=True), FieldSpec(name="answer", type="string", scan=True)),
    knowledge="none",
)


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TextBlock(_Strict):
    text: str = Field(min_length=1)

    @model_validator(mode="after")
    def _no_reserved_marker(self) -> TextBlock:
        if found := [marker for marker in RESERVED if marker in self.text]:
            raise ValueError(f"text holds reserved marker(s) {found}")
        return self


class Message(_Strict):
    role: Literal["user", "assistant"]
    content: tuple[TextBlock, ...] = Field(min_length=1)


class ConversationRecord(_Strict):
    """One training record of the bedrock-conversation-2024 schema, as the export writes it."""

    schemaVersion: Literal["bedrock-conversation-2024"]  # noqa: N815 - Bedrock's field name
    system: tuple[TextBlock, ...] = ()
    messages: tuple[Message, ...] = Field(min_length=2)

    @model_validator(mode="after")
    def _turns_alternate_from_user_to_assistant(self) -> ConversationRecord:
        roles = [message.role for message in self.messages]
        if roles[0] != "user" or roles[-1] != "assistant":
            raise ValueError("messages must start with the user and end with the assistant")
        if any(a == b for a, b in pairwise(roles)):
            raise ValueError("user and assistant messages must alternate")
        return self


def validate_line(line: str) -> ConversationRecord:
    """The record of one train.jsonl line; pydantic's ValidationError when it breaks the format."""
    return ConversationRecord.model_validate_json(line)


def record_line(prompt: str, answer: str, system_prompt: str | None) -> str:
    record: dict[str, Any] = {"schemaVersion": SCHEMA_VERSION}
    if system_prompt:
        record["system"] = [{"text": system_prompt}]
    record["messages"] = [
        {"role": "user", "content": [{"text": prompt}]},
        {"role": "assistant", "content": [{"text": answer}]},
    ]
    line = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
    validate_line(line)
    return line


def has_content(text: str) -> bool:
    return bool(_CONTENT.search(_PLACEHOLDER.sub("", text)))


@dataclass
class Export:
    day: date
    lines: list[str] = field(default_factory=list)
    thumbs_up: int = 0
    exchanges_read: int = 0
    dropped: Counter[str] = field(default_factory=Counter)
    entities: Counter[str] = field(default_factory=Counter)
    requests: int = 0


def day_window(day: date) -> tuple[str, str]:
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return _iso(start), _iso(start + timedelta(days=1))


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def thumbs_up_keys(db: Any, table: str, day: date) -> list[tuple[str, str]]:
    """(user id, request id) of every thumbs-up given on ``day``, sorted."""
    index_pk, _ = schema.TELEMETRY_UP_INDEX_KEY
    request: dict[str, Any] = {
        "TableName": table,
        "IndexName": schema.TELEMETRY_UP_INDEX,
        "KeyConditionExpression": "#day = :day",
        "ExpressionAttributeNames": {"#day": index_pk},
        "ExpressionAttributeValues": {":day": {"S": schema.up_day(day.isoformat())}},
    }
    keys: set[tuple[str, str]] = set()
    while True:
        response = db.query(**request)
        for item in response.get("Items", []):
            user = item[schema.PK]["S"].removeprefix("USER#")
            keys.add((user, item[schema.SK]["S"].removeprefix("FEEDBACK#")))
        if not (last := response.get("LastEvaluatedKey")):
            return sorted(keys)
        request["ExclusiveStartKey"] = last


def read_exchanges(db: Any, table: str, keys: list[tuple[str, str]]) -> dict[tuple[str, str], dict[str, Any]]:
    """The exchange items of ``keys`` that exist, by (user id, request id)."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for start in range(0, len(keys), BATCH_GET):
        wanted: dict[str, Any] = {
            table: {
                "Keys": [
                    {schema.PK: {"S": schema.user_pk(user)}, schema.SK: {"S": schema.exchange_sk(request)}}
                    for user, request in keys[start : start + BATCH_GET]
                ],
                "ConsistentRead": True,
            }
        }
        for attempt in range(GET_ATTEMPTS):
            response = db.batch_get_item(RequestItems=wanted)
            for raw in response.get("Responses", {}).get(table, []):
                item = from_attributes(raw)
                found[(str(item["user_id"]), str(item["request_id"]))] = item
            wanted = response.get("UnprocessedKeys") or {}
            if not wanted:
                break
            time.sleep(0.05 * 2**attempt)
        else:
            raise RuntimeError(f"DynamoDB left exchanges unread after {GET_ATTEMPTS} tries")
    return found


def export_day(
    day: date,
    *,
    settings: ExportSettings,
    db: Any,
    detect: Detect,
    hasher: Hasher,
    now: float,
) -> Export:
    """The day's dataset lines and counts (pure but for the injected DynamoDB client and detector)."""
    result = Export(day)
    keys = thumbs_up_keys(db, settings.telemetry_table, day)
    result.thumbs_up = len(keys)
    exchanges = read_exchanges(db, settings.telemetry_table, keys)
    system_tokens = estimate_tokens(settings.system_prompt or "")
    candidates: list[tuple[int, dict[str, Any]]] = []
    for key in keys:
        item = exchanges.get(key)
        if item is None or not live(item, now):
            result.dropped["exchange_missing"] += 1
            continue
        result.exchanges_read += 1
        prompt, answer = str(item.get("prompt", "")), str(item.get("answer", ""))
        too_big = system_tokens + estimate_tokens(prompt) + estimate_tokens(answer) > settings.max_record_tokens
        if item.get("truncated") or too_big:
            result.dropped["too_long"] += 1  # left out before Comprehend reads it
            continue
        candidates.append((len(candidates), {"prompt": prompt, "answer": answer}))
    redaction = redact_records(candidates, EXCHANGES, settings.pii, detect, hasher)
    result.entities, result.requests = redaction.entities, redaction.requests
    for _, record in redaction.records:
        clean_prompt, clean_answer = record.get("prompt"), record.get("answer")
        if not isinstance(clean_prompt, str) or not isinstance(clean_answer, str):
            result.dropped["pii_drop"] += 1
            continue
        if not (has_content(clean_prompt) and has_content(clean_answer)):
            result.dropped["empty_after_redaction"] += 1
            continue
        tokens = system_tokens + estimate_tokens(clean_prompt) + estimate_tokens(clean_answer)
        if tokens > settings.max_record_tokens:  # hashes lengthen a text a little
            result.dropped["too_long"] += 1
            continue
        try:
            result.lines.append(record_line(clean_prompt, clean_answer, settings.system_prompt))
        except ValidationError:
            result.dropped["reserved_keyword"] += 1
    return result


def manifest(export: Export, settings: ExportSettings) -> dict[str, Any]:
    start, end = day_window(export.day)
    return {
        "usecase": settings.usecase,
        "date": export.day.isoformat(),
        "window": {"start": start, "end": end},
        "format": SCHEMA_VERSION,
        "train": train_key(settings, export.day) if export.lines else None,
        "counts": {
            "thumbs_up": export.thumbs_up,
            "exchanges_read": export.exchanges_read,
            "exported": len(export.lines),
            "dropped": {reason: export.dropped[reason] for reason in DROP_REASONS},
        },
        "pii": {"entities": dict(sorted(export.entities.items())), "comprehend_requests": export.requests},
    }


def train_key(settings: ExportSettings, day: date) -> str:
    return f"{settings.prefix}{day.isoformat()}/train.jsonl"


def manifest_key(settings: ExportSettings, day: date) -> str:
    return f"{settings.prefix}{day.isoformat()}/manifest.json"


def write(export: Export, settings: ExportSettings, s3: Any) -> dict[str, Any]:
    """Put train.jsonl (or delete a stale one when nothing is exported) and manifest.json; the manifest."""
    body = manifest(export, settings)
    if export.lines:
        s3.put_object(
            Bucket=settings.curated_bucket,
            Key=train_key(settings, export.day),
            Body=("\n".join(export.lines) + "\n").encode(),
            ContentType="application/jsonl",
        )
    else:
        s3.delete_object(Bucket=settings.curated_bucket, Key=train_key(settings, export.day))
    s3.put_object(
        Bucket=settings.curated_bucket,
        Key=manifest_key(settings, export.day),
        Body=(json.dumps(body, indent=2, sort_keys=True) + "\n").encode(),
        ContentType="application/json",
    )
    return body


class ExportEvent(BaseModel):
    """A scheduled event: ``date`` (YYYY-MM-DD) to export that day; else the day before the event's ``time``
    (an EventBridge rule's event); else the day before now (an EventBridge Scheduler target with no input)."""

    model_config = ConfigDict(extra="ignore")

    day: date | None = Field(None, alias="date")
    at: datetime | None = Field(None, alias="time")


def export_date(event: Mapping[str, Any], now: float) -> date:
    parsed = ExportEvent.model_validate(dict(event))
    if parsed.day is not None:
        return parsed.day
    moment = parsed.at.astimezone(UTC) if parsed.at is not None else datetime.fromtimestamp(now, UTC)
    return moment.date() - timedelta(days=1)


def hash_salt(secret_arn: str) -> bytes:
    """The Data stack's salt, through Powertools' cache (as `pipeline.runtime.hash_salt` reads it)."""
    value = parameters.get_secret(secret_arn, max_age=SALT_MAX_AGE_SECONDS)
    return value if isinstance(value, bytes) else str(value).encode()


def run(
    event: Mapping[str, Any],
    *,
    settings: ExportSettings,
    db: Any,
    s3: Any,
    detect: Detect,
    hasher: Hasher,
    clock: Callable[[], float] = time.time,
) -> dict[str, Any]:
    now = clock()
    day = export_date(event, now)
    return write(export_day(day, settings=settings, db=db, detect=detect, hasher=hasher, now=now), settings, s3)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = export_settings_from_deployment(os.environ)  # settings layer + deploy-time values
    body = run(
        event,
        settings=settings,
        db=client("dynamodb"),
        s3=client("s3"),
        detect=comprehend_detector(client("comprehend"), settings.pii.language),
        hasher=Hasher(hash_salt(settings.hash_salt_secret_arn)),
    )
    logger.info("fine-tuning export", extra={"date": body["date"], "counts": body["counts"]})
    return body
