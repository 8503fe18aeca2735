"""The quarantine route on its own, against moto: the exact keys it writes and removes, reason.json as
an operator reads it, the counters it adds, and what a retried or superseded quarantine does."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from pipeline import quarantine
from pipeline.ledger import Ledger
from pipeline.models import QuarantineRequest
from pipeline.storage import Storage

from tests.lambdas.pipeline.harness import pipeline_settings

RAW = "raw-bucket"
QUARANTINE = "quarantine-bucket"
CURATED = "curated-bucket"
RUN = {
    "id": "run-q",
    "dataset": "ds",
    "bucket": RAW,
    "prefix": "datasets/ds/",
    "valid_prefix": "staging/run-q/valid/",
    "redacted_prefix": "staging/run-q/redacted/",
    "started_at": "2024-06-01T00:00:00+00:00",
}
PROFILE_KEY = "datasets/ds/profiles/p.jsonl"  # customer-retention renders profiles as markdown documents
STAGED = "staging/run-q/redacted/datasets/ds/profiles/p.jsonl.jsonl"


@pytest.fixture
def aws() -> Iterator[Any]:
    with mock_aws():
        s3 = boto3.client("s3")
        for name in (RAW, QUARANTINE, CURATED):
            s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        boto3.client("dynamodb").create_table(
            TableName="ledger",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        yield s3


def ledger() -> Ledger:
    return Ledger(boto3.client("dynamodb"), "ledger")


def outcome(phase: str) -> Any:
    """The outcome the ledger's marker records for the profile object in ``phase``."""
    marker = ledger().marker("run-q", phase, PROFILE_KEY)
    assert marker is not None, f"no {phase} marker"
    return marker["outcome"]


def route(phase: str, key: str, **failed: Any) -> dict[str, Any]:
    request = QuarantineRequest.model_validate({"phase": phase, "failed": {"key": key, "run": RUN, **failed}})
    return quarantine.process(
        request,
        storage=Storage(boto3.client("s3")),
        ledger=ledger(),
        quarantine_bucket=QUARANTINE,
        curated_bucket=CURATED,
        settings=pipeline_settings(),
    )


def keys_in(s3: Any, bucket: str) -> set[str]:
    return {o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])}


def read_json(s3: Any, bucket: str, key: str) -> Any:
    return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())


ERROR = {"Error": "States.Timeout", "Cause": "validate timed out"}


# ---------------------------------------------------------------------------------------------- process


def test_process_quarantine_copies_the_object_writes_its_reason_and_counts_its_rows(aws):
    aws.put_object(Bucket=RAW, Key=PROFILE_KEY, Body=b'{"a": 1}\n\n{"a": 2}\n{"a": 3}\n')
    # What validate and redact had already set aside: the whole copy replaces them.
    aws.put_object(Bucket=QUARANTINE, Key=f"{PROFILE_KEY}.validate-rejects.jsonl", Body=b"{}\n")
    aws.put_object(Bucket=QUARANTINE, Key=f"{PROFILE_KEY}.redact-rejects.jsonl", Body=b"{}\n")

    out = route("process", PROFILE_KEY, records_in=3, skipped_blank=1, error=ERROR)

    assert out == {"key": PROFILE_KEY, "quarantined": True}
    assert keys_in(aws, QUARANTINE) == {PROFILE_KEY, f"{PROFILE_KEY}.reason.json"}
    body = aws.get_object(Bucket=QUARANTINE, Key=PROFILE_KEY)["Body"].read()
    assert body == b'{"a": 1}\n\n{"a": 2}\n{"a": 3}\n'
    assert read_json(aws, QUARANTINE, f"{PROFILE_KEY}.reason.json") == {
        "step": "process",
        "error": "States.Timeout",
        "cause": "validate timed out",
        "run_id": "run-q",
        "copied": True,
    }
    assert ledger().counts("run-q") == {
        "objects": 1,
        "objects_quarantined": 1,
        "rows_in": 4,
        "records_in": 3,
        "quarantined": 3,
        "skipped_blank": 1,
    }
    assert outcome("process") == "quarantined"


def test_an_object_never_read_counts_as_one_record_and_no_blank_rows(aws):
    aws.put_object(Bucket=RAW, Key=PROFILE_KEY, Body=b"\x00not json")
    # records_in unknown (validate never read it): a blank-row count from the item is not trusted.
    out = route("process", PROFILE_KEY, skipped_blank=5, error={"Error": "Lambda.Unknown"})
    assert out == {"key": PROFILE_KEY, "quarantined": True}
    assert ledger().counts("run-q") == {
        "objects": 1,
        "objects_quarantined": 1,
        "rows_in": 1,
        "records_in": 1,
        "quarantined": 1,
    }


def test_a_vanished_raw_object_is_still_counted_and_the_reason_says_it_was_not_copied(aws):
    out = route("process", PROFILE_KEY, records_in=2, error=ERROR)
    assert out == {"key": PROFILE_KEY, "quarantined": True}
    assert keys_in(aws, QUARANTINE) == {f"{PROFILE_KEY}.reason.json"}
    assert read_json(aws, QUARANTINE, f"{PROFILE_KEY}.reason.json")["copied"] is False
    assert ledger().counts("run-q")["quarantined"] == 2


def test_the_cause_is_cut_to_4000_characters(aws):
    aws.put_object(Bucket=RAW, Key=PROFILE_KEY, Body=b"x")
    route("process", PROFILE_KEY, error={"Error": "E", "Cause": "c" * 4000 + "TAIL"})
    assert read_json(aws, QUARANTINE, f"{PROFILE_KEY}.reason.json")["cause"] == "c" * 4000


def test_a_retried_process_quarantine_finishes_the_move_without_counting_again(aws):
    aws.put_object(Bucket=RAW, Key=PROFILE_KEY, Body=b"raw")
    # The first attempt counted the object, then failed before moving anything.
    assert ledger().commit(
        "run-q", "process", PROFILE_KEY, outcome="quarantined", counts={"objects": 1, "quarantined": 2}, detail={}
    )

    out = route("process", PROFILE_KEY, records_in=2, error=ERROR)

    assert out == {"key": PROFILE_KEY, "quarantined": True}
    assert keys_in(aws, QUARANTINE) == {PROFILE_KEY, f"{PROFILE_KEY}.reason.json"}
    assert ledger().counts("run-q") == {"objects": 1, "quarantined": 2}


def test_an_object_the_step_had_processed_after_all_is_left_where_it_is(aws):
    aws.put_object(Bucket=RAW, Key=PROFILE_KEY, Body=b"raw")
    ledger().commit("run-q", "process", PROFILE_KEY, outcome="processed", counts={"passed": 2}, detail={"passed": 2})

    out = route("process", PROFILE_KEY, records_in=2, error=ERROR)

    assert out == {"key": PROFILE_KEY, "quarantined": False}
    assert keys_in(aws, QUARANTINE) == set()
    assert ledger().counts("run-q") == {"passed": 2}


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_the_quarantine_is_logged_as_a_warning_with_its_reason(aws):
    # A handler on the module's own logger, not caplog's on the root: what reaches the root depends on what other
    # tests in the same worker did to the shared Powertools logger ("service_undefined"), so caplog flaked.
    # Its level, its disabled flag and logging.disable are pinned for the call too: a library configuring logging
    # in an earlier test of the same worker (dictConfig disables existing loggers by default) must not hide it.
    aws.put_object(Bucket=RAW, Key=PROFILE_KEY, Body=b"raw")
    collected, stdlib_logger = _Records(), logging.getLogger(quarantine.logger.name)  # the one Powertools wraps
    saved = (stdlib_logger.level, stdlib_logger.disabled, logging.root.manager.disable)
    stdlib_logger.addHandler(collected)
    stdlib_logger.setLevel(logging.INFO)
    stdlib_logger.disabled = False
    logging.disable(logging.NOTSET)
    try:
        route("process", PROFILE_KEY, records_in=1, error=ERROR)
    finally:
        stdlib_logger.removeHandler(collected)
        stdlib_logger.setLevel(saved[0])
        stdlib_logger.disabled = saved[1]
        logging.disable(saved[2])
    entries = [r for r in collected.records if r.getMessage() == "object quarantined"]
    assert len(entries) == 1, [(r.name, r.levelname, r.getMessage()) for r in collected.records]
    (entry,) = entries
    assert entry.levelname == "WARNING"
    assert (entry.key, entry.step, entry.error, entry.cause, entry.run_id) == (  # type: ignore[attr-defined]
        PROFILE_KEY,
        "process",
        "States.Timeout",
        "validate timed out",
        "run-q",
    )


# ---------------------------------------------------------------------------------------------- publish

LEFTOVERS = {
    "records/ds/profiles/p.jsonl",
    "documents/ds/profiles/p.jsonl.md",
    "documents/ds/profiles/p.jsonl.md.metadata.json",
}


def test_a_failed_publish_keeps_the_redacted_records_and_removes_what_it_left_in_curated(aws):
    aws.put_object(Bucket=RAW, Key=STAGED, Body=b'{"customer_id": "C1"}\n')
    for key in LEFTOVERS | {"records/ds/profiles/other.jsonl"}:
        aws.put_object(Bucket=CURATED, Key=key, Body=b"partial")
    ledger().commit("run-q", "process", PROFILE_KEY, outcome="processed", counts={"passed": 3}, detail={"passed": 3})

    out = route("publish", STAGED, error={"Error": "Lambda.Unknown", "Cause": "boom"})

    assert out == {"key": PROFILE_KEY, "quarantined": True}
    assert keys_in(aws, CURATED) == {"records/ds/profiles/other.jsonl"}  # only this object's keys go
    assert keys_in(aws, QUARANTINE) == {f"{PROFILE_KEY}.publish-rejects.jsonl", f"{PROFILE_KEY}.reason.json"}
    body = aws.get_object(Bucket=QUARANTINE, Key=f"{PROFILE_KEY}.publish-rejects.jsonl")["Body"].read()
    assert body == b'{"customer_id": "C1"}\n'
    assert read_json(aws, QUARANTINE, f"{PROFILE_KEY}.reason.json") == {
        "step": "publish",
        "error": "Lambda.Unknown",
        "cause": "boom",
        "run_id": "run-q",
        "records": 3,
    }
    assert ledger().counts("run-q") == {"passed": 3, "publish_quarantined": 3}
    assert outcome("publish") == "quarantined"


def test_a_publish_quarantine_without_a_process_marker_counts_no_records(aws):
    aws.put_object(Bucket=RAW, Key=STAGED, Body=b"{}\n")
    out = route("publish", STAGED, error=ERROR)
    assert out == {"key": PROFILE_KEY, "quarantined": True}
    assert read_json(aws, QUARANTINE, f"{PROFILE_KEY}.reason.json")["records"] == 0
    assert ledger().counts("run-q") == {}
    assert outcome("publish") == "quarantined"


def test_a_retried_publish_quarantine_finishes_the_cleanup_without_counting_again(aws):
    aws.put_object(Bucket=RAW, Key=STAGED, Body=b"{}\n")
    for key in LEFTOVERS:
        aws.put_object(Bucket=CURATED, Key=key, Body=b"partial")
    ledger().commit("run-q", "process", PROFILE_KEY, outcome="processed", counts={"passed": 2}, detail={"passed": 2})
    ledger().commit(
        "run-q", "publish", PROFILE_KEY, outcome="quarantined", counts={"publish_quarantined": 2}, detail={}
    )

    out = route("publish", STAGED, error=ERROR)

    assert out == {"key": PROFILE_KEY, "quarantined": True}
    assert keys_in(aws, CURATED) == set()
    assert f"{PROFILE_KEY}.publish-rejects.jsonl" in keys_in(aws, QUARANTINE)
    assert ledger().counts("run-q") == {"passed": 2, "publish_quarantined": 2}


def test_an_object_published_after_all_is_not_quarantined_and_its_curated_keys_stay(aws):
    aws.put_object(Bucket=RAW, Key=STAGED, Body=b"{}\n")
    for key in LEFTOVERS:
        aws.put_object(Bucket=CURATED, Key=key, Body=b"published")
    ledger().commit("run-q", "process", PROFILE_KEY, outcome="processed", counts={"passed": 1}, detail={"passed": 1})
    ledger().commit("run-q", "publish", PROFILE_KEY, outcome="published", counts={"curated": 1}, detail={})

    out = route("publish", STAGED, error=ERROR)

    assert out == {"key": PROFILE_KEY, "quarantined": False}
    assert keys_in(aws, CURATED) == LEFTOVERS
    assert keys_in(aws, QUARANTINE) == set()
    assert ledger().counts("run-q") == {"passed": 1, "curated": 1}


# ---------------------------------------------------------------------------------------------- published_keys


@pytest.mark.parametrize(
    ("raw_key", "expected"),
    [
        (
            "datasets/ds/profiles/p.jsonl",
            [
                "records/ds/profiles/p.jsonl",
                "documents/ds/profiles/p.jsonl.md",
                "documents/ds/profiles/p.jsonl.md.metadata.json",
            ],
        ),
        ("datasets/ds/service_events/e.jsonl.gz", ["records/ds/service_events/e.jsonl"]),  # not for the knowledge base
        ("datasets/ds/unknown_source/u.jsonl", ["records/ds/unknown_source/u.jsonl"]),  # no settings for the source
        ("datasets/ds/top.jsonl", ["records/ds/top.jsonl"]),  # no source folder at all
    ],
)
def test_published_keys_are_every_curated_key_of_the_object(raw_key, expected):
    assert quarantine.published_keys(raw_key, pipeline_settings()) == expected
