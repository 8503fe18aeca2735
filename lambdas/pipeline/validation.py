"""Validate step, pure part: read an object's bytes, split them into records, check each against the schema.

`validate_bytes` is the whole step on one object: gunzip (capped at max_object_bytes), decode in the
source's encoding, split by format and dialect, check each record, find duplicates within the object.
Whole-object problems (empty, undecodable, binary, a zip bomb, a CSV header that does not fit the schema)
raise `ObjectRejected`, which carries how many records and blank rows the object held, counted from its
lines, so the run report counts rows, not files. Record problems (invalid JSON, wrong type, missing field,
too large, duplicate) become `Reject`s with a reason, row by row. Blank rows (only whitespace, or in CSV
only empty cells) are counted as `skipped_blank`. Nothing is dropped silently: every row of the object is
valid, rejected or counted as blank.

Duplicates follow the source's `dedupe` rule: ``key`` (the declared key fields identify a record; a second
record with the same key is rejected naming the first), ``records`` (whole-record repeats are rejected) or
``none`` (whole-record repeats are kept and counted in `repeated`, since without a key two equal rows may
be two real events: two tables ordering the same meal).
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import math
import re
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property
from typing import Any

from pipeline.contract import TEXT_FIELD, FieldSpec, Limits, SourceSpec

_UTF16_32_BOMS = (b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")
_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no"}
MAX_REASON_CHARS = 300
MAX_KEY_CHARS = 80  # of the key values a duplicate's reason quotes
_DETECT_SAMPLE_BYTES = 1 << 20  # charset-normalizer reads this much to choose, then the whole object is decoded
_LOOSE_INNER = re.compile(r"[\s\-.]+")
_QUOTES = "'\"`"
NO_RECORDS = "no records: the object holds only a header or blank lines"
NO_HEADER = "CSV without a header row"


class ObjectRejected(Exception):  # noqa: N818 - a verdict, not an error of the code
    """The object as a whole cannot be processed; ``reason`` says why.

    ``records`` and ``skipped_blank`` are what the object held as far as its lines tell (header excluded);
    an object without a single data line counts as one record: the object itself.
    """

    def __init__(self, reason: str, *, records: int = 1, skipped_blank: int = 0) -> None:
        super().__init__(reason)
        self.reason = reason
        self.records = records
        self.skipped_blank = skipped_blank

    @property
    def rows(self) -> int:
        return self.records + self.skipped_blank


@dataclass(frozen=True)
class Reject:
    position: int  # 1-based line (JSONL), row (CSV) or 1 (document)
    reason: str
    raw: Any  # the record as read (dict) or the raw line text


@dataclass(frozen=True)
class Valid:
    position: int
    record: dict[str, Any]
    claim: str | None = None  # what the record claims across the dataset: its key or record digest (none: None)

    @cached_property
    def digest(self) -> str:
        """sha256 of the canonical record: equal records share it whatever their formatting."""
        return digest(self.record)


@dataclass
class ValidationResult:
    valid: list[Valid] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    skipped_blank: int = 0  # blank rows: counted, neither valid nor rejected
    repeated: int = 0  # whole-record repeats kept (dedupe none): reported, never dropped
    encoding: str = "utf-8"  # as declared, or as detected for `encoding: auto`

    @property
    def records_in(self) -> int:
        return len(self.valid) + len(self.rejects)

    @property
    def rows(self) -> int:
        return self.records_in + self.skipped_blank


def validate_bytes(data: bytes, source: SourceSpec, limits: Limits, *, gzipped: bool = False) -> ValidationResult:
    """The validate step on one object's bytes; `ObjectRejected` when it cannot be read as records."""
    if gzipped:
        data = gunzip(data, limits.max_object_bytes)
    try:
        text, encoding = decode_as(data, source.encoding)
    except ObjectRejected as rejected:
        raise _counted(rejected, data.decode("latin-1"), source) from None
    try:
        result = validate_object(text, source, limits)
    except ObjectRejected as rejected:
        raise _counted(rejected, text, source) from None
    result.encoding = encoding
    return result


def _counted(rejected: ObjectRejected, text: str, source: SourceSpec) -> ObjectRejected:
    """The verdict with the object's rows counted from its lines (one record for a document)."""
    if source.format == "text":
        return rejected
    records, blank = count_lines(text, source.format, source.delimiter)
    if records == 0:
        return ObjectRejected(rejected.reason)
    return ObjectRejected(rejected.reason, records=records, skipped_blank=blank)


def count_lines(text: str, fmt: str, delimiter: str = ",") -> tuple[int, int]:
    """(data lines, blank lines) of an object read as lines; a CSV's first non-blank line is its header."""
    records = blank = 0
    header = fmt == "csv"
    for line in text.splitlines():
        if not line.strip() or (fmt == "csv" and not line.replace(delimiter, "").strip()):
            blank += 1
        elif header:
            header = False
        else:
            records += 1
    return records, blank


def gunzip(data: bytes, max_bytes: int) -> bytes:
    """The decompressed object, at most ``max_bytes``: a larger expansion (a zip bomb) is rejected unread."""
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
            out = stream.read(max_bytes + 1)
    except (OSError, EOFError, zlib.error) as exc:
        raise ObjectRejected(f"not a readable gzip object: {exc}"[:MAX_REASON_CHARS]) from None
    if len(out) > max_bytes:
        raise ObjectRejected(f"gzip object expands past max_object_bytes {max_bytes}: not decompressed further")
    return out


def decode(data: bytes, encoding: str = "utf-8") -> str:
    """The object's text in ``encoding``; anything else is a whole-object reject with the reason."""
    return decode_as(data, encoding)[0]


def decode_as(data: bytes, encoding: str) -> tuple[str, str]:
    """(text, the encoding used): the declared one, or for ``auto`` UTF-8 when it reads, else the detected one.

    UTF-8 is strict and its BOM dropped; a UTF-16/32 BOM or a NUL byte in a one-byte encoding means the
    object is not the text it claims to be.
    """
    if not data.strip():
        raise ObjectRejected("empty object" if not data else "object holds only whitespace")
    if encoding == "utf-16":
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as exc:
            raise ObjectRejected(f"not UTF-16: {exc.reason} at offset {exc.start}") from None
    if data.startswith(_UTF16_32_BOMS):
        if encoding == "auto":
            return _detected(data)
        raise ObjectRejected(f"UTF-16/UTF-32 byte-order mark: the source is read as {encoding} (declare utf-16)")
    nul = data.find(b"\x00")
    if nul >= 0:
        raise ObjectRejected(f"binary content: NUL byte at offset {nul}")
    if encoding in ("utf-8", "auto"):
        try:
            return data.decode("utf-8-sig"), "utf-8"
        except UnicodeDecodeError as exc:
            if encoding == "utf-8":
                raise ObjectRejected(
                    f"not UTF-8: byte 0x{data[exc.start]:02x} at offset {exc.start} ({exc.reason})"
                ) from None
        return _detected(data)
    try:
        return data.decode(encoding), encoding
    except UnicodeDecodeError as exc:
        raise ObjectRejected(f"not {encoding}: byte 0x{data[exc.start]:02x} at offset {exc.start}") from None


def _detected(data: bytes) -> tuple[str, str]:
    from charset_normalizer import from_bytes  # noqa: PLC0415 - only objects that are not UTF-8 pay its import

    best = from_bytes(data[:_DETECT_SAMPLE_BYTES]).best()
    if best is None:
        raise ObjectRejected("encoding not detected: the object is not text in any encoding charset-normalizer knows")
    try:
        return data.decode(best.encoding), best.encoding
    except UnicodeDecodeError as exc:
        raise ObjectRejected(
            f"detected {best.encoding} from the first {_DETECT_SAMPLE_BYTES} bytes, but byte 0x{data[exc.start]:02x} "
            f"at offset {exc.start} is not {best.encoding}: declare the encoding"
        ) from None


def canonical(record: Mapping[str, Any]) -> str:
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def digest(record: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical(record).encode()).hexdigest()


def key_digest(values: tuple[Any, ...]) -> str:
    """sha256 of the key values as a JSON array: the same key from CSV and JSON claims the same digest."""
    return hashlib.sha256(json.dumps(values, separators=(",", ":"), ensure_ascii=False).encode()).hexdigest()


def key_text(source: SourceSpec, values: tuple[Any, ...]) -> str:
    """How a reason names a key: ``customer_id=C00001`` (several fields joined by commas)."""
    return ", ".join(f"{name}={value}" for name, value in zip(source.key, values, strict=True))[:MAX_KEY_CHARS]


def validate_object(
    text: str, source: SourceSpec, limits: Limits, *, offset: int = 0, part: bool = False
) -> ValidationResult:
    """Split ``text`` into records of ``source``'s format, check each, apply the dedupe rule within the object.

    A part of a big object (`pipeline.rows`) passes ``offset``, the rows before its first one in the object
    (JSONL lines; CSV rows after the header, which the part repeats first), so positions are the object's;
    and ``part``: a part of blank rows only is no whole-object reject (the split judged the object).
    """
    result = ValidationResult()
    first: dict[Any, int] = {}  # the key (tuple of values) or record -> where it was first seen
    mode = source.dedupe
    key_fields = source.key
    for position, raw, parsed_or_error in read_rows(text, source, limits, offset=offset):
        if parsed_or_error is None:
            result.skipped_blank += 1
            continue
        if isinstance(parsed_or_error, str):
            result.rejects.append(Reject(position, parsed_or_error, raw))
            continue
        record, problem = check_record(parsed_or_error, source)
        if problem is not None:
            result.rejects.append(Reject(position, problem, raw))
            continue
        assert record is not None
        if mode == "key":
            values = tuple(record[name] for name in key_fields)
            earlier = first.setdefault(values, position)
            if earlier != position:
                reason = f"duplicate key {key_text(source, values)} of record {earlier} in the same object"
                result.rejects.append(Reject(position, reason, raw))
                continue
            result.valid.append(Valid(position, record, key_digest(values)))
            continue
        whole = tuple(record.values())  # check_record orders every record's fields alike
        earlier = first.setdefault(whole, position)
        if earlier != position:
            if mode == "records":
                result.rejects.append(Reject(position, f"duplicate of record {earlier} in the same object", raw))
                continue
            result.repeated += 1
        valid = Valid(position, record)
        if mode == "records":
            valid = Valid(position, record, valid.digest)
        result.valid.append(valid)
    if result.records_in == 0 and not part:
        raise ObjectRejected(NO_RECORDS, skipped_blank=0)
    return result


def read_rows(
    text: str, source: SourceSpec, limits: Limits, *, offset: int
) -> Iterator[tuple[int, Any, dict[str, Any] | str | None]]:
    """(position, raw, parsed record, a reason, or None for a blank row) for each row of the object; positions
    start after ``offset`` rows (a part of a big object)."""
    if source.format == "text":
        size = len(text.encode())
        if size > limits.max_document_bytes:
            yield 1, text, f"document of {size} bytes exceeds max_document_bytes {limits.max_document_bytes}"
        else:
            yield 1, text, {TEXT_FIELD: text}
    elif source.format == "jsonl":
        for number, line in enumerate(text.splitlines(), start=1 + offset):
            if not line.strip():
                yield number, line, None
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
        yield from _csv_records(text, source, limits, offset)


def header_name(cell: str, match: str) -> str:
    """A header cell as compared with field names: stripped; loose also drops surrounding quotes, lowercases
    and turns inner runs of spaces, dots and hyphens into ``_`` (``'Total Bill'`` matches ``total_bill``)."""
    name = cell.strip()
    if match == "loose":
        name = _LOOSE_INNER.sub("_", name.strip(_QUOTES).strip()).lower()
    return name


def csv_columns(header: list[str], source: SourceSpec) -> list[str | None]:
    """The field each column feeds (None: an ignored column), or `ObjectRejected` naming the misfit."""
    ignored = {header_name(name, source.match_header) for name in source.ignore_columns}
    names = [header_name(cell, source.match_header) for cell in header]
    columns: list[str | None] = [None if name in ignored else name for name in names]
    kept = [name for name in columns if name is not None]
    unknown = [name for name in kept if name not in source.field_names]
    if not unknown and len(set(kept)) == len(kept):
        return columns
    hint = ""
    if len(header) == 1 and source.delimiter not in ("\t", ";"):
        other = next((name for char, name in (("\t", "tab"), (";", "semicolon")) if char in header[0]), None)
        if other:
            hint = f" (the header looks {other}-separated: declare delimiter: {other})"
    elif "" in unknown:
        hint = ' (an unnamed column, e.g. a pandas index: declare ignore_columns: [""])'
    elif (
        source.match_header == "exact"
        and unknown  # a column twice, with no unknown one, is no naming problem
        and all(header_name(name, "loose") in source.field_names for name in unknown if name)
    ):
        hint = " (names differ in case, quotes or spacing only: declare match_header: loose)"
    reason = f"CSV header {header} does not match the schema {list(source.field_names)}"
    if unknown and len(set(kept)) == len(kept):
        reason += f": unknown column(s) {unknown}"
    elif len(set(kept)) != len(kept):
        reason += ": a column appears twice"
    raise ObjectRejected((reason + hint)[: MAX_REASON_CHARS * 2])


def csv_field_limit(limits: Limits) -> None:
    """The csv module's (process-wide) field limit: a row over max_record_bytes is a reject, not a crash."""
    csv.field_size_limit(max(limits.max_record_bytes * 2, 131072))


def _csv_records(
    text: str, source: SourceSpec, limits: Limits, offset: int = 0
) -> Iterator[tuple[int, Any, dict[str, Any] | str | None]]:
    csv_field_limit(limits)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=source.delimiter)
    try:
        header = next(reader)
    except (StopIteration, csv.Error):
        raise ObjectRejected(NO_HEADER) from None
    columns = csv_columns(header, source)
    width = len(columns)
    keep = [i for i, name in enumerate(columns) if name is not None]
    fields = [name for name in columns if name is not None]
    every = len(keep) == width
    row_number = 1 + offset
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
            yield row_number, row, None
            continue
        size = sum(len(cell.encode()) for cell in row) + len(row)
        if size > limits.max_record_bytes:
            yield row_number, row, f"record of {size} bytes exceeds max_record_bytes {limits.max_record_bytes}"
        elif len(row) != width:
            yield row_number, row, f"row has {len(row)} values, the header {width}"
        else:
            # Empty cells are missing values; types are coerced by check_record.
            values = row if every else [row[i] for i in keep]
            yield row_number, row, {h: (v if v != "" else None) for h, v in zip(fields, values, strict=True)}


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
    return out, None  # a blank document never gets here: `_coerce` refuses an empty required `text` first


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
