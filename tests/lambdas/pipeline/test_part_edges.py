"""Edges of the fan-out's part step (lambdas/pipeline/part.py) and the run's start that the end-to-end
fan-out test (test_row_fanout.py) does not reach: a document the PII policy drops whole, a part of blank rows
only, duplicate claims within an object whose key holds ``#``, and the run's staging prefixes. Expected keys,
records and reasons are written out by hand from the layout (`staging/<run>/parts/<sha256 of the raw
key>/<kind>/<9-digit part>`) and the reasons validate gives."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from pipeline import part, start
from pipeline.models import Run
from pipeline.pii import Hasher
from pipeline.validation import Reject, Valid, ValidationResult

from tests.lambdas.pipeline.harness import pipeline_settings
from tests.lambdas.pipeline.test_dedupe import RUN

SETTINGS = pipeline_settings()


class MemoryStorage:
    """The `Storage` calls the part step makes, in memory: (bucket, key) -> what was written."""

    def __init__(self, objects: dict[str, bytes]) -> None:
        self.objects = objects
        self.written: dict[tuple[str, str], Any] = {}

    def read(self, bucket: str, key: str) -> bytes:
        return self.objects[key]

    def write(self, bucket: str, key: str, body: bytes, content_type: str) -> None:
        self.written[(bucket, key)] = json.loads(body)

    def write_jsonl(self, bucket: str, key: str, rows: Any) -> None:
        self.written[(bucket, key)] = list(rows)


class NoClaims:
    """Claims nobody else holds: every record is the first of its kind."""

    def claim(self, scope: str, claims: Sequence[tuple[str, str]]) -> dict[str, str | None]:
        return {}


class Held:
    """Claims another place already holds: digest -> its owner, whatever the scope."""

    def __init__(self, owners: dict[str, str | None]) -> None:
        self.owners = owners

    def claim(self, scope: str, claims: Sequence[tuple[str, str]]) -> dict[str, str | None]:
        return {digest: self.owners[digest] for digest, _ in claims if digest in self.owners}


def passwords(text: str) -> list[Mapping[str, Any]]:
    """A detector that reports every ``SECRET`` as a PASSWORD, as Comprehend would."""
    return [
        {"Type": "PASSWORD", "Score": 0.99, "BeginOffset": m.start(), "EndOffset": m.end()}
        for m in re.finditer("SECRET", text)
    ]


def layout(raw_key: str) -> str:
    """The object's parts folder, written out from the layout (not from pipeline.rows)."""
    return f"staging/r1/parts/{hashlib.sha256(raw_key.encode()).hexdigest()}/"


def run_part(raw_key: str, source: str, text: str, number: int, offset: int) -> tuple[dict[str, Any], MemoryStorage]:
    rows_key = f"{layout(raw_key)}rows/{number:09d}-{offset:012d}.txt"
    storage = MemoryStorage({rows_key: text.encode()})
    item = part.PartItem(part=rows_key, key=raw_key, run=RUN, source=source, encoding="utf-8")
    answer = part.process(
        item,
        settings=SETTINGS,
        storage=storage,  # type: ignore[arg-type]
        claims=NoClaims(),  # type: ignore[arg-type]
        detect=passwords,
        hasher=Hasher(b"pepper" * 4),
    )
    return answer, storage


def test_a_document_the_policy_drops_whole_is_written_to_the_parts_redact_rejects():
    """The PII policy drops PASSWORD: a document that is nothing else has no content left, and is rejected
    (position, reason, the record as validated) into the part's redact-rejects beside its counts."""
    raw_key = "datasets/ds/feedback/note.txt"
    answer, storage = run_part(raw_key, "feedback", "SECRET", number=3, offset=0)
    rejects, counts = (
        ("raw", f"{layout(raw_key)}redact-rejects/000000003.jsonl"),
        ("raw", f"{layout(raw_key)}counts/000000003.json"),
    )
    assert set(storage.written) == {rejects, counts}
    assert storage.written[rejects] == [
        {"position": 1, "reason": "PII policy drops the whole document: text (PASSWORD)", "record": {"text": "SECRET"}}
    ]
    assert storage.written[counts]["redact_rejected"] == 1
    assert (answer["part"], answer["valid"], answer["redacted"], answer["redact_rejected"]) == (3, 1, 0, 1)


def test_a_part_of_blank_rows_only_is_counted_not_rejected_whole():
    """Validate rejects an object without records whole; a part of one is no such object: the split judged
    the object, and the part's blank rows are counted as skipped."""
    raw_key = "datasets/ds/profiles/big.jsonl"
    answer, storage = run_part(raw_key, "profiles", "\n   \n\t\n", number=2, offset=40)
    assert answer == {
        "part": 2,
        "rows_in": 3,
        "records_in": 0,
        "rejected": 0,
        "valid": 0,
        "skipped_blank": 3,
        "repeated": 0,
        "redacted": 0,
        "redact_rejected": 0,
        "records_with_pii": 0,
        "requests": 0,
    }
    assert list(storage.written) == [("raw", f"{layout(raw_key)}counts/000000002.json")]


def test_duplicates_within_an_object_whose_key_holds_a_hash_are_named_as_validate_names_them():
    """The owner is `<raw key>#<position>`: the position follows the last ``#``, so a raw key holding ``#``
    is still this object. Its duplicates are quarantined as read (the part read once for all of them), one
    held by another object keeps its record, and the result keeps the part's counters and encoding."""
    raw_key = "datasets/ds/profiles/east#2024.jsonl"
    item = part.PartItem(part="unused", key=raw_key, run=RUN, source="profiles", encoding="latin-1")
    validated = ValidationResult(
        valid=[
            Valid(5, {"customer_id": "C5"}, "d5"),
            Valid(7, {"customer_id": "C7"}, "d7"),
            Valid(8, {"customer_id": "C8"}, "d8"),
            Valid(9, {"customer_id": "C9"}, "d9"),
        ],
        rejects=[Reject(6, "not a JSON object", "[6]")],
        skipped_blank=4,
        repeated=2,
        encoding="latin-1",
    )
    held = Held({"d5": f"{raw_key}#2", "d7": f"{raw_key}#3", "d8": "datasets/ds/profiles/west#1.jsonl#4"})
    reads: list[int] = []

    def read_raw() -> dict[int, Any]:
        reads.append(1)
        return {5: "raw 5", 6: "[6]", 7: "raw 7", 8: "raw 8", 9: "raw 9"}

    result = part.claim_duplicates(validated, item, SETTINGS.sources["profiles"], held, read_raw)  # type: ignore[arg-type]
    assert result == ValidationResult(
        valid=[Valid(9, {"customer_id": "C9"}, "d9")],
        rejects=[
            Reject(5, "duplicate key customer_id=C5 of record 2 in the same object", "raw 5"),
            Reject(6, "not a JSON object", "[6]"),
            Reject(7, "duplicate key customer_id=C7 of record 3 in the same object", "raw 7"),
            Reject(
                8,
                "duplicate key customer_id=C8 of record 4 in datasets/ds/profiles/west#1.jsonl",
                {"customer_id": "C8"},
            ),
        ],
        skipped_blank=4,
        repeated=2,
        encoding="latin-1",
    )
    assert len(reads) == 1


def test_a_run_stages_its_valid_and_redacted_records_under_its_own_prefixes():
    now = datetime(2025, 3, 4, 5, 6, 7, 891011, tzinfo=UTC)
    assert start.start_run("raw", "datasets/ds/_READY", "exec-1", now) == Run(
        id="exec-1",
        dataset="ds",
        bucket="raw",
        prefix="datasets/ds/",
        valid_prefix="staging/exec-1/valid/",
        redacted_prefix="staging/exec-1/redacted/",
        started_at="2025-03-04T05:06:07+00:00",
    )
