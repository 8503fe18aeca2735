"""The streaming split decodes an object as validate does: the same encoding chosen, the same reason for bytes that
do not decode (wherever a read ends), and "bytes" counting for an undecodable object, whose rows validate counts as
the lines of its bytes read as latin-1.

Expected reasons come from validate's whole-object `validate_bytes` on the same bytes, or, for what only a stream
can meet (`encoding: auto` chosen from the first read), from offsets computed here from the bytes themselves.
"""

from __future__ import annotations

import gzip
import io

import pytest
from pipeline import rows
from pipeline.contract import FieldSpec, Limits, SourceSpec
from pipeline.validation import ObjectRejected, count_lines, validate_bytes

from tests.lambdas.pipeline.test_row_fanout import Trickle

JSONL = SourceSpec(
    name="s", format="jsonl", fields=(FieldSpec(name="a", type="string", required=False),), knowledge="none"
)
LIMITS = Limits(max_object_bytes=1 << 20, max_record_bytes=4096, max_document_bytes=4096, row_fanout_bytes=1024)
READS = (1, 3, 7, 1 << 20)  # bytes per read: a character, a CRLF or a bad byte split across reads, and whole


def split(data: bytes, source: SourceSpec, step: int, *, gzipped: bool = False) -> rows.Split:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(rows, "CHUNK_BYTES", step)
        return rows.split_object(
            Trickle(data, step), source, LIMITS, gzipped=gzipped, part_bytes=256, write=lambda *_: None
        )


def rejected(data: bytes, source: SourceSpec, step: int) -> rows.Unsplittable:
    with pytest.raises(rows.Unsplittable) as caught:
        split(data, source, step)
    return caught.value


def validate_reason(data: bytes, source: SourceSpec) -> str:
    with pytest.raises(ObjectRejected) as caught:
        validate_bytes(data, source, LIMITS)
    return str(caught.value)


LINES = b'{"a": "x"}\n' * 5  # 55 bytes of plain ASCII records
UNDECODABLE = [
    # (declared encoding, bytes): a byte the encoding has no character for, mid-object and at its very end
    ("utf-8", LINES + b'{"a": "\xe9t\xe9"}\n' + LINES),  # latin-1 é: an invalid continuation byte
    ("utf-8", LINES + b'{"a": "\xc3'),  # a two-byte character cut at the end: unexpected end of data
    ("utf-8", LINES + b"\xff\n"),  # a byte UTF-8 never uses
    ("cp1252", LINES + b'{"a": "\x81"}\n'),  # one of cp1252's five undefined bytes
    ("utf-16", '{"a": "é"}\n'.encode("utf-16") + b"\x00"),  # an odd byte after the last code unit
]


@pytest.mark.parametrize(("encoding", "data"), UNDECODABLE)
@pytest.mark.parametrize("step", READS)
def test_bytes_that_do_not_decode_give_validates_reason_and_count_as_bytes(encoding, data, step):
    source = JSONL.model_copy(update={"encoding": encoding})
    error = rejected(data, source, step)
    assert error.reason == validate_reason(data, source)
    assert error.counted == "bytes"


def test_the_reasons_name_the_byte_and_its_offset_in_the_object():
    """validate's wording, spelled out once from the bytes (the offsets are where the bad byte is)."""
    utf8 = LINES + b'{"a": "\xe9t"}\n'
    at = len(LINES) + len(b'{"a": "')
    assert rejected(utf8, JSONL, 3).reason == f"not UTF-8: byte 0xe9 at offset {at} (invalid continuation byte)"
    cut = LINES + b"\xc3"
    assert rejected(cut, JSONL, 7).reason == f"not UTF-8: byte 0xc3 at offset {len(cut) - 1} (unexpected end of data)"
    cp1252 = LINES + b"\x81\n"
    assert rejected(cp1252, JSONL.model_copy(update={"encoding": "cp1252"}), 1).reason == (
        f"not cp1252: byte 0x81 at offset {len(LINES)}"
    )
    utf16 = '{"a": 1}\n'.encode("utf-16") + b"\x00"
    assert rejected(utf16, JSONL.model_copy(update={"encoding": "utf-16"}), 3).reason == (
        f"not UTF-16: truncated data at offset {len(utf16) - 1}"
    )


@pytest.mark.parametrize("step", [16, 55])
def test_auto_chooses_from_the_first_read_and_names_a_later_byte_that_does_not_fit(step):
    """The first read is ASCII, so UTF-8 is chosen; the é further on cannot be UTF-8. validate, holding the whole
    object, would detect another encoding instead: the stream says to declare it."""
    data = LINES + b'{"a": "caf\xe9"}\n'
    at = len(LINES) + len(b'{"a": "caf')
    error = rejected(data, JSONL.model_copy(update={"encoding": "auto"}), step)
    assert error.reason == (
        f"encoding auto chose utf-8 from the first {step} bytes, but byte 0xe9 at offset {at} "
        "is not utf-8: declare the encoding"
    )
    assert error.counted == "bytes"


def test_auto_reads_utf8_as_utf8_and_a_character_cut_at_the_end_of_the_object_as_not_utf8():
    auto = JSONL.model_copy(update={"encoding": "auto"})
    clean = LINES + '{"a": "café"}\n'.encode()
    assert split(clean, auto, 1 << 20).encoding == "utf-8"
    assert validate_bytes(clean, auto, LIMITS).encoding == "utf-8"
    # The whole object in one read that ends inside a character: not UTF-8 (the read was the last), so detected,
    # as validate detects it; a decoder that waited for more bytes would have chosen UTF-8 and failed at the end.
    cut = LINES + b'{"a": "x"}\n\xc3'
    assert split(cut, auto, 1 << 20).encoding == validate_bytes(cut, auto, LIMITS).encoding != "utf-8"


def test_auto_with_nothing_detectable_is_rejected_as_bytes_with_validates_reason():
    noise = bytes(range(0x80, 0x100)) * 4  # no encoding charset-normalizer knows reads this as text
    auto = JSONL.model_copy(update={"encoding": "auto"})
    error = rejected(noise, auto, 1 << 20)
    assert error.reason == validate_reason(noise, auto)
    assert error.reason == "encoding not detected: the object is not text in any encoding charset-normalizer knows"
    assert error.counted == "bytes"


@pytest.mark.parametrize("counted", ["text", "bytes"])
def test_count_rows_reads_a_gzip_object_decompressed(counted):
    body = b'{"a": "x"}\n' * 40 + b"\n \n" + b'{"a": "y"}\n' * 2
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(rows, "CHUNK_BYTES", 7)
        found = rows.count_rows(io.BytesIO(gzip.compress(body)), JSONL, LIMITS, gzipped=True, counted=counted)
    lines = body.splitlines()
    assert found == (sum(1 for line in lines if line.strip()), sum(1 for line in lines if not line.strip()))


def test_count_rows_stops_a_gzip_object_that_expands_past_the_fanout_cap():
    limits = LIMITS.model_copy(update={"max_fanout_object_bytes": 10_000})
    bomb = gzip.compress(b'{"a": "x"}\n' * 2_000)  # 22,000 bytes once decompressed
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(rows, "CHUNK_BYTES", 4096)
        with pytest.raises(rows.Unsplittable, match="expands past max_fanout_object_bytes 10000"):
            rows.count_rows(io.BytesIO(bomb), JSONL, limits, gzipped=True, counted="bytes")


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_count_rows_ends_lines_where_validate_does_also_at_unicode_line_ends(fmt):
    """validate counts an unfit object's rows with `str.splitlines`, which also ends a line at \\x0c, \\x85 or
    U+2028; the streaming count must agree (a CSV's header included), not split at CR and LF only."""
    text = "h,h\n" + "a,b\x0cc,d\u2028e,f\x85\n,\n  \n" + "g,h\r\n" * 3
    source = JSONL.model_copy(update={"format": fmt})
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(rows, "CHUNK_BYTES", 5)
        found = rows.count_rows(io.BytesIO(text.encode()), source, LIMITS, gzipped=False, counted="text")
    assert found == count_lines(text, fmt)
    # By hand: 10 lines (\x85 then \n is two ends); blank: "", "  " and, in a CSV, the all-empty row ","
    assert found == ((6, 3) if fmt == "csv" else (8, 2))
