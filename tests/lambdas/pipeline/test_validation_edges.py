"""The validation module's edges the other tests leave open: header misfits and their hints word for word, the row
count of a rejected object, a decompression that stops at its limit, and an encoding guessed from the object's
start that its end contradicts."""

from __future__ import annotations

import gzip
import hashlib
import tracemalloc
import zlib

import pytest
from pipeline.contract import FieldSpec, SourceSpec
from pipeline.validation import (
    MAX_REASON_CHARS,
    NO_RECORDS,
    ObjectRejected,
    _counted,
    csv_columns,
    decode_as,
    gunzip,
    key_digest,
    validate_object,
)

from tests.lambdas.pipeline.harness import pipeline_settings

PAIR = SourceSpec(
    name="pair",
    format="csv",
    fields=(FieldSpec(name="a", type="string"), FieldSpec(name="b", type="string")),
    knowledge="none",
)
SCHEMA = "does not match the schema ['a', 'b']"


def rejected(header: list[str], source: SourceSpec = PAIR) -> str:
    with pytest.raises(ObjectRejected) as raised:
        csv_columns(header, source)
    return raised.value.reason


def test_a_single_header_cell_holding_semicolons_hints_at_the_delimiter():
    assert rejected(["a;b"]) == (
        f"CSV header ['a;b'] {SCHEMA}: unknown column(s) ['a;b'] "
        "(the header looks semicolon-separated: declare delimiter: semicolon)"
    )
    assert rejected(["zz"]) == f"CSV header ['zz'] {SCHEMA}: unknown column(s) ['zz']"  # one cell, no separator


def test_no_delimiter_hint_once_tab_or_semicolon_is_declared():
    tabs = SourceSpec(name="tabs", format="csv", fields=PAIR.fields, knowledge="none", delimiter="\t")
    assert rejected(["a;b"], tabs) == f"CSV header ['a;b'] {SCHEMA}: unknown column(s) ['a;b']"


def test_a_column_twice_is_named_as_such_before_unknown_ones():
    assert rejected(["a", "a", "b"]) == f"CSV header ['a', 'a', 'b'] {SCHEMA}: a column appears twice"
    assert rejected(["a", "a", "zz"]) == f"CSV header ['a', 'a', 'zz'] {SCHEMA}: a column appears twice"


def test_the_loose_matching_hint_only_when_every_unknown_name_would_match_loosely():
    assert rejected(["A", "b"]) == (
        f"CSV header ['A', 'b'] {SCHEMA}: unknown column(s) ['A'] "
        "(names differ in case, quotes or spacing only: declare match_header: loose)"
    )
    assert rejected(["A", "zz"]) == f"CSV header ['A', 'zz'] {SCHEMA}: unknown column(s) ['A', 'zz']"


def test_ignored_columns_are_matched_like_the_header():
    loose = SourceSpec(
        name="loose",
        format="csv",
        fields=PAIR.fields,
        knowledge="none",
        match_header="loose",
        ignore_columns=("Row Number",),
    )
    assert csv_columns(["row number", " A ", '"b"'], loose) == [None, "a", "b"]


def test_a_long_header_reason_is_cut_at_twice_the_reason_limit():
    reason = rejected([f"column_{n:04d}" for n in range(100)])
    assert len(reason) == 2 * MAX_REASON_CHARS
    assert reason.startswith("CSV header ['column_0000', 'column_0001'")


def test_a_rejected_object_counts_its_rows_by_the_declared_delimiter_and_a_document_stays_one():
    semicolons = SourceSpec(name="s", format="csv", fields=PAIR.fields, knowledge="none", delimiter=";")
    counted = _counted(ObjectRejected("bad"), "a;b\n1;2\n;;\n3;4\n", semicolons)
    assert (counted.reason, counted.records, counted.skipped_blank) == ("bad", 2, 1)
    document = pipeline_settings().sources["feedback"]
    assert document.format == "text"
    kept = _counted(ObjectRejected("bad"), "one\ntwo\nthree\n", document)
    assert (kept.records, kept.skipped_blank) == (1, 0)


def test_decompression_stops_one_byte_past_the_limit():
    """A 64 MB expansion of 64 KB is rejected after reading max_bytes + 1 bytes, not the whole of it."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)  # wbits 31: a gzip stream
    chunk = bytes(1 << 20)
    bomb = b"".join(compressor.compress(chunk) for _ in range(64)) + compressor.flush()
    assert len(bomb) < 1 << 17
    tracemalloc.start()
    try:
        with pytest.raises(ObjectRejected, match="expands past max_object_bytes 1000"):
            gunzip(bomb, 1000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20
    assert gunzip(gzip.compress(b"x" * 1000), 1000) == b"x" * 1000


def test_an_encoding_guessed_from_the_start_that_the_end_contradicts_is_a_reject_naming_the_byte():
    data = b"a" * (1 << 20) + b"\xff"
    with pytest.raises(ObjectRejected) as raised:
        decode_as(data, "auto")
    assert raised.value.reason == (
        "detected ascii from the first 1048576 bytes, but byte 0xff at offset 1048576 is not ascii: "
        "declare the encoding"
    )


def test_no_tab_hint_once_semicolon_is_declared():
    semicolons = SourceSpec(name="s", format="csv", fields=PAIR.fields, knowledge="none", delimiter=";")
    assert rejected(["a\tb"], semicolons) == f"CSV header ['a\\tb'] {SCHEMA}: unknown column(s) ['a\\tb']"
    assert rejected(["a\tb"]).endswith("(the header looks tab-separated: declare delimiter: tab)")


def test_a_key_digest_is_the_sha256_of_the_compact_json_array():
    """Claims in the duplicates table outlive deploys: the digest must stay this exact function of the values."""
    values = ("A-1", "Zoë", 7, None)
    expected = hashlib.sha256('["A-1","Zoë",7,null]'.encode()).hexdigest()
    assert key_digest(values) == expected


def test_an_object_of_a_header_and_blank_rows_is_one_rejected_record_and_a_part_of_them_is_blanks_only():
    limits = pipeline_settings().limits
    with pytest.raises(ObjectRejected) as raised:
        validate_object("a,b\n\n\n", PAIR, limits)
    # The object itself is the record the quarantine holds; its blank rows are not counted a second time.
    assert (raised.value.reason, raised.value.records, raised.value.skipped_blank, raised.value.rows) == (
        NO_RECORDS,
        1,
        0,
        1,
    )
    part = validate_object("a,b\n\n\n", PAIR, limits, offset=40, part=True)  # the split judged the object
    assert (part.valid, part.rejects, part.skipped_blank) == ([], [], 2)
