"""Row fan-out of a big object, pure part: stream it, cut it at record boundaries into parts, count its rows.

A CSV or JSONL object stored larger than `limits.row_fanout_bytes` is never held whole: the split step
(`pipeline.split`) streams it from S3 (gunzipped on the fly), decodes it in the source's encoding and cuts
it, between two records, into parts of at most ``part_bytes`` UTF-8 bytes (a longer record travels alone).
Each part is validated and redacted by its own Lambda (`pipeline.part`) with the whole-object path's code,
and `pipeline.assemble` puts the results together in order. What makes the parts give exactly what the whole
object gives:

- rows are cut where the whole-object reader ends them: JSONL at `str.splitlines` line ends; CSV where
  `csv.reader` (same dialect, same field limit) completes a record, so a quoted field spanning lines is
  never cut, and a row the reader cannot parse stays whole in its part, to be rejected there;
- a part's name carries its offset, the rows before it (JSONL lines, CSV rows after the header), and a CSV
  part repeats the object's header record first, so every row keeps its position (line or row number);
- blank rows travel like any row and are counted by the part that holds them;
- a whole-object problem the whole-object path would find (empty, undecodable, a NUL byte, a byte-order
  mark, a bad gzip stream, a CSV header that does not fit, no record at all) raises `Unsplittable`, and
  `count_rows` counts the object's rows as validate counts them (`validation.count_lines`).

Memory: one read chunk (1 MiB), the part being filled (at most ``part_bytes``, or one longer record) and the
header; a row longer than max_object_bytes makes the object unsplittable rather than filling the memory.

raw bucket  staging/<run>/parts/<object id>/rows/<n>-<offset>.txt       part n: its rows, UTF-8 (split)
            staging/<run>/parts/<object id>/rejects/<n>.jsonl          rows validation rejected (part)
            staging/<run>/parts/<object id>/redacted/<n>.jsonl         valid rows, redacted (part)
            staging/<run>/parts/<object id>/redact-rejects/<n>.jsonl   rows redaction rejected (part)
            staging/<run>/parts/<object id>/counts/<n>.json            what the part counted, written last

``<object id>`` is the SHA-256 of the raw key: a fixed-length folder, so the parts of one object are never
listed with another's (raw keys may be prefixes of each other) and a 1,024-byte raw key still fits.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import hashlib
import io
import re
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import chain
from typing import Protocol

from pipeline import keys
from pipeline.contract import Limits, SourceSpec
from pipeline.validation import (
    _UTF16_32_BOMS,
    MAX_REASON_CHARS,
    NO_HEADER,
    NO_RECORDS,
    ObjectRejected,
    csv_columns,
    csv_field_limit,
)

CHUNK_BYTES = 1 << 20  # one read; also the sample `encoding: auto` is chosen from, as validate does
PARTS = "parts"
KINDS = {"rows": ".txt", "rejects": ".jsonl", "redacted": ".jsonl", "redact-rejects": ".jsonl", "counts": ".json"}
PART_DIGITS = 9  # 100 GiB in 1 KiB parts still sort by name
OFFSET_DIGITS = 12
_ROWS_NAME = re.compile(rf"^(\d{{{PART_DIGITS}}})-(\d{{{OFFSET_DIGITS}}})\.txt$")
# What str.splitlines ends a line at (JSONL positions are its lines); CSV lines end at \r, \n or \r\n only.
_LINE_ENDS = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
_CSV_LINE_ENDS = frozenset("\r\n")


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class Unsplittable(ObjectRejected):
    """The object as a whole cannot be read as records (the reason validate would give).

    ``counted``: how its rows are counted, as validate counts them: None, not at all (one record: the
    object), "bytes" (undecodable: the lines of its bytes read as latin-1) or "text" (decoded, then found
    unfit: the lines of its text).
    """

    def __init__(self, reason: str, counted: str | None) -> None:
        super().__init__(reason[: MAX_REASON_CHARS * 2])
        self.counted = counted


@dataclass(frozen=True)
class Split:
    parts: int
    records: int  # rows that are records: valid or to be rejected by their part
    skipped_blank: int
    encoding: str  # as declared, or chosen for `encoding: auto`

    @property
    def rows(self) -> int:
        return self.records + self.skipped_blank


# --- layout -------------------------------------------------------------------------------------------


def object_id(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


def parts_prefix(run_id: str, raw_key: str, kind: str) -> str:
    if kind not in KINDS:
        raise ValueError(f"unknown part kind '{kind}'")
    return f"{keys.staging_prefix(run_id, PARTS)}{object_id(raw_key)}/{kind}/"


def rows_key(run_id: str, raw_key: str, number: int, offset: int) -> str:
    """Part ``number`` of the object's rows, whose first row follows ``offset`` rows of the object."""
    return f"{parts_prefix(run_id, raw_key, 'rows')}{number:0{PART_DIGITS}d}-{offset:0{OFFSET_DIGITS}d}.txt"


def part_key(run_id: str, raw_key: str, kind: str, number: int) -> str:
    """What the part step wrote for part ``number`` (every kind but rows)."""
    if kind == "rows":
        raise ValueError("a rows part is named by its number and offset: rows_key")
    return f"{parts_prefix(run_id, raw_key, kind)}{number:0{PART_DIGITS}d}{KINDS[kind]}"


def part_of(run_id: str, raw_key: str, key: str) -> tuple[int, int]:
    """(number, offset) of the rows part ``key`` of the object; `LayoutError` for anything else."""
    prefix = parts_prefix(run_id, raw_key, "rows")
    match = _ROWS_NAME.match(key[len(prefix) :]) if key.startswith(prefix) else None
    if match is None:
        raise keys.LayoutError(f"'{key}' is not a rows part of {raw_key} in run {run_id}")
    return int(match.group(1)), int(match.group(2))


# --- reading ------------------------------------------------------------------------------------------


def _chunks(stream: Readable, *, gzipped: bool, max_bytes: int) -> Iterator[bytes]:
    """The object's bytes in chunks, gunzipped on the fly; at most ``max_bytes`` decompressed."""
    reader: Readable = gzip.GzipFile(fileobj=stream, mode="rb") if gzipped else stream  # type: ignore[call-overload]
    total = 0
    while True:
        try:
            chunk = reader.read(CHUNK_BYTES)
        except (OSError, EOFError, zlib.error) as exc:
            if not gzipped:
                raise
            raise Unsplittable(f"not a readable gzip object: {exc}"[:MAX_REASON_CHARS], None) from None
        if not chunk:
            return
        total += len(chunk)
        if gzipped and total > max_bytes:
            raise Unsplittable(
                f"gzip object expands past max_fanout_object_bytes {max_bytes}: not decompressed further", None
            )
        yield chunk


def _detect(sample: bytes) -> str:
    from charset_normalizer import from_bytes  # noqa: PLC0415 - only objects that are not UTF-8 pay its import

    best = from_bytes(sample).best()
    if best is None:
        raise Unsplittable(
            "encoding not detected: the object is not text in any encoding charset-normalizer knows", "bytes"
        )
    return str(best.encoding)


def _reads_as_utf8(sample: bytes, final: bool) -> bool:
    try:
        codecs.getincrementaldecoder("utf-8-sig")("strict").decode(sample, final)
    except UnicodeDecodeError:
        return False
    return True


def _texts(chunks: Iterator[bytes], declared: str, chosen: list[str]) -> Iterator[str]:
    """The object's text in chunks, decoded as validate's `decode_as` decodes it; ``chosen`` gets the encoding.

    `encoding: auto` is chosen from the first chunk (1 MiB): UTF-8 when it reads as UTF-8, else the detected
    encoding; a byte further on that does not fit it makes the object unsplittable (declare the encoding).
    """
    head = next(chunks, b"")
    if not head:
        raise Unsplittable("empty object", None)
    encoding, nul_check = _encoding_of(head, declared)
    content = False
    offset = 0
    decoder: codecs.IncrementalDecoder | None = None
    for chunk in chain((head,), chunks):
        content = content or bool(chunk.strip())
        if nul_check and (nul := chunk.find(b"\x00")) >= 0:
            raise Unsplittable(f"binary content: NUL byte at offset {offset + nul}", "bytes")
        if decoder is None:  # after the NUL check: validate looks for NUL bytes before detecting
            if encoding == "detect":
                encoding = _detect(head)
            chosen.append(encoding)
            decoder = codecs.getincrementaldecoder("utf-8-sig" if encoding == "utf-8" else encoding)("strict")
        try:
            text = decoder.decode(chunk)
        except UnicodeDecodeError as exc:
            raise _undecodable(exc, offset - (len(exc.object) - len(chunk)), declared, encoding) from None
        offset += len(chunk)
        yield text
    assert decoder is not None
    try:
        yield decoder.decode(b"", True)
    except UnicodeDecodeError as exc:
        raise _undecodable(exc, offset - len(exc.object), declared, encoding) from None
    if not content:
        raise Unsplittable("object holds only whitespace", None)


def _encoding_of(head: bytes, declared: str) -> tuple[str, bool]:
    """(the encoding to decode in, "detect" for later; whether a NUL byte rejects the object) from its start."""
    if declared == "utf-16":
        return "utf-16", False
    if head.startswith(_UTF16_32_BOMS):
        if declared != "auto":
            raise Unsplittable(
                f"UTF-16/UTF-32 byte-order mark: the source is read as {declared} (declare utf-16)", "bytes"
            )
        return _detect(head), False
    if declared == "auto":
        return ("utf-8" if _reads_as_utf8(head, final=len(head) < CHUNK_BYTES) else "detect"), True
    return declared, True


def _undecodable(exc: UnicodeDecodeError, base: int, declared: str, encoding: str) -> Unsplittable:
    """The reason validate's `decode_as` gives, at the byte's offset in the object."""
    at = base + exc.start
    byte = exc.object[exc.start]
    if encoding == "utf-16":
        return Unsplittable(f"not UTF-16: {exc.reason} at offset {at}", "bytes")
    if declared == "auto":
        return Unsplittable(
            f"encoding auto chose {encoding} from the first {CHUNK_BYTES} bytes, but byte 0x{byte:02x} at offset "
            f"{at} is not {encoding}: declare the encoding",
            "bytes",
        )
    if encoding == "utf-8":
        return Unsplittable(f"not UTF-8: byte 0x{byte:02x} at offset {at} ({exc.reason})", "bytes")
    return Unsplittable(f"not {encoding}: byte 0x{byte:02x} at offset {at}", "bytes")


def _lines(texts: Iterator[str], *, csv_lines: bool, max_chars: int | None) -> Iterator[str]:
    """The lines of the text, each with its line end; CSV lines end at \\r, \\n or \\r\\n (as `io.StringIO` with
    newline="" reads them for `csv.reader`), JSONL lines wherever `str.splitlines` ends one."""
    ends = _CSV_LINE_ENDS if csv_lines else _LINE_ENDS
    pending: list[str] = []  # pieces of a line not ended yet
    pending_chars = 0
    for chunk in texts:
        if not chunk:  # a decoder may hold every byte of a chunk back
            continue
        text = chunk
        if pending and pending[-1].endswith("\r"):  # a CR ends the line unless an LF follows it
            head = "".join(pending)
            pending, pending_chars = [], 0
            if text.startswith("\n"):
                yield head + "\n"
                text = text[1:]
            else:
                yield head
            if not text:
                continue
        lines = io.StringIO(text, newline="").readlines() if csv_lines else text.splitlines(keepends=True)
        last = lines[-1]
        ended = last[-1] in ends and last[-1] != "\r"
        if len(lines) == 1 and not ended:
            pending.append(last)
            pending_chars += len(last)
        else:
            if pending:
                lines[0] = "".join(pending) + lines[0]
                pending, pending_chars = [], 0
            if not ended:
                pending.append(lines.pop())
                pending_chars += len(pending[-1])
            yield from lines
        if max_chars is not None and pending_chars > max_chars:
            raise Unsplittable(
                f"a row of more than {max_chars} characters (max_object_bytes): no part could hold it", "text"
            )
    if pending:
        yield "".join(pending)


# --- splitting ----------------------------------------------------------------------------------------


class _Parts:
    """Rows gathered into parts of at most ``part_bytes`` (the header included), each written when full."""

    def __init__(self, write: Callable[[int, int, bytes], None], part_bytes: int, header: bytes) -> None:
        self._write = write
        self._limit = part_bytes
        self._header = header
        self._rows: list[bytes] = []
        self._size = len(header)
        self.number = 0
        self._offset = 0

    def add(self, row: bytes) -> None:
        if self._rows and self._size + len(row) > self._limit:
            self.flush()
        self._rows.append(row)
        self._size += len(row)

    def flush(self) -> None:
        if not self._rows:
            return
        self._write(self.number, self._offset, self._header + b"".join(self._rows))
        self.number += 1
        self._offset += len(self._rows)
        self._rows = []
        self._size = len(self._header)


def split_object(
    stream: Readable,
    source: SourceSpec,
    limits: Limits,
    *,
    gzipped: bool,
    part_bytes: int,
    write: Callable[[int, int, bytes], None],
) -> Split:
    """Cut the object read from ``stream`` into parts; ``write(number, offset, body)`` stores each one.

    `Unsplittable` when validate would reject the object whole; the parts written until then are left for
    the staging area's expiry (nothing lists them: the object goes to quarantine).
    """
    if source.format not in ("csv", "jsonl"):
        raise ValueError(f"a {source.format} source is never split")
    if part_bytes < 1:
        raise ValueError("part_bytes must be positive")
    chosen: list[str] = []
    chunks = _chunks(stream, gzipped=gzipped, max_bytes=limits.max_fanout_object_bytes)
    lines = _lines(
        _texts(chunks, source.encoding, chosen), csv_lines=source.format == "csv", max_chars=limits.max_object_bytes
    )
    if source.format == "jsonl":
        records, blank, parts = _split_jsonl(lines, write, part_bytes)
    else:
        records, blank, parts = _split_csv(lines, source, limits, write, part_bytes)
    if records == 0:
        raise Unsplittable(NO_RECORDS, "text")
    return Split(parts=parts, records=records, skipped_blank=blank, encoding=chosen[0])


def _split_jsonl(
    lines: Iterator[str], write: Callable[[int, int, bytes], None], part_bytes: int
) -> tuple[int, int, int]:
    parts = _Parts(write, part_bytes, b"")
    records = blank = 0
    for line in lines:
        if line.strip():
            records += 1
        else:
            blank += 1
        parts.add(line.encode())
    parts.flush()
    return records, blank, parts.number


def _split_csv(
    lines: Iterator[str],
    source: SourceSpec,
    limits: Limits,
    write: Callable[[int, int, bytes], None],
    part_bytes: int,
) -> tuple[int, int, int]:
    """A line without a quote (and no longer than a field may be) is one whole record, as `csv.reader` would
    read it; any other line goes to the reader, which takes as many more lines as its record spans."""
    consumed: list[str] = []  # the lines csv.reader took for the record it is reading
    pushed: list[str] = []  # the line handed to the reader next

    def feed() -> Iterator[str]:
        while True:
            line = pushed.pop() if pushed else next(lines, None)
            if line is None:
                return
            consumed.append(line)
            yield line

    csv_field_limit(limits)
    field_limit = csv.field_size_limit()
    reader = csv.reader(feed(), delimiter=source.delimiter)
    try:
        header = next(reader)
    except (StopIteration, csv.Error):
        raise Unsplittable(NO_HEADER, "text") from None
    try:
        csv_columns(header, source)
    except ObjectRejected as rejected:
        raise Unsplittable(rejected.reason, "text") from None
    header_text = "".join(consumed)
    if header_text.endswith("\r"):  # else a part whose first row is a blank "\n" would read one CRLF there
        header_text += "\n"
    parts = _Parts(write, part_bytes, header_text.encode())
    consumed.clear()
    records = blank = 0
    delimiter = source.delimiter
    for line in lines:
        if '"' not in line and len(line) <= field_limit:  # the fast path: one line, one record
            empty = not line.replace(delimiter, "").strip()
            text = line
        else:
            pushed.append(line)
            row: list[str] | None
            try:
                row = next(reader)
            except StopIteration:  # pragma: no cover - a pushed line always yields a row
                break
            except csv.Error:  # the part's reader meets the same error in the same lines: a reject there
                row = None
            empty = row is not None and not any(cell.strip() for cell in row)
            text = "".join(consumed)
            consumed.clear()
        if empty:
            blank += 1
        else:
            records += 1
        parts.add(text.encode())
    parts.flush()
    return records, blank, parts.number


# --- counting an unsplittable object ----------------------------------------------------------------


def count_rows(stream: Readable, source: SourceSpec, limits: Limits, *, gzipped: bool, counted: str) -> tuple[int, int]:
    """(records, blank rows) of an unsplittable object, as validate's `count_lines` counts them, streaming:
    ``counted`` "text" decodes it (`Unsplittable` when it does not decode: count it as "bytes" then), "bytes"
    reads its bytes as latin-1. No data line: one record, the object."""
    chunks = _chunks(stream, gzipped=gzipped, max_bytes=limits.max_fanout_object_bytes)
    if counted == "bytes":
        texts: Iterator[str] = (chunk.decode("latin-1") for chunk in chunks)
    else:
        texts = _texts(chunks, source.encoding, [])
    records = blank = 0
    header = source.format == "csv"
    for line in _lines(texts, csv_lines=False, max_chars=None):
        content = line.strip()
        if not content or (source.format == "csv" and not content.replace(source.delimiter, "").strip()):
            blank += 1
        elif header:
            header = False
        else:
            records += 1
    return (records, blank) if records else (1, 0)
