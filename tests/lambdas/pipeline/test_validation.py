"""Validate step, pure part: decoding, parsing per format, schema checks, duplicates."""

from __future__ import annotations

import hashlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pipeline.validation import ObjectRejected, decode, validate_object

from tests.lambdas.pipeline.harness import pipeline_settings

SETTINGS = pipeline_settings()
PROFILES = SETTINGS.sources["profiles"]
PURCHASES = SETTINGS.sources["purchases"]
FEEDBACK = SETTINGS.sources["feedback"]
LIMITS = SETTINGS.limits
PROFILE = {
    "customer_id": "C00001",
    "full_name": "Amara Brennan",
    "email": "amara@example.com",
    "phone": None,
    "age_band": "25-34",
    "region": "north",
    "plan": "basic",
    "tenure_months": 12,
    "retained": True,
}


def jsonl(*rows: object) -> str:
    return "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty object"),
        (b" \n\t\n", "object holds only whitespace"),
        ("x".encode("utf-16"), "UTF-16/UTF-32 byte-order mark"),
        (b"abc\x00def", "binary content: NUL byte at offset 3"),
        ("café".encode("latin-1"), "not UTF-8: byte 0xe9 at offset 3"),
    ],
)
def test_objects_that_are_not_utf8_text_are_rejected_with_the_reason(data, reason):
    with pytest.raises(ObjectRejected) as rejected:
        decode(data)
    assert rejected.value.reason.startswith(reason)


def test_a_utf8_byte_order_mark_is_dropped():
    assert decode("\ufeff{}".encode()) == "{}"


def test_jsonl_records_are_checked_and_normalized():
    result = validate_object(jsonl(PROFILE, "", PROFILE | {"customer_id": "C00002", "plan": "gold"}), PROFILES, LIMITS)
    assert [v.position for v in result.valid] == [1]
    assert result.valid[0].record == PROFILE
    assert [(r.position, r.reason) for r in result.rejects] == [
        (3, "field 'plan': 'gold' is not one of ['basic', 'plus', 'premium']")
    ]
    assert result.records_in == 2  # the blank line is not a record


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"email": None}, "missing required field 'email'"),
        ({"ssn": "1"}, "unexpected field(s) ssn"),
        ({"tenure_months": "12"}, "field 'tenure_months': expected integer, got string"),
        ({"tenure_months": True}, "field 'tenure_months': expected integer, got boolean"),
        ({"tenure_months": 12.5}, "field 'tenure_months': expected integer, got 12.5"),
        ({"tenure_months": -1}, "field 'tenure_months': -1 is below minimum 0"),
        ({"retained": "yes"}, "field 'retained': expected a boolean, got string"),
        ({"customer_id": "C" * 17}, "field 'customer_id': 17 characters exceed max_length 16"),
        ({"full_name": 7}, "field 'full_name': expected a string, got integer"),
    ],
)
def test_schema_failures_name_the_field_and_the_reason(change, reason):
    result = validate_object(jsonl(PROFILE | change), PROFILES, LIMITS)
    assert [r.reason for r in result.rejects] == [reason]
    assert result.rejects[0].raw == json.dumps(PROFILE | change)  # the record as read, for review


def test_bad_json_non_objects_and_huge_lines_are_rejected_per_record():
    huge = json.dumps(PROFILE | {"full_name": "x" * LIMITS.max_record_bytes})
    result = validate_object(jsonl('{"customer_id": ', "[1, 2]", huge, PROFILE), PROFILES, LIMITS)
    reasons = [r.reason for r in result.rejects]
    assert reasons[0].startswith("invalid JSON: ")
    assert reasons[1] == "not a JSON object"
    assert reasons[2].endswith(f"exceeds max_record_bytes {LIMITS.max_record_bytes}")
    assert len(result.valid) == 1


def test_duplicates_within_an_object_are_rejected_whatever_their_formatting():
    spaced = json.dumps(dict(reversed(list(PROFILE.items()))), indent=None, separators=(" ,", " : "))
    result = validate_object(jsonl(PROFILE, spaced), PROFILES, LIMITS)
    assert len(result.valid) == 1
    assert result.rejects[0].reason == "duplicate key customer_id=C00001 of record 1 in the same object"


def test_csv_values_are_coerced_to_the_schema_types():
    text = (
        "order_id,customer_id,service,amount,purchased_on\n"
        "O1,C1,streaming,12.50,2024-02-01\n"
        "O2,C1,streaming,,2024-02-01\n"
    )
    result = validate_object(text, PURCHASES, LIMITS)
    assert result.valid[0].record == {
        "order_id": "O1",
        "customer_id": "C1",
        "service": "streaming",
        "amount": 12.5,
        "purchased_on": "2024-02-01",
    }
    assert [(r.position, r.reason) for r in result.rejects] == [(3, "missing required field 'amount'")]


def test_csv_rows_with_extra_values_and_bad_dates_are_rejected():
    text = "order_id,customer_id,service,amount,purchased_on\nO1,C1,s,1,2024-13-01\nO2,C1,s,1,2024-01-01,x\n"
    reasons = [r.reason for r in validate_object(text, PURCHASES, LIMITS).rejects]
    assert reasons == ["field 'purchased_on': '2024-13-01' is not an ISO date", "row has 6 values, the header 5"]


def test_an_object_without_records_is_rejected_whole():
    with pytest.raises(ObjectRejected, match="no records"):
        validate_object("order_id,customer_id,service,amount,purchased_on\n", PURCHASES, LIMITS)


def test_a_csv_header_outside_the_schema_rejects_the_object():
    with pytest.raises(ObjectRejected, match="does not match the schema"):
        validate_object("order_id,card_number\nO1,4111\n", PURCHASES, LIMITS)


def test_the_same_record_from_csv_and_json_has_the_same_digest():
    text = "order_id,customer_id,service,amount,purchased_on\nO1,C1,streaming,12.5,2024-02-01\n"
    from_csv = validate_object(text, PURCHASES, LIMITS).valid[0]
    row = {"order_id": "O1", "customer_id": "C1", "service": "streaming", "amount": 12.5, "purchased_on": "2024-02-01"}
    # independent of validation.digest: SHA-256 of the canonical JSON (sorted keys, compact, UTF-8)
    canonical = json.dumps(row, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert from_csv.digest == hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def test_a_text_document_is_one_record_and_oversized_documents_are_rejected():
    assert validate_object("Great service.\n", FEEDBACK, LIMITS).valid[0].record == {"text": "Great service.\n"}
    big = "a" * (LIMITS.max_document_bytes + 1)
    assert "exceeds max_document_bytes" in validate_object(big, FEEDBACK, LIMITS).rejects[0].reason


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.just(PROFILE), st.text(max_size=30), st.dictionaries(st.text(max_size=5), st.integers(), max_size=3)
        ),
        max_size=12,
    )
)
def test_every_non_blank_line_is_either_valid_or_rejected(lines):
    text = "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines)
    if not text.strip():
        return  # an object without records is rejected whole (tested above)
    result = validate_object(text, PROFILES, LIMITS)
    assert result.records_in == sum(1 for line in text.splitlines() if line.strip())
    assert len({v.digest for v in result.valid}) == len(result.valid)


# --------------------------------------------------------------------------------------------
# Size limits count UTF-8 bytes, not characters; a record of exactly the limit is accepted.
# --------------------------------------------------------------------------------------------

NAME_3_BYTES = "名前"  # two characters, six bytes in UTF-8


def limits(*, record: int = 65536, document: int = 1048576):
    return type(LIMITS)(max_object_bytes=52428800, max_record_bytes=record, max_document_bytes=document)


def test_a_jsonl_record_of_exactly_max_record_bytes_is_accepted_one_byte_more_is_not():
    line = json.dumps(PROFILE | {"full_name": NAME_3_BYTES}, ensure_ascii=False)
    size = len(line.encode("utf-8"))
    assert size == len(line) + 4  # two 3-byte characters: 4 bytes more than characters
    at_limit = validate_object(line + "\n", PROFILES, limits(record=size))
    assert (len(at_limit.valid), at_limit.rejects) == (1, [])
    below = validate_object(line + "\n", PROFILES, limits(record=size - 1))
    assert [r.reason for r in below.rejects] == [f"record of {size} bytes exceeds max_record_bytes {size - 1}"]
    # a limit in characters would have let this record through
    assert (
        validate_object(line + "\n", PROFILES, limits(record=len(line)))
        .rejects[0]
        .reason.startswith(f"record of {size} bytes")
    )


def test_a_csv_row_of_exactly_max_record_bytes_is_accepted_one_byte_more_is_not():
    header = "order_id,customer_id,service,amount,purchased_on"
    row = "O1,C1,stréaming,12.5,2024-02-01"  # 31 characters, 32 bytes ("é" is 2 bytes)
    # the row's size: its cells' UTF-8 bytes plus one separator or line end per cell
    size = len(b"O1") + len(b"C1") + len("stréaming".encode()) + len(b"12.5") + len(b"2024-02-01") + 5
    assert size == 33
    text = f"{header}\n{row}\n"
    assert validate_object(text, PURCHASES, limits(record=33)).rejects == []
    rejected = validate_object(text, PURCHASES, limits(record=32)).rejects
    assert [(r.position, r.reason) for r in rejected] == [(2, "record of 33 bytes exceeds max_record_bytes 32")]


def test_a_text_document_of_exactly_max_document_bytes_is_accepted_one_byte_more_is_not():
    document = "Très bien, merci — ça marche.\n"  # é, ç: 2 bytes each; the dash: 3 bytes
    size = len(document) + 1 + 1 + 2
    assert size == len(document.encode("utf-8")) == 34
    assert len(validate_object(document, FEEDBACK, limits(document=34)).valid) == 1
    rejected = validate_object(document, FEEDBACK, limits(document=33)).rejects
    assert [r.reason for r in rejected] == ["document of 34 bytes exceeds max_document_bytes 33"]


def test_max_length_counts_characters_and_is_inclusive():
    at_limit = validate_object(jsonl(PROFILE | {"customer_id": "Ç" * 16}), PROFILES, LIMITS)
    assert at_limit.rejects == []  # 16 characters (32 bytes) = max_length 16
    over = validate_object(jsonl(PROFILE | {"customer_id": "Ç" * 17}), PROFILES, LIMITS)
    assert [r.reason for r in over.rejects] == ["field 'customer_id': 17 characters exceed max_length 16"]
