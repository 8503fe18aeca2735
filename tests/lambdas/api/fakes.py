"""In-memory stand-ins for the app's seams (pipeline, stores, metrics) and request helpers."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from api.app import REQUEST_CONTEXT_HEADER, AppDependencies, create_app
from api.chat import (
    Answer,
    Blocked,
    ChatError,
    ChatRequest,
    Citation,
    Citations,
    Delta,
    Done,
    Turn,
    Usage,
)
from api.contract import ApiSettings, QuotaSpec
from api.store.errors import QuotaExceeded, SessionNotFound
from starlette.testclient import TestClient

ALICE = "0f6d3a64-1111-4c3e-9d0a-6f1e2a3b4c5d"
BOB = "7a8b9c0d-2222-4e5f-8a9b-0c1d2e3f4a5b"
SESSION = "5b7d2f0e-3c1a-4e8b-9f6d-2a4c6e8f0b1d"
OTHER_SESSION = "9e8d7c6b-5a49-4382-a1b0-c9d8e7f6a5b4"


def settings(**overrides: Any) -> ApiSettings:
    base: dict[str, Any] = {
        "usecase": "customer-retention",
        "architecture": "direct",
        "per_request": ["rag"],
        "knowledge_base_id": "KB12345678",
        "model_id": "eu.anthropic.claude-3-haiku-20240307-v1:0",
        "prompt_parameters": {"answer": "/kit/prompts/answer", "summarize": "/kit/prompts/summarize"},
        "default_task": "answer",
        "max_prompt_chars": 200,
        "conversations_table": "conversations",
        "quotas_table": "quotas",
        "telemetry_table": "telemetry",
        "quotas": {"users": {"tokens_per_day": 10_000, "requests_per_minute": 100}},
        "metrics_namespace": "JourneyKit/Api",
    }
    base.update(overrides)
    return ApiSettings.model_validate(base)


def context_header(sub: str, groups: str | list[str] | None = "users") -> dict[str, str]:
    """The header the Lambda Web Adapter adds: API Gateway's REST requestContext with the Cognito claims."""
    claims: dict[str, Any] = {"sub": sub, "email": f"{sub[:4]}@example.com"}
    if groups is not None:
        claims["cognito:groups"] = groups
    context = {
        "resourcePath": "/chat",
        "httpMethod": "POST",
        "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
        "stage": "prod",
        "identity": {"sourceIp": "203.0.113.7"},
        "authorizer": {"claims": claims},
    }
    return {REQUEST_CONTEXT_HEADER: json.dumps(context)}


def answer_of(request: ChatRequest, text: str, **changes: Any) -> Answer:
    values: dict[str, Any] = {
        "request_id": request.request_id,
        "text": text,
        "citations": (),
        "guardrail_action": None,
        "usage": Usage(12, 5),
        "prompt_version": "arn:aws:bedrock:eu-west-1:123456789012:prompt/P1:3",
        "architecture": request.architecture,
    }
    values.update(changes)
    return Answer(**values)


@dataclass
class FakePipeline:
    """Events by the message: "block input" / "block output" / "throttle" / "fail" / "fail late", else a
    two-delta answer with one citation."""

    requests: list[ChatRequest] = field(default_factory=list)

    def stream(self, request: ChatRequest) -> Iterator[Any]:
        self.requests.append(request)
        message = request.message
        if message == "throttle":
            raise ChatError("MODEL_THROTTLED", 429, "Bedrock is throttling", retry_after=3)
        if message == "fail":
            raise RuntimeError("boom")
        if message == "block input":
            blocked = Blocked("INPUT_BLOCKED", "prefilter", "input")
            yield blocked
            yield Done(answer_of(request, "", usage=Usage(0, 0), blocked=blocked))
            return
        yield Delta("Hello ")
        if message == "fail late":
            raise ChatError("MODEL_THROTTLED", 429, "Bedrock is throttling", retry_after=2)
        yield Delta("world.")
        if message == "block output":
            blocked = Blocked("OUTPUT_BLOCKED", "toxicity,guardrail", "output")
            yield blocked
            yield Done(answer_of(request, "", blocked=blocked, guardrail_action="INTERVENED"))
            return
        citation = Citation("s3://docs/a.pdf", "a passage")
        yield Citations((citation,))
        yield Done(answer_of(request, "Hello world.", citations=(citation,)))


@dataclass
class FakeConversations:
    turns: dict[tuple[str, str], list[tuple[Turn, str]]] = field(default_factory=dict)

    def window(self, user_id: str, session_id: str, max_tokens: int) -> tuple[Turn, ...]:
        return tuple(turn for turn, _ in self.turns.get((user_id, session_id), []))

    def append(self, user_id: str, session_id: str, turns: Sequence[Turn], request_id: str) -> None:
        self.turns.setdefault((user_id, session_id), []).extend((turn, request_id) for turn in turns)

    def sessions(self, user_id: str) -> list[dict[str, Any]]:
        return [{"session_id": s, "turns": len(t)} for (u, s), t in sorted(self.turns.items()) if u == user_id]

    def session(self, user_id: str, session_id: str) -> dict[str, Any]:
        if (user_id, session_id) not in self.turns:
            raise SessionNotFound(session_id)
        turns = self.turns[(user_id, session_id)]
        return {"session_id": session_id, "turns": [{"role": t.role, "text": t.text} for t, _ in turns]}


@dataclass
class FakeQuotas:
    refuse: QuotaExceeded | None = None
    admitted: list[tuple[str, QuotaSpec]] = field(default_factory=list)
    charged: list[tuple[str, int]] = field(default_factory=list)

    def admit(self, user_id: str, quota: QuotaSpec) -> None:
        if self.refuse is not None:
            raise self.refuse
        self.admitted.append((user_id, quota))

    def charge_tokens(self, user_id: str, quota: QuotaSpec, tokens: int) -> None:
        self.charged.append((user_id, tokens))


@dataclass
class FakeTelemetry:
    feedbacks: list[tuple[Any, ...]] = field(default_factory=list)
    events: list[tuple[Any, ...]] = field(default_factory=list)
    exchanges: list[tuple[Any, ...]] = field(default_factory=list)

    def feedback(self, *args: Any) -> None:
        self.feedbacks.append(args)

    def event(self, *args: Any) -> None:
        self.events.append(args)

    def exchange(self, *args: Any) -> None:
        self.exchanges.append(args)


@dataclass
class FakeMetrics:
    values: list[tuple[str, float, str, dict[str, str]]] = field(default_factory=list)

    def record(self, name: str, value: float, unit: str, dimensions: Mapping[str, str]) -> None:
        self.values.append((name, value, unit, dict(dimensions)))

    def named(self, name: str) -> list[tuple[float, dict[str, str]]]:
        return [(value, dims) for n, value, _, dims in self.values if n == name]


@dataclass
class World:
    deps: AppDependencies
    pipeline: FakePipeline
    conversations: FakeConversations
    quotas: FakeQuotas
    telemetry: FakeTelemetry
    metrics: FakeMetrics

    def client(self, *, local: bool = False, raise_server_exceptions: bool = True) -> TestClient:
        return TestClient(create_app(self.deps, local=local), raise_server_exceptions=raise_server_exceptions)


def world(**setting_overrides: Any) -> World:
    ids = itertools.count(1)
    pipeline, conversations, quotas = FakePipeline(), FakeConversations(), FakeQuotas()
    telemetry, metrics = FakeTelemetry(), FakeMetrics()
    deps = AppDependencies(
        settings=settings(**setting_overrides),
        pipeline=pipeline,
        conversations=conversations,
        quotas=quotas,
        telemetry=telemetry,
        metrics=metrics,
        new_request_id=lambda: f"req-{next(ids)}",
        new_session_id=lambda: "1e2d3c4b-5a69-4788-9a0b-1c2d3e4f5a6b",
    )
    return World(deps, pipeline, conversations, quotas, telemetry, metrics)


def sse_events(body: str) -> list[tuple[str, dict[str, Any]]]:
    """Parse a text/event-stream body strictly: every frame is exactly `event:` then one `data:` line."""
    assert body.endswith("\n\n"), body
    frames = []
    for frame in body[:-2].split("\n\n"):
        lines = frame.split("\n")
        assert len(lines) == 2, frame
        assert lines[0].startswith("event: "), frame
        assert lines[1].startswith("data: "), frame
        frames.append((lines[0][len("event: ") :], json.loads(lines[1][len("data: ") :])))
    return frames
