"""Every row counted: an object rejected whole counts the rows its lines hold (not 1), blank and all-empty
rows count as skipped_blank, and the run's conservation includes them:
rows_in = curated + quarantined + skipped_blank, for every way an object or a row can be rejected.

Each object's expected rows come from pandas or plain line counting of the bytes written, never from the
code under test."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from typing import Any

import pytest
from pipeline import profile, quarantine, validate
from pipeline.contract import FieldSpec, Limits, PipelineSettings, SourceSpec
from pipeline.models import Item, QuarantineRequest, Redacted
from pipeline.report import conservation
from pipeline.validation import ObjectRejected, validate_bytes

from tests.lambdas.pipeline.anes96 import COLUMNS, as_csv, frame
from tests.lambdas.pipeline.test_dedupe import RUN, FakeClaims

CSV = SourceSpec(
    name="anes_csv",
    format="csv",
    fields=tuple(FieldSpec(name=name, type="integer", required=True) for name in COLUMNS),
    knowledge="none",
)
JSONL = CSV.model_copy(update={"name": "anes_jsonl", "format": "jsonl"})
LIMITS = Limits(max_object_bytes=2_000_000, max_record_bytes=65536, max_document_bytes=65536)
SETTINGS = PipelineSettings.of({"limits": LIMITS, "sources": {"anes_csv": CSV, "anes_jsonl": JSONL}})
N = len(frame())  # 944 respondents


def jsonl_bytes(rows: list[dict[str, Any]] | None = None) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in (rows or frame().to_dict("records"))).encode()


def with_blank_rows(data: bytes, *, at: tuple[int, ...], blank: bytes) -> bytes:
    lines = data.splitlines(keepends=True)
    for index in sorted(at, reverse=True):
        lines.insert(index, blank)
    return b"".join(lines)


BOMB = gzip.compress(b"1," * 2_000_000, mtime=0)  # 4 MB of text from a few KB: over the 2 MB cap


# (name, body, item size, expected records, expected blank rows, whole object rejected)
CASES: list[tuple[str, bytes, int | None, int, int, bool]] = [
    ("anes_csv/clean.csv", as_csv(frame()), None, N, 0, False),
    # blank rows: whitespace, all-empty cells (a row of commas), an empty line; each counted, none a record
    (
        "anes_csv/blanks.csv",
        with_blank_rows(as_csv(frame()), at=(5, 9, 300), blank=b",,,,,,,,,\n") + b"\n  \n",
        None,
        N,
        5,
        False,
    ),
    ("anes_jsonl/blanks.jsonl", with_blank_rows(jsonl_bytes(), at=(1, 7), blank=b"   \n"), None, N, 2, False),
    # rejected whole, rows counted from the lines
    ("anes_csv/latin1.csv", as_csv(frame()).replace(b"popul", b"popul\xe9", 1), None, N, 0, True),
    ("anes_jsonl/latin1.jsonl", jsonl_bytes() + b'{"x": "\xe9"}\n', None, N + 1, 0, True),
    ("anes_csv/indexed.csv", as_csv(frame(), index=True), None, N, 0, True),
    ("anes_csv/tabs.csv", as_csv(frame(), sep="\t"), None, N, 0, True),
    ("anes_csv/tabs-with-blanks.csv", as_csv(frame(), sep="\t") + b"\n\t\t\n", None, N, 2, True),
    ("anes_jsonl/nul.jsonl", jsonl_bytes()[:50] + b"\x00" + jsonl_bytes()[50:], None, N, 0, True),
    ("anes_csv/gzipped.csv.gz", gzip.compress(as_csv(frame(), index=True), mtime=0), None, N, 0, True),
    # rejected whole and unread, or without a data line: the object counts as one record
    ("anes_csv/bomb.csv.gz", BOMB, None, 1, 0, True),
    ("anes_csv/corrupt.csv.gz", b"\x1f\x8b\x08\x00broken", None, 1, 0, True),
    ("anes_csv/export.parquet", b"PAR1\x00PAR1", None, 1, 0, True),
    ("anes_csv/huge.csv", as_csv(frame()), LIMITS.max_object_bytes + 1, 1, 0, True),
    ("anes_csv/empty.csv", b"", None, 1, 0, True),
    ("anes_csv/header-only.csv", b"popul,tvnews\n\n\n", None, 1, 0, True),
]


class FakeStorage:
    def __init__(self, objects: dict[str, bytes]) -> None:
        self.objects = objects
        self.written: dict[str, Any] = {}

    def read(self, bucket: str, key: str) -> bytes:
        return self.objects[key]

    def copy(self, source_bucket: str, source_key: str, bucket: str, key: str) -> bool:
        self.written[f"{bucket}/{key}"] = self.objects[source_key]
        return True

    def write_json(self, bucket: str, key: str, value: Any) -> None:
        self.written[f"{bucket}/{key}"] = value

    def write_jsonl(self, bucket: str, key: str, rows: Any) -> None:
        self.written[f"{bucket}/{key}"] = list(rows)

    def delete(self, bucket: str, key: str) -> None:
        self.written.pop(f"{bucket}/{key}", None)


def validated(name: str, body: bytes, size: int | None) -> Redacted:
    key = f"datasets/ds/{name}"
    item = Item(key=key, size=len(body) if size is None else size, run=RUN)
    out = validate.process(
        item,
        settings=SETTINGS,
        storage=FakeStorage({key: body}),  # type: ignore[arg-type]
        claims=FakeClaims(),  # type: ignore[arg-type]
        quarantine_bucket="q",
    )
    return Redacted(**out.model_dump(), redacted=out.valid)  # redact passes every valid record


@pytest.mark.parametrize(("name", "body", "size", "records", "blank", "whole"), CASES, ids=[c[0] for c in CASES])
def test_each_object_reports_its_rows(name, body, size, records, blank, whole):
    out = validated(name, body, size)
    assert (out.whole_object_rejected, out.records_in, out.skipped_blank, out.rows_in) == (
        whole,
        records,
        blank,
        records + blank,
    )
    assert out.valid + out.rejected == out.records_in
    if whole:
        assert out.rejected == records


def test_a_row_count_of_a_rejected_csv_matches_pandas_and_its_line_count():
    data = as_csv(frame(), index=True)
    with pytest.raises(ObjectRejected) as rejected:
        validate_bytes(data, CSV, LIMITS)
    assert rejected.value.records == len(frame()) == len(data.splitlines()) - 1


def test_the_run_conserves_every_row_across_all_rejection_paths():
    counts: Counter[str] = Counter()
    for name, body, size, *_ in CASES:
        counts.update(profile.object_counts(validated(name, body, size), None, None))  # type: ignore[arg-type]
    counts["curated"] = counts["passed"]  # publish writes every passed record
    balance = conservation(counts, published=True)
    assert balance["holds"], balance["checks"]
    expected_rows = sum(records + blank for _, _, _, records, blank, _ in CASES)
    assert balance["rows_in"] == expected_rows
    assert balance["rows_in"] == balance["curated"] + balance["quarantined"] + balance["skipped_blank"]
    assert balance["skipped_blank"] == sum(blank for *_, blank, _ in CASES)
    assert counts["objects_quarantined"] == sum(whole for *_, whole in CASES)


def test_conservation_fails_when_a_blank_row_goes_uncounted():
    counts = {"rows_in": 10, "records_in": 9, "skipped_blank": 0, "passed": 9, "curated": 9}
    balance = conservation(counts, published=True)
    assert not balance["holds"]
    assert not balance["checks"]["every row is a record or blank: rows_in = records_in + skipped_blank"]
    assert not balance["checks"]["rows_in = curated + quarantined + skipped_blank + held"]


class FakeLedger:
    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.markers: dict[tuple[str, str], dict[str, Any]] = {}

    def commit(self, run_id: str, phase: str, key: str, *, outcome: str, counts: Any, detail: Any) -> bool:
        if (phase, key) in self.markers:
            return False
        self.markers[phase, key] = {"outcome": outcome, **detail}
        self.counts.update(counts)
        return True

    def marker(self, run_id: str, phase: str, key: str) -> dict[str, Any] | None:
        return self.markers.get((phase, key))


def test_an_object_quarantined_after_validate_counts_its_rows_and_blank_rows():
    name, body, *_ = CASES[1]  # 944 records and 5 blank rows
    out = validated(name, body, None)
    ledger = FakeLedger()
    failed = {**out.model_dump(mode="json"), "error": {"Error": "Throttled", "Cause": "redact gave up"}}
    request = QuarantineRequest.model_validate({"phase": "process", "failed": failed})
    quarantine.process(
        request,
        storage=FakeStorage({out.key: body}),  # type: ignore[arg-type]
        ledger=ledger,  # type: ignore[arg-type]
        quarantine_bucket="q",
        curated_bucket="c",
        settings=SETTINGS,
    )
    assert (ledger.counts["rows_in"], ledger.counts["quarantined"], ledger.counts["skipped_blank"]) == (N + 5, N, 5)
    assert conservation(ledger.counts, published=True)["holds"]
