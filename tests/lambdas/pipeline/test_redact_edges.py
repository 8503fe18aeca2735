"""Edges of the redact step (lambdas/pipeline/redact.py) that the handler tests do not reach: a document the
PII policy drops whole goes to `<raw key>.redact-rejects.jsonl` (position, reason, the record as validated)
and is counted, and the step's early returns read nothing.

customer-retention's policy drops PASSWORD; a stand-in detector reports every ``SECRET`` as one, as Comprehend
would. Expected keys, rows and counts are written out by hand from the layout in pipeline/keys.py."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import pytest
from pipeline import redact
from pipeline.models import Redacted, Validated
from pipeline.pii import Hasher

from tests.lambdas.pipeline.harness import pipeline_settings
from tests.lambdas.pipeline.test_dedupe import RUN
from tests.lambdas.pipeline.test_validate_edges import QUARANTINE, MemoryStorage

KEY = "datasets/ds/feedback/note.txt"
STAGED_VALID = ("raw", f"staging/r1/valid/{KEY}.jsonl")
STAGED_REDACTED = ("raw", f"staging/r1/redacted/{KEY}.jsonl")
VALIDATED = Validated(
    key=KEY,
    size=20,
    run=RUN,
    source="feedback",
    rows_in=1,
    records_in=1,
    valid=1,
    dedupe="none",
    encoding="utf-8",
)


class Passwords:
    """A detector that reports every ``SECRET`` as a PASSWORD, and the texts it was asked about."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def __call__(self, text: str) -> list[Mapping[str, Any]]:
        self.texts.append(text)
        return [
            {"Type": "PASSWORD", "Score": 0.99, "BeginOffset": m.start(), "EndOffset": m.end()}
            for m in re.finditer("SECRET", text)
        ]


def run_redact(item: Validated, objects: dict[tuple[str, str], bytes]) -> tuple[Redacted, MemoryStorage, Passwords]:
    storage, detect = MemoryStorage(objects), Passwords()
    out = redact.process(
        item,
        settings=pipeline_settings(),
        storage=storage,  # type: ignore[arg-type]
        detect=detect,
        hasher=Hasher(b"pepper" * 4),
        quarantine_bucket=QUARANTINE,
    )
    return out, storage, detect


def staged(text: str) -> dict[tuple[str, str], bytes]:
    return {STAGED_VALID: (json.dumps({"p": 1, "r": {"text": text}}) + "\n").encode()}


def test_a_document_the_policy_drops_whole_is_quarantined_with_its_reason_and_counted():
    out, storage, detect = run_redact(VALIDATED, staged("login: SECRET"))
    assert detect.texts == ["login: SECRET"]
    assert storage.written == {
        (QUARANTINE, f"{KEY}.redact-rejects.jsonl"): [
            {
                "position": 1,
                "reason": "PII policy drops the whole document: text (PASSWORD)",
                "record": {"text": "login: SECRET"},
            }
        ]
    }  # and nothing staged as redacted: nothing of the document is left
    assert out == Redacted(
        **VALIDATED.model_dump(),
        redacted=0,
        redact_rejected=1,
        entities={"PASSWORD": 1},
        records_with_pii=1,
        requests=1,
    )


def test_a_document_without_pii_is_staged_and_nothing_is_rejected():
    out, storage, _ = run_redact(VALIDATED, staged("all fine"))
    assert storage.written == {STAGED_REDACTED: [{"p": 1, "r": {"text": "all fine"}}]}
    assert out == Redacted(**VALIDATED.model_dump(), redacted=1, redact_rejected=0, requests=1)


@pytest.mark.parametrize(
    "item",
    [
        Validated(key="datasets/ds/_READY", run=RUN, skipped=True),
        VALIDATED.model_copy(update={"valid": 0, "rejected": 1}),  # everything rejected by validate
        Validated(key=KEY, run=RUN, whole_object_rejected=True, rows_in=1, records_in=1, rejected=1),  # no source
    ],
    ids=["skipped", "nothing-valid", "no-source"],
)
def test_an_object_with_nothing_to_redact_is_passed_on_unread(item):
    out, storage, detect = run_redact(item, {})  # nothing staged: a read would fail the test
    assert out == Redacted(**item.model_dump())
    assert (storage.written, detect.texts) == ({}, [])
