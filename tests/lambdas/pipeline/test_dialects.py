"""CSV and text dialects per source: delimiter, encoding (declared or detected), gzip with a size cap,
ignored index columns and loose header matching, on the ANES 1996 extract shipped in statsmodels.

A bad row is quarantined on its own; only an unreadable object is rejected whole, and then counted as
the rows its lines hold (pandas' count), not as one."""

from __future__ import annotations

import csv
import gzip
import io

import pandas as pd  # type: ignore[import-untyped]
import pytest
from pipeline.contract import FieldSpec, Limits
from pipeline.validation import ObjectRejected, ValidationResult, gunzip, validate_bytes

from tests.lambdas.pipeline.anes96 import LIMITS, as_csv, frame, raw_bytes, source

TAB_LOOSE = source(delimiter="\t", match_header="loose")


def records(result: ValidationResult) -> pd.DataFrame:
    return pd.DataFrame([v.record for v in result.valid])


def test_the_shipped_tab_separated_file_with_quoted_names_reads_whole_with_tab_and_loose_headers():
    expected = frame()
    result = validate_bytes(raw_bytes(), TAB_LOOSE, LIMITS)
    assert (len(result.valid), result.rejects, result.skipped_blank) == (len(expected), [], 0)
    pd.testing.assert_frame_equal(records(result), expected, check_dtype=False)


def test_a_tab_separated_file_read_as_comma_separated_is_rejected_with_a_hint_and_every_row_counted():
    with pytest.raises(ObjectRejected) as rejected:
        validate_bytes(raw_bytes(), source(match_header="loose"), LIMITS)
    assert "the header looks tab-separated: declare delimiter: tab" in rejected.value.reason
    assert (rejected.value.records, rejected.value.skipped_blank) == (len(frame()), 0)


def test_quoted_mixed_case_names_need_loose_matching_and_the_reason_says_so():
    with pytest.raises(ObjectRejected) as rejected:
        validate_bytes(raw_bytes(), source(delimiter="\t"), LIMITS)
    assert rejected.value.reason.endswith("(names differ in case, quotes or spacing only: declare match_header: loose)")
    assert "unknown column(s)" in rejected.value.reason


def test_loose_matching_reads_spaces_dots_and_hyphens_as_underscores():
    written = {"tvnews": " TV News ", "selflr": "Self-LR", "clinlr": '"Clin.LR"'}
    declared = {"tvnews": "tv_news", "selflr": "self_lr", "clinlr": "clin_lr"}
    df = frame()
    spec = source(match_header="loose")
    spec = spec.model_copy(
        update={"fields": tuple(f.model_copy(update={"name": declared.get(f.name, f.name)}) for f in spec.fields)}
    )
    result = validate_bytes(as_csv(df.rename(columns=written)), spec, LIMITS)
    assert (len(result.valid), result.rejects) == (len(df), [])
    assert [v.record["self_lr"] for v in result.valid] == df["selflr"].tolist()
    exact = spec.model_copy(update={"match_header": "exact"})
    with pytest.raises(ObjectRejected, match=r"unknown column\(s\) \['TV News', 'Self-LR', '\"Clin.LR\"'\]"):
        validate_bytes(as_csv(df.rename(columns=written)), exact, LIMITS)


@pytest.mark.parametrize(("delimiter", "name"), [(",", "comma"), ("\t", "tab"), (";", "semicolon")])
def test_each_delimiter_reads_what_pandas_writes_with_it(delimiter, name):
    expected = frame()
    result = validate_bytes(as_csv(expected, sep=delimiter), source(delimiter=delimiter), LIMITS)
    assert (len(result.valid), result.rejects) == (len(expected), []), name
    pd.testing.assert_frame_equal(records(result), expected, check_dtype=False)


def test_a_pandas_index_column_is_dropped_when_declared_and_named_in_the_reason_when_not():
    expected = frame()
    data = as_csv(expected, index=True)  # pandas writes the index under an empty header
    assert next(csv.reader(io.StringIO(data.decode())))[0] == ""
    with pytest.raises(ObjectRejected) as rejected:
        validate_bytes(data, source(), LIMITS)
    assert rejected.value.reason.endswith('(an unnamed column, e.g. a pandas index: declare ignore_columns: [""])')
    assert rejected.value.records == len(expected)
    result = validate_bytes(data, source(ignore_columns=("",)), LIMITS)
    assert (len(result.valid), result.rejects) == (len(expected), [])
    pd.testing.assert_frame_equal(records(result), expected, check_dtype=False)


# ----------------------------------------------------------------------------------------------- encodings

LABELS = {
    1: "École primaire",
    2: "Collège d'enseignement général",
    3: "Lycée général et technologique",
    4: "Études supérieures inachevées",
    5: "Licence ès lettres",
    6: "Maîtrise en sciences économiques",
    7: "Doctorat d'université",
}


def labelled() -> pd.DataFrame:
    """The dataset with a text column outside ASCII: education as a French label (é, è, î, É). Detection
    needs text to go by: with one-word labels charset-normalizer ranks cp1250 first (è read as č)."""
    df = frame()
    df["educ_label"] = df["educ"].map(LABELS)
    return df


LABELLED = {"extra": (FieldSpec(name="educ_label", type="string", required=True),)}


@pytest.mark.parametrize("encoding", ["latin-1", "cp1252", "utf-16"])
def test_a_declared_encoding_reads_the_file_pandas_wrote_in_it(encoding):
    expected = labelled()
    result = validate_bytes(as_csv(expected, encoding), source(encoding=encoding, **LABELLED), LIMITS)
    assert (len(result.valid), result.rejects, result.encoding) == (len(expected), [], encoding)
    pd.testing.assert_frame_equal(records(result), expected, check_dtype=False)


def test_a_latin1_file_under_the_utf8_default_is_rejected_with_the_byte_and_every_row_counted():
    data = as_csv(labelled(), "latin-1")
    offset = next(i for i, b in enumerate(data) if b >= 0x80)
    with pytest.raises(ObjectRejected) as rejected:
        validate_bytes(data, source(**LABELLED), LIMITS)
    assert rejected.value.reason.startswith(f"not UTF-8: byte 0x{data[offset]:02x} at offset {offset}")
    assert (rejected.value.records, rejected.value.skipped_blank) == (len(labelled()), 0)


def test_auto_detects_a_single_byte_encoding_and_reports_it():
    expected = labelled()
    result = validate_bytes(as_csv(expected, "latin-1"), source(encoding="auto", **LABELLED), LIMITS)
    assert result.encoding not in ("utf-8", "utf_8")
    assert (len(result.valid), result.rejects) == (len(expected), [])
    pd.testing.assert_frame_equal(records(result), expected, check_dtype=False)


def test_auto_reads_utf8_as_utf8():
    result = validate_bytes(as_csv(labelled()), source(encoding="auto", **LABELLED), LIMITS)
    assert (result.encoding, len(result.valid)) == ("utf-8", len(labelled()))


def test_a_utf16_object_is_refused_unless_declared_or_detected():
    data = as_csv(labelled(), "utf-16")
    with pytest.raises(ObjectRejected, match=r"UTF-16/UTF-32 byte-order mark: the source is read as utf-8"):
        validate_bytes(data, source(**LABELLED), LIMITS)
    detected = validate_bytes(data, source(encoding="auto", **LABELLED), LIMITS)
    assert detected.encoding.replace("_", "-").startswith("utf-16")
    assert len(detected.valid) == len(labelled())


# ---------------------------------------------------------------------------------------------------- gzip


def test_a_gzip_object_is_read_decompressed():
    expected = frame()
    result = validate_bytes(gzip.compress(raw_bytes()), TAB_LOOSE, LIMITS, gzipped=True)
    assert (len(result.valid), result.rejects) == (len(expected), [])


def test_the_gzip_cap_is_max_object_bytes_exactly():
    data = raw_bytes()
    assert gunzip(gzip.compress(data), len(data)) == data
    with pytest.raises(ObjectRejected) as rejected:
        gunzip(gzip.compress(data), len(data) - 1)
    assert rejected.value.reason == (
        f"gzip object expands past max_object_bytes {len(data) - 1}: not decompressed further"
    )


def test_a_zip_bomb_is_rejected_without_decompressing_it_whole():
    bomb = gzip.compress(b"0" * 200_000_000, compresslevel=9)
    assert len(bomb) < 250_000
    limits = Limits(max_object_bytes=1_000_000, max_record_bytes=65536, max_document_bytes=65536)
    with pytest.raises(ObjectRejected) as rejected:
        validate_bytes(bomb, TAB_LOOSE, limits, gzipped=True)
    assert rejected.value.reason == "gzip object expands past max_object_bytes 1000000: not decompressed further"
    assert rejected.value.records == 1  # unread: the object counts as one


@pytest.mark.parametrize(
    "data", [b"not gzip at all", gzip.compress(b"a,b\n1,2\n", mtime=0)[:-6]], ids=["not gzip", "truncated"]
)
def test_an_unreadable_gzip_object_is_rejected_with_the_reason(data):
    with pytest.raises(ObjectRejected) as rejected:
        validate_bytes(data, TAB_LOOSE, LIMITS, gzipped=True)
    assert rejected.value.reason.startswith("not a readable gzip object: ")


# -------------------------------------------------------------------------------- bad rows, one at a time


def test_bad_rows_are_quarantined_one_by_one_and_the_file_is_kept():
    lines = raw_bytes().decode().splitlines()
    lines[10] = lines[10] + "\textra"  # one value too many
    lines[20] = lines[20].replace("\t", "\tx", 1)  # not an integer
    result = validate_bytes(("\n".join(lines) + "\n").encode(), TAB_LOOSE, LIMITS)
    assert [(r.position, r.reason.split(":")[0]) for r in result.rejects] == [
        (11, "row has 11 values, the header 10"),
        (21, "field 'tvnews'"),
    ]
    assert len(result.valid) == len(frame()) - 2
