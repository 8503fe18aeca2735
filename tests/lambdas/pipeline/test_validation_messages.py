"""Validate step, exact wording and edges: type coercion, CSV rows, reject positions and raw values."""

from __future__ import annotations

import pytest
from pipeline.contract import FieldSpec, Limits, SourceSpec
from pipeline.validation import (
    ObjectRejected,
    _coerce,
    _csv_records,
    _type_name,
    canonical,
    check_record,
    decode,
    validate_object,
)

from tests.lambdas.pipeline.harness import pipeline_settings

SETTINGS = pipeline_settings()
PURCHASES = SETTINGS.sources["purchases"]
PROFILES = SETTINGS.sources["profiles"]
FEEDBACK = SETTINGS.sources["feedback"]
LIMITS = SETTINGS.limits
PAIR = SourceSpec(
    name="pair",
    format="csv",
    fields=(FieldSpec(name="a", type="string"), FieldSpec(name="b", type="string")),
    knowledge="none",
)
LONG = "x" * 39 + "yz"  # 41 characters: reasons quote the first 40


def rows(text: str, limits: Limits = LIMITS) -> list[tuple[int, object, object]]:
    return list(_csv_records(text, PAIR, limits))


@pytest.mark.parametrize(
    ("value", "name"),
    [
        ({}, "object"),
        ([], "array"),
        ("", "string"),
        (True, "boolean"),
        (1, "integer"),
        (1.5, "number"),
        (None, "NoneType"),
        ((1,), "tuple"),
    ],
)
def test_type_names(value, name):
    assert _type_name(value) == name


@pytest.mark.parametrize(
    ("spec", "value", "from_text", "expected"),
    [
        (FieldSpec(name="s", type="string", required=True), "  ", False, (None, "empty string for a required field")),
        (FieldSpec(name="s", type="string"), 3, False, (None, "expected a string, got integer")),
        (
            FieldSpec(name="s", type="string", allowed=("a", "b")),
            LONG,
            False,
            (None, f"'{'x' * 39}y' is not one of ['a', 'b']"),
        ),
        (FieldSpec(name="f", type="boolean"), " True ", True, (True, None)),
        (FieldSpec(name="f", type="boolean"), "YES", True, (True, None)),
        (FieldSpec(name="f", type="boolean"), "no", True, (False, None)),
        (FieldSpec(name="f", type="boolean"), "0", True, (False, None)),
        (FieldSpec(name="f", type="boolean"), "maybe", True, (None, "expected a boolean, got string")),
        (FieldSpec(name="f", type="boolean"), "true", False, (None, "expected a boolean, got string")),
        (FieldSpec(name="f", type="boolean"), [True], False, (None, "expected a boolean, got array")),
        (FieldSpec(name="n", type="integer"), "12.0", True, (None, "'12.0' is not a valid integer")),
        (FieldSpec(name="n", type="integer"), "1e3", True, (None, "'1e3' is not a valid integer")),
        (FieldSpec(name="n", type="integer"), LONG, True, (None, f"'{'x' * 39}y' is not a valid integer")),
        (FieldSpec(name="n", type="number"), "1e3", True, (1000.0, None)),
        (FieldSpec(name="n", type="number"), {"v": 1}, False, (None, "expected number, got object")),
        (FieldSpec(name="n", type="number"), True, False, (None, "expected number, got boolean")),
        (FieldSpec(name="n", type="number"), float("inf"), False, (None, "not a finite number")),
        (FieldSpec(name="n", type="number"), "nan", True, (None, "not a finite number")),
        (FieldSpec(name="n", type="integer"), 2.5, False, (None, "expected integer, got 2.5")),
        (FieldSpec(name="n", type="number", minimum=0), 0, False, (0, None)),
        (FieldSpec(name="n", type="number", minimum=0), -0.5, False, (None, "-0.5 is below minimum 0")),
        (FieldSpec(name="n", type="integer", maximum=10), 10, False, (10, None)),
        (FieldSpec(name="n", type="integer", maximum=10), 11, False, (None, "11 is above maximum 10")),
        (FieldSpec(name="n", type="number", maximum=2.5), 2.75, False, (None, "2.75 is above maximum 2.5")),
        (FieldSpec(name="d", type="date"), 20240101, False, (None, "expected an ISO date string, got integer")),
        (FieldSpec(name="d", type="datetime"), None, False, (None, "expected an ISO datetime string, got NoneType")),
        (FieldSpec(name="d", type="date"), LONG, False, (None, f"'{'x' * 39}y' is not an ISO date")),
        (FieldSpec(name="d", type="date"), "2024-02-29", False, ("2024-02-29", None)),
    ],
)
def test_coerce_results_and_reasons(spec, value, from_text, expected):
    assert _coerce(value, spec, from_text=from_text) == expected


def test_an_integral_float_becomes_an_int():
    value, problem = _coerce(12.0, FieldSpec(name="n", type="integer"), from_text=False)
    assert problem is None
    assert type(value) is int
    assert value == 12


def test_whitespace_is_missing_for_typed_fields_and_empty_for_strings():
    row = {"order_id": "O1", "customer_id": "C1", "service": "x", "amount": "9.5", "purchased_on": "2024-01-02"}
    assert check_record(dict(row, amount="  "), PURCHASES) == (None, "missing required field 'amount'")
    assert check_record(dict(row, order_id="  "), PURCHASES) == (
        None,
        "field 'order_id': empty string for a required field",
    )


def test_several_unexpected_fields_are_listed_in_order():
    assert check_record({"zeta": 1, "alpha": 2}, PROFILES) == (None, "unexpected field(s) alpha, zeta")


def test_csv_without_a_header_row():
    with pytest.raises(ObjectRejected) as info:
        rows("")
    assert info.value.reason == "CSV without a header row"


def test_csv_empty_cells_are_none_and_blank_rows_are_skipped_but_counted():
    assert rows("a,b\nx,\n,\n\ny,z\n") == [
        (2, ["x", ""], {"a": "x", "b": None}),
        (3, ["", ""], None),  # blank: counted as skipped_blank by validate_object
        (4, [], None),
        (5, ["y", "z"], {"a": "y", "b": "z"}),
    ]


def test_csv_keeps_line_breaks_inside_quoted_cells():
    assert rows('a,b\r\n"one\r\ntwo",z\r\n') == [(2, ["one\r\ntwo", "z"], {"a": "one\r\ntwo", "b": "z"})]


def test_csv_accepts_bare_carriage_return_line_ends():
    assert rows("a,b\rx,y\r") == [(2, ["x", "y"], {"a": "x", "b": "y"})]


def test_csv_field_limit_is_twice_max_record_bytes_at_least_128_kib():
    # Default limits: 2 * 65536 = 131072. A cell of 131072 characters is read (then too large), one more is not.
    at_limit = rows(f"a,b\n{'x' * 131072},z\n")
    assert [(n, reason) for n, _, reason in at_limit] == [
        (2, f"record of {131072 + 1 + 2} bytes exceeds max_record_bytes 65536")
    ]
    past_limit = rows(f"a,b\n{'x' * 131073},z\nlast,row\n")
    assert past_limit[0][:2] == (2, None)
    assert str(past_limit[0][2]).startswith("unreadable CSV row: field larger than field limit (131072)")
    # the reader goes on after an unreadable row, and counts it
    assert past_limit[1:] == [(3, ["last", "row"], {"a": "last", "b": "row"})]


def test_csv_field_limit_follows_a_larger_max_record_bytes():
    limits = Limits(max_object_bytes=10_000_000, max_record_bytes=100_000, max_document_bytes=1_000_000)
    # 150000 < 2 * 100000: read, then rejected by size
    (read,) = rows(f"a,b\n{'x' * 150_000},z\n", limits)
    assert read[2] == f"record of {150_000 + 1 + 2} bytes exceeds max_record_bytes 100000"
    # 200001 > 2 * 100000: not read
    (unread,) = rows(f"a,b\n{'x' * 200_001},z\n", limits)
    assert str(unread[2]).startswith("unreadable CSV row: field larger than field limit (200000)")


def test_rejects_keep_the_raw_record_and_positions():
    text = '{"customer_id": 1}\n{"customer_id": 1}\nnot json\n'
    result = validate_object(text, PROFILES, LIMITS)
    assert [(r.position, r.raw) for r in result.rejects] == [
        (1, '{"customer_id": 1}'),
        (2, '{"customer_id": 1}'),
        (3, "not json"),
    ]


def test_a_duplicate_reject_keeps_its_raw_line():
    record = (
        '{"customer_id": "C1", "full_name": "A B", "email": "a@example.com", "age_band": "25-34", '
        '"region": "north", "plan": "basic", "tenure_months": 1, "retained": true}'
    )
    result = validate_object(f"{record}\n{record}\n", PROFILES, LIMITS)
    assert [(r.position, r.reason, r.raw) for r in result.rejects] == [
        (2, "duplicate key customer_id=C1 of record 1 in the same object", record)
    ]


def test_an_object_of_blank_lines_is_rejected_with_the_reason():
    with pytest.raises(ObjectRejected) as info:
        validate_object("\n  \n", PROFILES, LIMITS)
    assert info.value.reason == "no records: the object holds only a header or blank lines"


def test_a_text_document_is_at_position_one():
    assert [v.position for v in validate_object("hello", FEEDBACK, LIMITS).valid] == [1]
    small = Limits(max_object_bytes=100, max_record_bytes=10, max_document_bytes=3)
    assert [(r.position, r.reason) for r in validate_object("hello", FEEDBACK, small).rejects] == [
        (1, "document of 5 bytes exceeds max_document_bytes 3")
    ]


@pytest.mark.parametrize(
    ("data", "offset"),
    [(b"\x00abc", 0), (b"ab\x00c\x00", 2)],
)
def test_the_first_nul_byte_is_reported(data, offset):
    with pytest.raises(ObjectRejected) as info:
        decode(data)
    assert info.value.reason == f"binary content: NUL byte at offset {offset}"


def test_canonical_json_keeps_non_ascii_characters():
    assert canonical({"b": "é", "a": 1}) == '{"a":1,"b":"é"}'
