"""Edges of the validate step (lambdas/pipeline/validate.py) that the handler tests do not pin: every
whole-object verdict with its exact user-facing reason, max_object_bytes exactly and one byte over, the
quarantine's reason.json and log record field by field, folder placeholders, the missing-value and repeat
counts, and the counters a cross-object duplicate must not reset.

In memory (no moto): the step's `Storage` calls are a few reads and writes, recorded here as they would land.
Every expected reason, key and count is written out by hand from the module's docstring and the layout in
pipeline/keys.py, never computed by the code under test."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import pytest
from pipeline import validate
from pipeline.contract import FieldSpec, Limits, PipelineSettings, SourceSpec, text_field
from pipeline.models import Item, Validated
from pipeline.validation import ObjectRejected, Reject, Valid, ValidationResult

from tests.lambdas.pipeline.test_dedupe import RUN, FakeClaims
from tests.lambdas.pipeline.test_part_edges import Held

QUARANTINE = "quarantine"
# JSON lines keyed by id, read as latin-1 (declared, so the encoding reported is known without detection).
PEOPLE = SourceSpec(
    name="people",
    format="jsonl",
    fields=(
        FieldSpec(name="id", type="string", required=True),
        FieldSpec(name="nickname", type="string"),
        FieldSpec(name="phone", type="string"),
    ),
    knowledge="none",
    key=("id",),
    dedupe="key",
    encoding="latin-1",
)
# CSV without a key: whole-record repeats are kept and counted.
TALLIES = SourceSpec(
    name="tallies",
    format="csv",
    fields=(FieldSpec(name="n", type="integer", required=True), FieldSpec(name="label", type="string")),
    knowledge="none",
)
NOTES = SourceSpec(name="alpha", format="text", fields=(text_field(),), knowledge="none")
MAX_OBJECT_BYTES = 64
FORMATS = "expected .jsonl, .csv, .txt or .md (each optionally .gz)"


def settings(max_object_bytes: int = MAX_OBJECT_BYTES) -> PipelineSettings:
    limits = Limits(max_object_bytes=max_object_bytes, max_record_bytes=1024, max_document_bytes=1024)
    # Not in name order: the unknown-source reason must list them sorted.
    return PipelineSettings.of({"limits": limits, "sources": {"tallies": TALLIES, "people": PEOPLE, "alpha": NOTES}})


class MemoryStorage:
    """The `Storage` calls of the validate and redact steps in memory, keyed (bucket, key); JSON is written
    through `json` as `Storage` does, so what a test reads back is what S3 would hold."""

    def __init__(self, objects: Mapping[tuple[str, str], bytes] | None = None) -> None:
        self.objects = dict(objects or {})
        self.written: dict[tuple[str, str], Any] = {}

    def read(self, bucket: str, key: str) -> bytes:
        return self.objects[(bucket, key)]

    def read_jsonl(self, bucket: str, key: str) -> Iterator[dict[str, Any]]:
        return (json.loads(line) for line in self.read(bucket, key).decode().splitlines() if line)

    def copy(self, source_bucket: str, source_key: str, bucket: str, key: str) -> bool:
        if (source_bucket, source_key) not in self.objects:
            return False  # as `Storage.copy`: the source no longer exists
        self.written[(bucket, key)] = self.objects[(source_bucket, source_key)]
        return True

    def write_json(self, bucket: str, key: str, value: Mapping[str, Any]) -> None:
        self.written[(bucket, key)] = json.loads(json.dumps(value))

    def write_jsonl(self, bucket: str, key: str, rows: Iterable[Mapping[str, Any]]) -> None:
        self.written[(bucket, key)] = [json.loads(json.dumps(row)) for row in rows]


class LogCalls:
    """Stands in for the module's Powertools logger: the records the step logs, as (message, keyword arguments).

    Not a handler on the logging tree: under mutmut's in-process runs what reaches a handler depends on other
    tests (see [tool.mutmut] in pyproject.toml), and this test must hold there too."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, dict[str, Any]]] = []

    def info(self, message: Any, *args: Any, **kwargs: Any) -> None:
        self.calls.append((message, kwargs))


@pytest.fixture
def logged(monkeypatch: pytest.MonkeyPatch) -> LogCalls:
    calls = LogCalls()
    monkeypatch.setattr(validate, "logger", calls)
    return calls


def run_validate(
    key: str,
    body: bytes | None,
    *,
    size: int | None = None,
    max_object_bytes: int = MAX_OBJECT_BYTES,
    claims: FakeClaims | None = None,
) -> tuple[Validated, MemoryStorage]:
    """Validate the raw object ``key`` holding ``body`` (None: listed, but gone before validate ran)."""
    storage = MemoryStorage({} if body is None else {("raw", key): body})
    item = Item(key=key, size=len(body or b"") if size is None else size, run=RUN)
    out = validate.process(
        item,
        settings=settings(max_object_bytes),
        storage=storage,  # type: ignore[arg-type]
        claims=claims or FakeClaims(),  # type: ignore[arg-type]
        quarantine_bucket=QUARANTINE,
    )
    return out, storage


def item(key: str, size: int = 10) -> Item:
    return Item(key=key, size=size, run=RUN)


# ------------------------------------------------------------------------------------ source_for's verdicts


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("datasets/other/people/a.jsonl", "object is outside dataset 'ds'"),
        ("datasets/ds/a.jsonl", "object is not inside a source folder datasets/<dataset>/<source>/"),
        ("datasets/ds/nope/a.jsonl", "unknown source 'nope' (known: alpha, people, tallies)"),
        ("datasets/ds/people/README", f"unknown format '(no extension)': {FORMATS}"),
        ("datasets/ds/people/export.parquet", f"unknown format '.parquet': {FORMATS}"),
        ("datasets/ds/people/export.parquet.gz", f"unknown format '.parquet.gz': {FORMATS}"),
        ("datasets/ds/people/export.gz", f"unknown format '.gz': {FORMATS}"),
        ("datasets/ds/people/a.csv", "a csv object in source 'people', which holds jsonl"),
        ("datasets/ds/tallies/a.txt.gz", "a text object in source 'tallies', which holds csv"),
    ],
    ids=[
        "other-dataset",
        "no-source-folder",
        "unknown-source",
        "no-extension",
        "unknown-extension",
        "unknown-compressed",
        "bare-gz",
        "csv",
        "text",
    ],
)
def test_an_object_without_a_schema_is_rejected_with_the_reason_users_see(key, reason):
    with pytest.raises(ObjectRejected) as rejected:
        validate.source_for(item(key), settings())
    assert rejected.value.reason == reason
    assert (rejected.value.records, rejected.value.skipped_blank) == (1, 0)  # never read: the object is one record


def test_an_object_of_exactly_max_object_bytes_has_a_schema_one_byte_more_is_rejected():
    assert validate.source_for(item("datasets/ds/people/a.jsonl", size=64), settings()) == PEOPLE
    with pytest.raises(ObjectRejected) as rejected:
        validate.source_for(item("datasets/ds/people/a.jsonl", size=65), settings())
    assert rejected.value.reason == "object of 65 bytes exceeds max_object_bytes 64"


# ------------------------------------------------------------------------------------ process


BODY_64 = b'{"id": "P1", "nickname": "' + b"x" * 35 + b'"}\n'


def test_an_object_of_exactly_max_object_bytes_is_validated_and_staged():
    assert len(BODY_64) == MAX_OBJECT_BYTES
    key = "datasets/ds/people/a.jsonl"
    out, storage = run_validate(key, BODY_64)
    assert (out.whole_object_rejected, out.valid, out.rejected) == (False, 1, 0)
    assert storage.written == {
        ("raw", f"staging/r1/valid/{key}.jsonl"): [{"p": 1, "r": {"id": "P1", "nickname": "x" * 35, "phone": None}}]
    }


def test_one_byte_over_max_object_bytes_is_quarantined_whole_with_its_reason_and_log_record(logged):
    key = "datasets/ds/people/a.jsonl"
    body = BODY_64 + b"\n"  # 65 bytes
    out, storage = run_validate(key, body)
    reason = "object of 65 bytes exceeds max_object_bytes 64"
    assert out == Validated(
        key=key,
        size=65,
        run=RUN,
        source="people",
        whole_object_rejected=True,
        rows_in=1,
        records_in=1,
        rejected=1,
    )
    assert storage.written == {
        (QUARANTINE, key): body,
        (QUARANTINE, f"{key}.reason.json"): {"step": "validate", "reason": reason, "run_id": "r1", "copied": True},
    }
    assert logged.calls == [("object quarantined", {"extra": {"key": key, "reason": reason}})]


def test_an_object_gone_before_its_copy_says_so_in_its_reason(logged):
    key = "datasets/ds/people/export.parquet"  # rejected on its name, before validate reads it
    out, storage = run_validate(key, None, size=100)
    reason = f"unknown format '.parquet': {FORMATS}"
    assert (out.source, out.whole_object_rejected, out.rejected) == ("people", True, 1)
    assert storage.written == {
        (QUARANTINE, f"{key}.reason.json"): {"step": "validate", "reason": reason, "run_id": "r1", "copied": False},
    }
    assert logged.calls == [("object quarantined", {"extra": {"key": key, "reason": reason}})]


def test_an_object_in_an_unknown_source_folder_is_reported_under_that_folder():
    out, _ = run_validate("datasets/ds/nope/a.jsonl", b'{"id": "P1"}\n')
    assert (out.source, out.whole_object_rejected) == ("nope", True)


@pytest.mark.parametrize("key", ["datasets/ds/people/", "datasets/ds/", "datasets/ds/people/sub/"])
def test_a_folder_placeholder_is_skipped_unread(key):
    storage = MemoryStorage()  # nothing to read: a read would fail the test
    placeholder = Item(key=key, size=0, run=RUN)
    out = validate.process(
        placeholder,
        settings=settings(),
        storage=storage,  # type: ignore[arg-type]
        claims=FakeClaims(),  # type: ignore[arg-type]
        quarantine_bucket=QUARANTINE,
    )
    assert out == Validated(key=key, size=0, run=RUN, skipped=True)
    assert storage.written == {}


def test_missing_counts_each_optional_field_absent_or_null_and_omits_fields_never_missing():
    body = (
        b'{"id": "P1"}\n'  # nickname and phone absent
        b'{"id": "P2", "nickname": null, "phone": "+1"}\n'  # nickname null
        b'{"id": "P3", "nickname": "N", "phone": "+2"}\n'
    )
    out, _ = run_validate("datasets/ds/people/m.jsonl", body, max_object_bytes=1024)
    assert (out.valid, out.missing) == (3, {"nickname": 2, "phone": 1})
    tallies, _ = run_validate("datasets/ds/tallies/t.csv", b"n,label\n1,a\n2,b\n")
    assert (tallies.valid, tallies.missing) == (2, {})  # a required field is never counted, nor a zero


def test_whole_record_repeats_kept_without_a_key_are_reported():
    key = "datasets/ds/tallies/t.csv"
    out, storage = run_validate(key, b"n,label\n1,a\n1,a\n2,b\n1,a\n")
    assert out == Validated(
        key=key,
        size=24,
        run=RUN,
        source="tallies",
        rows_in=4,
        records_in=4,
        valid=4,
        repeated=2,
        dedupe="none",
        encoding="utf-8",
    )
    staged = f"staging/r1/valid/{key}.jsonl"
    assert list(storage.written) == [("raw", staged)]  # nothing rejected: no rejects object
    assert [row["p"] for row in storage.written[("raw", staged)]] == [2, 3, 4, 5]


def test_an_object_whose_every_record_is_rejected_stages_nothing():
    key = "datasets/ds/people/r.jsonl"
    out, storage = run_validate(key, b'{"id": " "}\n[1]\n')
    assert (out.records_in, out.rejected, out.valid, out.whole_object_rejected) == (2, 2, 0, False)
    assert storage.written == {
        (QUARANTINE, f"{key}.validate-rejects.jsonl"): [
            {"position": 1, "reason": "field 'id': empty string for a required field", "record": '{"id": " "}'},
            {"position": 2, "reason": "not a JSON object", "record": "[1]"},
        ]
    }


def test_a_cross_object_duplicate_keeps_the_objects_blank_rows_and_encoding():
    claims = FakeClaims()
    first = "datasets/ds/people/a.jsonl"
    assert run_validate(first, b'{"id": "P1"}\n', claims=claims)[0].valid == 1
    key = "datasets/ds/people/b.jsonl"
    body = '{"id": "P1"}\n\n{"id": "P2", "nickname": "José"}\n'.encode("latin-1")
    out, storage = run_validate(key, body, claims=claims)
    assert out == Validated(
        key=key,
        size=len(body),
        run=RUN,
        source="people",
        rows_in=3,
        records_in=2,
        rejected=1,
        valid=1,
        skipped_blank=1,
        dedupe="key",
        encoding="latin-1",
        missing={"phone": 1},
    )
    assert storage.written == {
        (QUARANTINE, f"{key}.validate-rejects.jsonl"): [
            {
                "position": 1,
                "reason": f"duplicate key id=P1 of record 1 in {first}",
                "record": {"id": "P1", "nickname": None, "phone": None},
            }
        ],
        ("raw", f"staging/r1/valid/{key}.jsonl"): [{"p": 3, "r": {"id": "P2", "nickname": "José", "phone": None}}],
    }


def test_dropping_cross_object_duplicates_keeps_every_counter_of_the_result():
    """The function's whole contract, beyond what validate_bytes produces today (it counts repeats only
    without a key, when nothing is claimed): the result keeps its blank rows, repeats and encoding."""
    result = ValidationResult(
        valid=[Valid(2, {"id": "P1"}, "d1"), Valid(4, {"id": "P2"}, "d2")],
        rejects=[Reject(3, "not a JSON object", "[3]")],
        skipped_blank=5,
        repeated=2,
        encoding="cp1252",
    )
    held = Held({"d1": "datasets/ds/people/a.jsonl#7"})
    kept = validate.drop_cross_object_duplicates(result, item("datasets/ds/people/b.jsonl"), PEOPLE, held)  # type: ignore[arg-type]
    assert kept == ValidationResult(
        valid=[Valid(4, {"id": "P2"}, "d2")],
        rejects=[
            Reject(2, "duplicate key id=P1 of record 7 in datasets/ds/people/a.jsonl", {"id": "P1"}),
            Reject(3, "not a JSON object", "[3]"),
        ],
        skipped_blank=5,
        repeated=2,
        encoding="cp1252",
    )
