"""User telemetry against moto DynamoDB: stored items, the thumbs-up index, and the exact EMF lines."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from api.store import Telemetry, schema
from api.store.telemetry import MAX_TEXT_BYTES
from aws_lambda_powertools import Metrics

from tests.lambdas.api.store_world import Clock, mocked_table, raw_items

NOW = 1_714_564_800.25  # 2024-05-01T12:00:00.250Z
TABLE = "telemetry"
NAMESPACE = "JourneyApiTests"


@pytest.fixture
def db() -> Iterator[Any]:
    with mocked_table(TABLE, up_index=True) as client:
        yield client


@pytest.fixture
def metrics() -> Iterator[Metrics]:
    metrics = Metrics(namespace=NAMESPACE, service="chat")
    metrics.clear_metrics()
    yield metrics
    metrics.clear_metrics()


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def telemetry(db: Any, metrics: Metrics, clock: Clock) -> Telemetry:
    ids = iter(["e1", "e2", "e3", "e4"])
    return Telemetry(TABLE, db, metrics, clock=clock, ttl_days=30, new_id=lambda: next(ids))


def emf(name: str, unit: str, value: float) -> dict[str, Any]:
    return {
        "_aws": {
            "CloudWatchMetrics": [
                {"Namespace": NAMESPACE, "Dimensions": [["service"]], "Metrics": [{"Name": name, "Unit": unit}]}
            ],
        },
        "service": "chat",
        name: [value],
    }


def emitted(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    """The EMF lines printed, each without its Timestamp (the flush's wall-clock epoch ms, checked for type)."""
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    for line in lines:
        assert isinstance(line["_aws"].pop("Timestamp"), int)
    return lines


def up_index(db: Any, day: str) -> list[tuple[str, str]]:
    found = db.query(
        TableName=TABLE,
        IndexName=schema.TELEMETRY_UP_INDEX,
        KeyConditionExpression="up_day = :d",
        ExpressionAttributeValues={":d": {"S": f"UP#{day}"}},
    )["Items"]
    return [(item["pk"]["S"], item["sk"]["S"]) for item in found]


def test_thumbs_up_is_stored_indexed_and_counted(
    telemetry: Telemetry, db: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    telemetry.feedback("alice", "s1", "req1", "up", "accurate", "spot on")
    [item] = raw_items(db, TABLE)
    assert item == {
        "pk": {"S": "USER#alice"},
        "sk": {"S": "FEEDBACK#req1"},
        "user_id": {"S": "alice"},
        "session_id": {"S": "s1"},
        "request_id": {"S": "req1"},
        "rating": {"S": "up"},
        "reason": {"S": "accurate"},
        "comment": {"S": "spot on"},
        "created_at": {"N": "1714564800.25"},
        "expires_at": {"N": "1717156800"},
        "up_day": {"S": "UP#2024-05-01"},
        "up_key": {"S": "alice#req1"},
    }
    assert up_index(db, "2024-05-01") == [("USER#alice", "FEEDBACK#req1")]
    assert emitted(capsys) == [emf("thumbs_up", "Count", 1.0)]


def test_thumbs_down_is_counted_and_replaces_an_earlier_up(
    telemetry: Telemetry, db: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    telemetry.feedback("alice", "s1", "req1", "up", None, None)
    telemetry.feedback("alice", "s1", "req1", "down", "wrong", None)
    [item] = raw_items(db, TABLE)
    assert item["rating"] == {"S": "down"}
    assert item["reason"] == {"S": "wrong"}
    assert "comment" not in item
    assert "up_day" not in item
    assert up_index(db, "2024-05-01") == []
    assert emitted(capsys) == [emf("thumbs_up", "Count", 1.0), emf("thumbs_down", "Count", 1.0)]


def test_feedback_input_is_checked(telemetry: Telemetry) -> None:
    with pytest.raises(ValueError, match="rating"):
        telemetry.feedback("alice", "s1", "req1", "sideways", None, None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="comment"):
        telemetry.feedback("alice", "s1", "req1", "up", None, "x" * 2001)
    with pytest.raises(ValueError, match="reason"):
        telemetry.feedback("alice", "s1", "req1", "up", "x" * 201, None)


def test_events_are_stored_and_counted(telemetry: Telemetry, db: Any, capsys: pytest.CaptureFixture[str]) -> None:
    telemetry.event("alice", "s1", "session_start", None)
    telemetry.event("alice", "s1", "copy", None)
    telemetry.event("alice", "s1", "regenerate", None)
    telemetry.event("alice", "s1", "session_end", 754.5)
    assert emitted(capsys) == [
        emf("copy", "Count", 1.0),
        emf("regenerate", "Count", 1.0),
        emf("session_seconds", "Seconds", 754.5),
    ]
    items = raw_items(db, TABLE)
    assert [(item["sk"]["S"], item["kind"]["S"]) for item in items] == [
        ("EVENT#1714564800250#e1", "session_start"),
        ("EVENT#1714564800250#e2", "copy"),
        ("EVENT#1714564800250#e3", "regenerate"),
        ("EVENT#1714564800250#e4", "session_end"),
    ]
    assert items[3]["duration_seconds"] == {"N": "754.5"}
    assert "duration_seconds" not in items[0]
    assert all(item["expires_at"] == {"N": "1717156800"} for item in items)


@pytest.mark.parametrize(
    ("kind", "duration", "message"),
    [
        ("session_end", None, "session_end needs"),
        ("session_end", -1.0, "session_end needs"),
        ("session_end", 7 * 86_400 + 1.0, "session_end needs"),
        ("copy", 3.0, "takes no duration"),
        ("paste", None, "unknown event kind"),
    ],
)
def test_event_input_is_checked(telemetry: Telemetry, kind: Any, duration: float | None, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        telemetry.event("alice", "s1", kind, duration)


def test_exchange_is_kept_with_a_ttl(telemetry: Telemetry, db: Any, capsys: pytest.CaptureFixture[str]) -> None:
    telemetry.exchange("alice", "s1", "req1", "How do I reset my token?", "Open the portal.", "rag")
    [item] = raw_items(db, TABLE)
    assert item["sk"] == {"S": "EXCHANGE#req1"}
    assert item["prompt"] == {"S": "How do I reset my token?"}
    assert item["answer"] == {"S": "Open the portal."}
    assert item["architecture"] == {"S": "rag"}
    assert item["expires_at"] == {"N": "1717156800"}
    assert "truncated" not in item
    assert emitted(capsys) == []


def test_an_oversized_exchange_is_cut_and_marked(telemetry: Telemetry, db: Any) -> None:
    telemetry.exchange("alice", "s1", "req1", "q", "é" * MAX_TEXT_BYTES, "direct")
    [item] = raw_items(db, TABLE)
    assert item["truncated"] == {"BOOL": True}
    assert item["answer"]["S"] == "é" * (MAX_TEXT_BYTES // 2)
