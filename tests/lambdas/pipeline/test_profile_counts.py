"""Profile step: every counter one object adds to the run ledger, written out by hand, and the skipped branch.

`object_counts` feeds the run report's conservation table and ingestion section; these tests pin each counter to
the object's own numbers, with the values all different so a swapped or mis-signed counter shows.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from pipeline import profile
from pipeline.models import Redacted

from tests.lambdas.pipeline.test_dedupe import RUN

KEY = "datasets/sample/profiles/p.jsonl"


def redacted(**changes: Any) -> Redacted:
    values: dict[str, Any] = {
        "key": KEY,
        "run": RUN,
        "source": "profiles",
        "rows_in": 20,
        "records_in": 17,
        "skipped_blank": 3,
        "rejected": 4,
        "valid": 13,
        "repeated": 2,
        "dedupe": "key",
        "encoding": "utf-8",
        "missing": {"age_band": 5},
        "redacted": 11,
        "redact_rejected": 2,
        "entities": {"EMAIL": 7, "NAME": 9},
        "records_with_pii": 6,
    }
    return Redacted.model_validate({**values, **changes})


class NoStorage:
    def read_jsonl(self, bucket: str, key: str) -> list[dict[str, Any]]:
        raise AssertionError("no profile spec: nothing is read")


def test_every_counter_of_a_redacted_object():
    counts = profile.object_counts(redacted(), None, NoStorage())  # type: ignore[arg-type]
    assert counts == Counter(
        {
            "objects": 1,
            "rows_in": 20,
            "records_in": 17,
            "skipped_blank": 3,
            "quarantined": 6,  # 4 rejected by validate + 2 by redact
            "passed": 11,
            "dedupe|profiles|key": 1,
            "encoding|profiles|utf-8": 1,
            "repeated|profiles": 2,
            "valid|profiles": 13,
            "pii_records|profiles": 6,
            "missing|profiles|age_band": 5,
            "pii|EMAIL": 7,
            "pii|NAME": 9,
        }
    )


def test_a_whole_object_reject_counts_the_object_and_nothing_per_source():
    counts = profile.object_counts(
        redacted(whole_object_rejected=True, valid=0, redacted=0),
        None,
        NoStorage(),  # type: ignore[arg-type]
    )
    assert counts == Counter(
        {"objects": 1, "rows_in": 20, "records_in": 17, "skipped_blank": 3, "quarantined": 6, "objects_quarantined": 1}
    )


def test_an_object_outside_any_source_counts_only_the_totals():
    counts = profile.object_counts(redacted(source=None), None, NoStorage())  # type: ignore[arg-type]
    assert not [name for name in counts if "|" in name]
    assert counts["objects"] == 1
    assert counts["objects_quarantined"] == 0


class Ledger:
    def __init__(self) -> None:
        self.commits: list[tuple[str, str, str, dict[str, Any]]] = []

    def commit(self, run_id: str, phase: str, key: str, **kwargs: Any) -> bool:
        self.commits.append((run_id, phase, key, kwargs))
        return True


def test_a_skipped_object_is_not_counted_and_says_so():
    ledger = Ledger()
    out = profile.process(redacted(skipped=True), spec=None, storage=NoStorage(), ledger=ledger)  # type: ignore[arg-type]
    assert out == {"key": KEY, "counted": False}
    assert ledger.commits == []


def test_an_object_is_committed_once_with_its_counts():
    ledger = Ledger()
    out = profile.process(redacted(), spec=None, storage=NoStorage(), ledger=ledger)  # type: ignore[arg-type]
    assert out == {"key": KEY, "counted": True}
    ((run_id, phase, key, kwargs),) = ledger.commits
    assert (run_id, phase, key) == ("r1", "process", KEY)
    assert kwargs["outcome"] == "processed"
    assert kwargs["detail"] == {"passed": 11}
    assert kwargs["counts"]["quarantined"] == 6
