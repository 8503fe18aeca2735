"""Validate step, pure part: decode an object, split it into records, check each against the schema.

Whole-object problems (empty, not UTF-8, binary, unknown format, too large) raise `ObjectRejected`;
record problems (invalid JSON, wrong type, missing field, too large, duplicate) become `Reject`s with a
reason. Nothing is dropped silently: every record ends up either valid or rejected.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from pipeline.contract import TEXT_FIELD, FieldSpec, Limits, SourceSpec

_UTF16_32_BOMS = (b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")
_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no"}
MAX_REASON_CHARS = 300


class ObjectRejected(Exception):  # noqa: N818 - a verdict, not an error of the code
    """The object as a whole cannot be processed; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Reject:
    position: int  # 1-based line (JSONL), row (CSV) or 1 (document)
    reason: str
    raw: Any  # the record as read (dict) or the raw line text


@dataclass(frozen=True)
class Valid:
    position: int
    record: dict[str, Any]
    digest: str  # sha256 of the canonical record: duplicates share it whatever their formatting


@dataclass
class ValidationResult:
    valid: list[Valid] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)

    @property
    def records_in(self) -> int:
        return len(self.valid) + len(self.rejects)


def decode(data: bytes) -> str:
    """Strict UTF-8 (a UTF-8 BOM is dropped); anything else is a whole-object reject with the reason."""
    if not data.strip():
        raise ObjectRejected("empty object" if not data else "object holds only whitespace")
    if data.startswith(_UTF16_32_BOMS):
        raise ObjectRejected("UTF-16/UTF-32 byte-order mark: the pipeline accepts UTF-8 only")
    nul = data.find(b"\x00")
    if nul >= 0:
        raise ObjectRejected(f"binary content: NUL byte at offset {nul}")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ObjectRejected(f"not UTF-8: byte 0x{data[exc.start]:02x} at offset {exc.start} ({exc.reason})") from None


def canonical(record: Mapping[str, Any]) -> str:
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def digest(record: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical(record).encode()).hexdigest()


def validate_object(text: str, source: SourceSpec, limits: Limits) -> ValidationResult:
    """Split ``text`` into records of ``source``'s format, check each, reject duplicates within the object."""
    result = ValidationResult()
    seen: dict[str, int] = {}
    for position, raw, parsed_or_error in _records(text, source, limits):
        if isinstance(parsed_or_error, str):
            result.rejects.append(Reject(position, parsed_or_error, raw))
            continue
        record, problem = check_record(parsed_or_error, source)
        if problem is not None:
            result.rejects.append(Reject(position, problem, raw))
            continue
        assert record is not None
        key = digest(record)
        if key in seen:
            result.rejects.append(Reject(position, f"duplicate of record {seen[key]} in the same object", raw))
            continue
        seen[key] = position
        result.valid.append(Valid(position, record, key))
    if result.records_in == 0:
        raise ObjectRejected("no records: the object holds only a header or blank lines")
    return result


def _records(text: str, source: SourceSpec, limits: Limits) -> Iterator[tuple[int, Any, dict[str, Any] | str]]:
    """(position, raw, parsed record or a reason) for each record of the object."""
    if source.format == "text":
        size = len(text.encode())
        if size > limits.max_document_bytes:
            yield 1, text, f"document of {size} bytes exceeds max_document_bytes {limits.max_document_bytes}"
        else:
            yield 1, text, {TEXT_FIELD: text}
    elif source.format == "jsonl":
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            size = len(line.encode())
            if size > limits.max_record_bytes:
                yield number, line, f"record of {size} bytes exceeds max_record_bytes {limits.max_record_bytes}"
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                yield number, line, f"invalid JSON: {exc.msg} at column {exc.colno}"
                continue
            yield number, line, value if isinstance(value, dict) else "not a JSON object"
    else:
        yield from _csv_records(text, source, limits)


def _csv_records(text: str, source: SourceSpec, limits: Limits) -> Iterator[tuple[int, Any, dict[str, Any] | str]]:
    csv.field_size_limit(max(limits.max_record_bytes * 2, 131072))
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except (StopIteration, csv.Error):
        raise ObjectRejected("CSV without a header row") from None
    header = [h.strip() for h in header]
    unknown = [h for h in header if h not in source.field_names]
    if unknown or len(set(header)) != len(header):
        raise ObjectRejected(f"CSV header {header} does not match the schema {list(source.field_names)}")
    row_number = 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            row_number += 1
            yield row_number, None, f"unreadable CSV row: {exc}"
            continue
        row_number += 1
        if not any(cell.strip() for cell in row):
            continue
        size = sum(len(cell.encode()) for cell in row) + len(row)
        if size > limits.max_record_bytes:
            yield row_number, row, f"record of {size} bytes exceeds max_record_bytes {limits.max_record_bytes}"
        elif len(row) != len(header):
            yield row_number, row, f"row has {len(row)} values, the header {len(header)}"
        else:
            # Empty cells are missing values; types are coerced by check_record.
            yield row_number, row, {h: (v if v != "" else None) for h, v in zip(header, row, strict=True)}


def check_record(record: Mapping[str, Any], source: SourceSpec) -> tuple[dict[str, Any] | None, str | None]:
    """The record normalized to the schema's types, or the first reason it fails the schema."""
    unknown = sorted(set(record) - set(source.field_names))
    if unknown:
        return None, f"unexpected field(s) {', '.join(unknown)}"[:MAX_REASON_CHARS]
    out: dict[str, Any] = {}
    for spec in source.fields:
        value = record.get(spec.name)
        if value is None or (isinstance(value, str) and not value.strip() and spec.type != "string"):
            if spec.required:
                return None, f"missing required field '{spec.name}'"
            out[spec.name] = None
            continue
        coerced, problem = _coerce(value, spec, from_text=source.format == "csv")
        if problem is not None:
            return None, f"field '{spec.name}': {problem}"[:MAX_REASON_CHARS]
        out[spec.name] = coerced
    if source.format == "text" and not str(out.get(TEXT_FIELD, "")).strip():
        return None, "empty document"
    return out, None


def _coerce(value: Any, spec: FieldSpec, *, from_text: bool) -> tuple[Any, str | None]:  # noqa: PLR0911, PLR0912
    kind = spec.type
    if kind == "string":
        if not isinstance(value, str):
            return None, f"expected a string, got {_type_name(value)}"
        if spec.required and not value.strip():
            return None, "empty string for a required field"
        if spec.max_length is not None and len(value) > spec.max_length:
            return None, f"{len(value)} characters exceed max_length {spec.max_length}"
        if spec.allowed is not None and value not in spec.allowed:
            return None, f"'{value[:40]}' is not one of {sorted(spec.allowed)}"
        return value, None
    if kind == "boolean":
        if isinstance(value, bool):
            return value, None
        if from_text and isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE, None
        return None, f"expected a boolean, got {_type_name(value)}"
    if kind in ("integer", "number"):
        number: int | float
        if isinstance(value, bool):
            return None, f"expected {kind}, got boolean"
        if isinstance(value, (int, float)):
            number = value
        elif from_text and isinstance(value, str):
            try:
                number = int(value) if kind == "integer" else float(value)
            except ValueError:
                return None, f"'{value[:40]}' is not a valid {kind}"
        else:
            return None, f"expected {kind}, got {_type_name(value)}"
        if kind == "integer" and (isinstance(number, float) and not number.is_integer()):
            return None, f"expected integer, got {number}"
        if isinstance(number, float) and not math.isfinite(number):
            return None, "not a finite number"
        if kind == "integer":
            number = int(number)
        if spec.minimum is not None and number < spec.minimum:
            return None, f"{number} is below minimum {spec.minimum:g}"
        if spec.maximum is not None and number > spec.maximum:
            return None, f"{number} is above maximum {spec.maximum:g}"
        return number, None
    if not isinstance(value, str):
        return None, f"expected an ISO {kind} string, got {_type_name(value)}"
    try:
        if kind == "date":
            return date.fromisoformat(value).isoformat(), None
        return datetime.fromisoformat(value).isoformat(), None
    except ValueError:
        return None, f"'{value[:40]}' is not an ISO {kind}"


def _type_name(value: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer", float: "number"}.get(
        type(value), type(value).__name__
    )
