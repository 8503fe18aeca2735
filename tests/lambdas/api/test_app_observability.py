"""What the app writes for the Observability stack: the quota-rejection metric and the one `chat` log line per
request whose fields the Logs Insights queries read (stacks/observability/queries.py)."""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any

from api.store.errors import QuotaExceeded

from stacks.observability.queries import CHAT_LINE_FIELDS
from tests.lambdas.api.fakes import ALICE, World, context_header, world

A = context_header(ALICE)


class RecordingLogger:
    def __init__(self) -> None:
        self.lines: list[tuple[str, str, dict[str, Any]]] = []

    def info(self, msg: str, *args: Any, **kwargs: Any) -> None:
        self.lines.append(("info", msg, kwargs.get("extra", {})))

    def warning(self, msg: str, *args: Any, **kwargs: Any) -> None:
        self.lines.append(("warning", msg, kwargs.get("extra", {})))

    def exception(self, msg: str, *args: Any, **kwargs: Any) -> None:
        self.lines.append(("exception", msg, kwargs.get("extra", {})))

    def chat_lines(self) -> list[dict[str, Any]]:
        return [extra for _, msg, extra in self.lines if msg == "chat"]


def logged_world() -> tuple[World, RecordingLogger]:
    w = world()
    logger = RecordingLogger()
    ticks = itertools.count()
    w.deps = dataclasses.replace(w.deps, logger=logger, clock=lambda: next(ticks) * 0.25)  # 250 ms a tick
    return w, logger


def test_a_quota_refusal_is_counted_with_its_code():
    w = world()
    w.quotas.refuse = QuotaExceeded(42, "tokens_per_day")
    with w.client() as client:
        client.post("/chat", json={"message": "hi"}, headers=A)
        client.post("/chat/stream", json={"message": "hi"}, headers=A)
    assert w.metrics.named("RequestsThrottled") == [(1, {"code": "QUOTA_EXCEEDED"})] * 2


def test_model_throttling_is_counted_apart_from_quotas():
    w = world()
    with w.client() as client:
        client.post("/chat", json={"message": "throttle"}, headers=A)
    assert [dims["code"] for _, dims in w.metrics.named("RequestsThrottled")] == ["MODEL_THROTTLED"]


def test_an_answer_is_not_counted_as_throttled():
    w = world()
    with w.client() as client:
        assert client.post("/chat", json={"message": "hi"}, headers=A).status_code == 200
    assert w.metrics.named("RequestsThrottled") == []


def test_the_chat_line_names_the_user_the_outcome_and_the_timings():
    w, logger = logged_world()
    with w.client() as client:
        client.post("/chat", json={"message": "hi"}, headers=A)
    (line,) = logger.chat_lines()
    assert line["user_id"] == ALICE
    assert (line["request_id"], line["outcome"], line["causes"]) == ("req-1", "answered", "")
    # the clock ticks 250 ms a call: started, first event, measure's latency, then the line's own latency
    assert line["first_event_ms"] == 250.0
    assert line["latency_ms"] > line["first_event_ms"]


def test_the_chat_line_of_a_block_lists_its_causes():
    w, logger = logged_world()
    with w.client() as client:
        client.post("/chat", json={"message": "block output"}, headers=A)
    (line,) = logger.chat_lines()
    assert (line["user_id"], line["outcome"], line["causes"]) == (ALICE, "blocked", "toxicity,guardrail")


def test_the_chat_line_holds_every_field_the_investigation_queries_read():
    w, logger = logged_world()
    with w.client() as client:
        client.post("/chat", json={"message": "hi"}, headers=A)
    (line,) = logger.chat_lines()
    assert set(CHAT_LINE_FIELDS) <= set(line) | {"message"}
