"""Curated records into table items: the loader's pure half, also what the ranking model is fitted on.

A curated object under records/<dataset>/<source>/ is JSON lines or CSV (the Data stage's publish writes each
source in its own format). `parse_object` yields each record or the reason it is unusable; `customer_item` and
`interaction_item` turn a record into the item the loader writes. Both are deterministic, so re-running a load
overwrites the same items with the same content:

- a customer item is the profile record, keyed by its customer id;
- an interaction item is keyed by the customer id and ``<time>#<kind>#<id>``: the record's date (empty when the
  source has none, so undated records sort first), what it is (`support_contact`, `service_event`, `purchase`)
  and its declared key (``ticket_id``) or, for a source without one, a digest of its content (two identical
  click events are one item).

Numbers are `Decimal`, as DynamoDB wants them: JSON numbers are parsed as such, and a CSV cell that is a plain
decimal number without a leading zero ("405.21", "12") becomes one; anything else in a CSV stays text.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import posixpath
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from agent.contract import CUSTOMERS_KEY, InteractionSource

CUSTOMER = CUSTOMERS_KEY[0]  # the attribute every table keys its items by

MAX_ID_LENGTH = 64
_NUMBER = re.compile(r"^-?(?:0|[1-9]\d{0,20})(?:\.\d{1,20})?$")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")


class BadRecordError(ValueError):
    """A record the loader cannot use; the message names the problem, never the record's content."""


@dataclass(frozen=True)
class Parsed:
    line: int  # 1-based line (JSONL) or data row (CSV)
    record: dict[str, Any] | None
    problem: str | None = None


def parse_object(key: str, body: bytes) -> Iterator[Parsed]:
    """Each record of one curated object, by the format its extension names; other objects hold none."""
    extension = posixpath.splitext(key)[1].lower()
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        yield Parsed(0, None, f"not UTF-8 (byte {exc.start})")
        return
    if extension in (".jsonl", ".ndjson"):
        yield from _jsonl(text)
    elif extension == ".csv":
        yield from _csv(text)


def _jsonl(text: str) -> Iterator[Parsed]:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line, parse_float=Decimal)
        except json.JSONDecodeError as exc:
            yield Parsed(number, None, f"not JSON ({exc.msg})")
            continue
        if isinstance(value, dict):
            yield Parsed(number, value)
        else:
            yield Parsed(number, None, f"a JSON {type(value).__name__}, not an object")


def _csv(text: str) -> Iterator[Parsed]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    for number, row in enumerate(reader, start=1):
        if None in row or any(value is None for value in row.values()):
            yield Parsed(number, None, "the row's cells do not match the header")
            continue
        yield Parsed(number, {name: _cell(value) for name, value in row.items() if value != ""})


def _cell(value: str) -> str | Decimal:
    return Decimal(value) if _NUMBER.match(value) else value


def customer_id(record: Mapping[str, Any], key: str) -> str:
    value = record.get(key)
    if not isinstance(value, str) or not _ID.match(value):
        raise BadRecordError(f"'{key}' is missing or not an id (1-{MAX_ID_LENGTH} letters, digits, '.', '_', ':', '-')")
    return value


def customer_item(record: Mapping[str, Any], *, key: str, dataset: str) -> dict[str, Any]:
    """The customer table's item for a profile record."""
    return {**record, CUSTOMER: customer_id(record, key), "dataset": dataset}


def interaction_item(record: Mapping[str, Any], source: InteractionSource, *, key: str, dataset: str) -> dict[str, Any]:
    """The interaction table's item for a record of ``source``."""
    customer = customer_id(record, key)
    when = ""
    if source.time_field is not None:
        value = record.get(source.time_field)
        if not isinstance(value, str) or not value:
            raise BadRecordError(f"'{source.time_field}' is missing or not a date")
        when = value
    if source.key:
        parts = [record.get(name) for name in source.key]
        if any(not isinstance(part, str | Decimal) or str(part) == "" for part in parts):
            raise BadRecordError(f"a key field ({', '.join(source.key)}) is missing")
        ident = "-".join(str(part) for part in parts)
    else:
        canonical = json.dumps(record, sort_keys=True, default=str, separators=(",", ":"))
        ident = hashlib.sha256(canonical.encode()).hexdigest()[:16]
    fields = {name: value for name, value in record.items() if name != key}
    return {
        **fields,
        CUSTOMER: customer,
        "interaction_id": f"{when}#{source.kind}#{ident}",
        "kind": source.kind,
        "dataset": dataset,
    }
