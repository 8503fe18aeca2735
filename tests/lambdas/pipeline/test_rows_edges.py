"""The splitter's edges (lambdas/pipeline/rows.py): part names that refuse what they do not name, the reason
limit, a CSV without a usable header, the declared delimiter deciding where a quoted record ends, and a row the
CSV reader cannot read counted as a record (its part rejects it), never as a blank row."""

from __future__ import annotations

import csv
import gzip
import io
from functools import partial

import pytest
from pipeline import keys, rows
from pipeline.rows import CHUNK_BYTES, Unsplittable
from pipeline.validation import (
    MAX_REASON_CHARS,
    NO_HEADER,
    NO_RECORDS,
    ObjectRejected,
    csv_field_limit,
    validate_bytes,
)

from tests.lambdas.pipeline.test_row_fanout import JSONL, LIMITS, SOURCE, Trickle, cut

RUN, KEY, OTHER = "run-1", "datasets/d/purchases/a.csv", "datasets/d/purchases/b.csv"
LIMITS_BIG = LIMITS.model_copy(update={"max_object_bytes": 4 << 20})


def test_part_names_refuse_what_they_do_not_name():
    with pytest.raises(ValueError, match=r"^unknown part kind 'nope'$"):
        rows.parts_prefix(RUN, KEY, "nope")
    with pytest.raises(ValueError, match=r"^a rows part is named by its number and offset: rows_key$"):
        rows.part_key(RUN, KEY, "rows", 0)
    assert rows.part_of(RUN, KEY, rows.rows_key(RUN, KEY, 3, 120)) == (3, 120)
    # A rows part of another object of the run: same length of prefix, a name that would parse.
    stranger = rows.rows_key(RUN, OTHER, 3, 120)
    with pytest.raises(keys.LayoutError) as raised:
        rows.part_of(RUN, KEY, stranger)
    assert str(raised.value) == f"'{stranger}' is not a rows part of {KEY} in run {RUN}"


@pytest.mark.parametrize(
    ("length", "kept"), [(2 * MAX_REASON_CHARS, 2 * MAX_REASON_CHARS), (2 * MAX_REASON_CHARS + 1, 2 * MAX_REASON_CHARS)]
)
def test_a_reason_is_cut_at_twice_the_reason_limit(length, kept):
    assert len(Unsplittable("x" * length, "text").reason) == kept


def test_a_csv_whose_header_the_reader_refuses_is_unsplittable_without_a_header_counted_as_text():
    csv_field_limit(LIMITS)
    data = ('"' + "a" * (csv.field_size_limit() + 1) + '"\n1,2,3\n').encode()
    with pytest.raises(Unsplittable) as raised:
        cut(data, SOURCE, LIMITS, part_bytes=64)
    assert (raised.value.reason, raised.value.counted) == (NO_HEADER, "text")  # its decoded text's lines count


def test_a_header_that_does_not_match_is_unsplittable_with_validates_reason_counted_as_text():
    data = b"order_id,customer\n1,2\n"
    with pytest.raises(ObjectRejected) as whole:
        validate_bytes(data, SOURCE, LIMITS)
    with pytest.raises(Unsplittable) as raised:
        cut(data, SOURCE, LIMITS, part_bytes=64)
    assert (raised.value.reason, raised.value.counted) == (whole.value.reason, "text")


def test_the_declared_delimiter_decides_where_a_quoted_record_ends():
    # With ";" the quote after "x," is inside a field, so each line is a record; read with ",", the quote would
    # open a field and the two lines would make one record.
    semicolons = SOURCE.model_copy(update={"delimiter": ";"})
    data = b'order_id;customer_id;service\nx,"y;c1;s1\nz";c2;s2\n'
    split = rows.split_object(
        io.BytesIO(data), semicolons, LIMITS, gzipped=False, part_bytes=1 << 10, write=lambda *_: None
    )
    assert (split.records, split.skipped_blank) == (2, 0)
    assert len(validate_bytes(data, semicolons, LIMITS).valid) == 2  # as validate reads the whole object


def test_a_row_the_csv_reader_refuses_is_a_record_for_the_part_to_reject_not_a_blank_row():
    csv_field_limit(LIMITS)
    too_long = '"' + "a" * (csv.field_size_limit() + 1) + '",b,c\n'
    data = ("order_id,customer_id,service\n" + too_long + "1,2,3\n").encode()
    split = rows.split_object(
        io.BytesIO(data), SOURCE, LIMITS, gzipped=False, part_bytes=1 << 20, write=lambda *_: None
    )
    assert (split.records, split.skipped_blank) == (2, 0)


def test_a_utf16_byte_order_mark_is_a_reject_unless_the_encoding_is_auto():
    data = "order_id,customer_id,service\n1,2,3\n".encode("utf-16")
    with pytest.raises(Unsplittable) as raised:
        cut(data, SOURCE, LIMITS, part_bytes=1 << 10)
    reason = "UTF-16/UTF-32 byte-order mark: the source is read as utf-8 (declare utf-16)"
    assert (raised.value.reason, raised.value.counted) == (reason, "bytes")  # not decodable: its bytes' lines count
    auto = SOURCE.model_copy(update={"encoding": "auto"})
    ((number, offset, body),) = cut(data, auto, LIMITS, part_bytes=1 << 10)
    assert (number, offset, body) == (0, 0, b"order_id,customer_id,service\n1,2,3\n")  # parts are UTF-8


A, B, C = b'{"a":1}\n', b'{"a":2}\n', b'{"a":3}\n'  # 8 bytes each


@pytest.mark.parametrize(
    ("part_bytes", "parts"),
    [
        (16, [(0, A + B), (2, C)]),  # exactly two rows fit
        (15, [(0, A), (1, B), (2, C)]),  # one byte short: a row a part (never cut)
        (1 << 10, [(0, A + B + C)]),
    ],
)
def test_a_part_holds_rows_up_to_exactly_its_size(part_bytes, parts):
    found = cut(A + B + C, JSONL, LIMITS, part_bytes=part_bytes)
    assert [(offset, body) for _, offset, body in found] == parts
    assert [number for number, _, _ in found] == list(range(len(parts)))


def test_what_is_never_split_and_an_object_of_no_records():
    text = SOURCE.model_copy(update={"format": "text"})
    with pytest.raises(ValueError, match=r"^a text source is never split$"):
        cut(b"words", text, LIMITS, part_bytes=1 << 10)
    with pytest.raises(ValueError, match=r"^part_bytes must be positive$"):
        cut(b'{"a":1}\n', JSONL, LIMITS, part_bytes=0)
    with pytest.raises(Unsplittable) as raised:
        cut(b"order_id,customer_id,service\n,,\n\n", SOURCE, LIMITS, part_bytes=1 << 10)
    assert (raised.value.reason, raised.value.counted) == (NO_RECORDS, "text")


def test_encoding_auto_reads_utf8_whose_first_megabyte_ends_inside_a_character():
    # The sample auto chooses from is the first CHUNK_BYTES: a character cut there is not a reason to guess again.
    auto = SOURCE.model_copy(update={"encoding": "auto"})
    header = b"order_id,customer_id,service\n"
    row = "1,2,caf\u00e9\n".encode()  # the é's two bytes straddle the boundary: "1,2,caf" ends at CHUNK_BYTES - 1
    need = CHUNK_BYTES - len(b"1,2,caf") - 1 - len(header)
    lines = need // 6 - 1
    pad = b"1" * (need - 6 * lines - 5) + b",2,x\n"
    data = header + b"1,2,x\n" * lines + pad + row
    assert data[CHUNK_BYTES - 1 : CHUNK_BYTES + 1] == "\u00e9".encode()
    body = b"".join(part for _, _, part in cut(data, auto, LIMITS_BIG, part_bytes=1 << 22))
    assert body.endswith(row)


def test_encoding_auto_still_rejects_a_nul_byte():
    auto = SOURCE.model_copy(update={"encoding": "auto"})
    data = b"order_id,customer_id,service\n1,2\x00,3\n"
    with pytest.raises(Unsplittable) as raised:
        cut(data, auto, LIMITS, part_bytes=1 << 10)
    reason = f"binary content: NUL byte at offset {data.index(0)}"
    assert (raised.value.reason, raised.value.counted) == (reason, "bytes")


def test_an_empty_object_is_unsplittable_and_one_record():
    with pytest.raises(Unsplittable) as raised:
        cut(b"", JSONL, LIMITS, part_bytes=1 << 10)
    assert (raised.value.reason, raised.value.counted) == ("empty object", None)  # counted: the object itself


@pytest.mark.parametrize("data", [b"\x00{}\n", b'{"a":1}\n{"a":\x002}\n\x00\n'])
def test_the_first_nul_byte_is_named_even_at_offset_zero(data):
    with pytest.raises(Unsplittable) as raised:
        cut(data, JSONL, LIMITS, part_bytes=1 << 10)
    assert (raised.value.reason, raised.value.counted) == (
        f"binary content: NUL byte at offset {data.index(0)}",
        "bytes",
    )


@pytest.mark.parametrize(("expanded", "refused"), [(1000, False), (1001, True)])
def test_a_gzip_object_may_expand_to_exactly_max_fanout_object_bytes(expanded, refused):
    limits = LIMITS.model_copy(update={"max_fanout_object_bytes": 1000})
    data = gzip.compress(b'{"a":1}\n' * 125 + b" " * (expanded - 1000))  # 1,000 bytes of records, then spaces
    if not refused:
        assert cut(data, JSONL, limits, part_bytes=1 << 10, gzipped=True)
        return
    with pytest.raises(Unsplittable) as raised:
        cut(data, JSONL, limits, part_bytes=1 << 10, gzipped=True)
    reason = "gzip object expands past max_fanout_object_bytes 1000: not decompressed further"
    assert (raised.value.reason, raised.value.counted) == (reason, None)


@pytest.mark.parametrize("refused", [False, True])
@pytest.mark.parametrize(
    ("source", "first", "end"),
    [(JSONL, b'{"a":1}\n', b"\n"), (JSONL, b"", b"\n"), (SOURCE, b"order_id,customer_id,service\r1,2,3\r", b"\r")],
    ids=["jsonl", "jsonl-first-row", "csv-cr"],
)
def test_a_row_may_be_max_object_bytes_characters_read_a_byte_at_a_time(source, first, end, refused):
    # The row's characters are counted as they arrive, across reads, until its line is known to end: at the LF
    # for JSONL, so the LF is not held; a lone CR only when the next read does not start with LF, so it is.
    limits = LIMITS.model_copy(update={"max_object_bytes": 64})
    held = 64 + refused  # characters held at once
    row = b"1,2," + b"x" * (held - 1 - 4) if source is SOURCE else b'{"a":"' + b"x" * (held - 8) + b'"}'
    assert len(row + end) - (end == b"\n") == held
    split = partial(rows.split_object, Trickle(first + row + end, 1), source, limits, gzipped=False, part_bytes=1 << 10)
    if not refused:
        assert split(write=lambda *_: None).records == (2 if first else 1)
        return
    with pytest.raises(Unsplittable) as raised:
        split(write=lambda *_: None)
    reason = "a row of more than 64 characters (max_object_bytes): no part could hold it"
    assert (raised.value.reason, raised.value.counted) == (reason, "text")


@pytest.mark.parametrize(
    ("tail", "byte"), [(b'{"a":"\xff"}\n', 0xFF), (b'{"a":"\xc3', 0xC3)], ids=["mid", "at-the-end"]
)
def test_encoding_auto_that_chose_utf8_names_a_later_byte_that_is_not(tail, byte):
    # After the sample auto reads: a byte no UTF-8 holds, or the object ending inside a character.
    auto = JSONL.model_copy(update={"encoding": "auto"})
    line = b'{"a":1}\n'
    data = line * (CHUNK_BYTES // len(line) + 1) + tail
    with pytest.raises(Unsplittable) as raised:
        cut(data, auto, LIMITS_BIG, part_bytes=1 << 22)
    reason = (
        f"encoding auto chose utf-8 from the first {CHUNK_BYTES} bytes, but byte 0x{byte:02x} at offset "
        f"{data.index(byte)} is not utf-8: declare the encoding"
    )
    assert (raised.value.reason, raised.value.counted) == (reason, "bytes")


def test_a_long_row_read_in_big_pieces_is_refused_counting_the_piece_it_starts_in():
    # Reads of 40 bytes: the first ends a line and holds the row's first 32 characters; the second takes the row
    # to 72 held characters, past the 64 allowed.
    limits = LIMITS.model_copy(update={"max_object_bytes": 64})
    data = b'{"a":1}\n' + b'{"a":"' + b"x" * 92 + b'"}\n'
    with pytest.raises(Unsplittable, match=r"^a row of more than 64 characters"):
        rows.split_object(Trickle(data, 40), JSONL, limits, gzipped=False, part_bytes=1 << 10, write=lambda *_: None)
