"""The chat app through Starlette's TestClient over fakes: routes, identity, validation, error mapping, SSE."""

from __future__ import annotations

import json

import pytest
from api.app import ERRORS, parse_local_user, sse
from api.chat import Caller, Turn
from api.store.errors import QuotaExceeded
from botocore.exceptions import ClientError

from tests.lambdas.api.fakes import ALICE, BOB, OTHER_SESSION, SESSION, context_header, sse_events, world

A = context_header(ALICE)
B = context_header(BOB)


def error_of(response) -> dict:
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "request_id"}
    assert body["error"]["request_id"] == response.headers["x-request-id"]
    return body["error"]


# ------------------------------------------------------------------------------------------ chat


def test_buffered_chat_answers_and_stores_the_exchange():
    w = world()
    with w.client() as client:
        response = client.post("/chat", json={"message": "hi", "session_id": SESSION}, headers=A)
    assert response.status_code == 200
    body = response.json()
    assert body == {
        "request_id": "req-1",
        "session_id": SESSION,
        "architecture": "direct",
        "citations": [{"source": "s3://docs/a.pdf", "text": "a passage"}],
        "guardrail_action": None,
        "usage": {"input_tokens": 12, "output_tokens": 5},
        "prompt_version": "arn:aws:bedrock:eu-west-1:123456789012:prompt/P1:3",
        "text": "Hello world.",
        "blocked": None,
    }
    assert response.headers["x-request-id"] == "req-1"
    request = w.pipeline.requests[0]
    assert request.caller == Caller(ALICE, ("users",))
    assert (request.session_id, request.task, request.history) == (SESSION, "answer", ())
    assert w.quotas.admitted[0][0] == ALICE
    assert w.quotas.charged == [(ALICE, 17)]
    assert [t for t, _ in w.conversations.turns[(ALICE, SESSION)]] == [
        Turn("user", "hi"),
        Turn("assistant", "Hello world."),
    ]
    assert w.telemetry.exchanges == [(ALICE, SESSION, "req-1", "hi", "Hello world.", "direct")]
    assert [v for v, _ in w.metrics.named("InputTokens")] == [12]
    assert [v for v, _ in w.metrics.named("OutputTokens")] == [5]
    assert w.metrics.named("ChatLatency")[0][1] == {"architecture": "direct"}


def test_history_is_the_window_of_the_callers_session_and_a_new_session_gets_an_id():
    w = world()
    with w.client() as client:
        first = client.post("/chat", json={"message": "hi"}, headers=A).json()
        client.post("/chat", json={"message": "again", "session_id": first["session_id"]}, headers=A)
    assert first["session_id"] == "1e2d3c4b-5a69-4788-9a0b-1c2d3e4f5a6b"
    assert w.pipeline.requests[0].history == ()
    assert w.pipeline.requests[1].history == (Turn("user", "hi"), Turn("assistant", "Hello world."))


def test_architecture_and_task_are_checked_against_the_settings():
    w = world()
    with w.client() as client:
        ok = client.post("/chat", json={"message": "hi", "architecture": "rag", "task": "summarize"}, headers=A)
        arch = client.post("/chat", json={"message": "hi", "architecture": "agent"}, headers=A)
        task = client.post("/chat", json={"message": "hi", "task": "poetry"}, headers=A)
    assert ok.status_code == 200
    assert (w.pipeline.requests[0].architecture, w.pipeline.requests[0].task) == ("rag", "summarize")
    assert (arch.status_code, error_of(arch)["code"]) == (400, "UNKNOWN_ARCHITECTURE")
    assert (task.status_code, error_of(task)["code"]) == (400, "UNKNOWN_TASK")
    assert len(w.pipeline.requests) == 1


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"message": ""}, "INVALID_REQUEST"),
        ({}, "INVALID_REQUEST"),
        ({"message": 5}, "INVALID_REQUEST"),
        ({"message": "hi", "session_id": "not-a-uuid"}, "INVALID_REQUEST"),
        ({"message": "hi", "extra": True}, "INVALID_REQUEST"),
        ({"message": "\ud800"}, "INVALID_REQUEST"),
        ([1, 2], "INVALID_REQUEST"),
    ],
)
def test_malformed_chat_bodies_are_400_with_a_code(body, code):
    w = world()
    with w.client() as client:
        response = client.post("/chat", content=json.dumps(body), headers={**A, "content-type": "application/json"})
    assert response.status_code == 400
    assert error_of(response)["code"] == code
    assert w.pipeline.requests == []


def test_not_json_too_large_and_wrong_media_type():
    w = world()
    with w.client() as client:
        long = client.post("/chat", json={"message": "x" * 201}, headers=A)
        bad = client.post("/chat", content=b"{nope", headers=A)
        big = client.post("/chat", content=b"x" * 70_000, headers=A)
        xml = client.post("/chat", content=b"<a/>", headers={**A, "content-type": "application/xml"})
    assert (long.status_code, error_of(long)["code"]) == (413, "PROMPT_TOO_LONG")
    assert (bad.status_code, error_of(bad)["code"]) == (400, "INVALID_JSON")
    assert (big.status_code, error_of(big)["code"]) == (413, "BODY_TOO_LARGE")
    assert (xml.status_code, error_of(xml)["code"]) == (415, "UNSUPPORTED_MEDIA_TYPE")


def test_quota_refusal_is_429_with_retry_after():
    w = world()
    w.quotas.refuse = QuotaExceeded(42, "requests_per_minute")
    with w.client() as client:
        response = client.post("/chat", json={"message": "hi"}, headers=A)
        stream = client.post("/chat/stream", json={"message": "hi"}, headers=A)
    for r in (response, stream):
        assert r.status_code == 429
        assert r.headers["retry-after"] == "42"
        assert error_of(r)["code"] == "QUOTA_EXCEEDED"
    assert w.pipeline.requests == []


def test_a_caller_without_a_quota_group_is_403():
    w = world()
    with w.client() as client:
        response = client.post("/chat", json={"message": "hi"}, headers=context_header(ALICE, groups="guests"))
    assert (response.status_code, error_of(response)["code"]) == (403, "NO_QUOTA")


def test_model_throttling_is_429_never_5xx():
    w = world()
    with w.client() as client:
        buffered = client.post("/chat", json={"message": "throttle"}, headers=A)
        stream = client.post("/chat/stream", json={"message": "throttle"}, headers=A)
    for r in (buffered, stream):
        assert r.status_code == 429
        assert r.headers["retry-after"] == "3"
        assert error_of(r)["code"] == "MODEL_THROTTLED"
    assert w.metrics.named("ChatErrors")[0][1] == {"architecture": "direct", "code": "MODEL_THROTTLED"}


def test_table_throttling_is_429():
    w = world()
    error = ClientError({"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow"}}, "UpdateItem")

    def admit(user_id, quota):
        raise error

    w.quotas.admit = admit  # type: ignore[method-assign]
    with w.client() as client:
        response = client.post("/chat", json={"message": "hi"}, headers=A)
    assert (response.status_code, error_of(response)["code"]) == (429, "THROTTLED")
    assert response.headers["retry-after"] == "1"


def test_a_bug_is_a_500_with_the_same_error_shape():
    w = world()
    with w.client(raise_server_exceptions=False) as client:
        response = client.post("/chat", json={"message": "fail"}, headers=A)
    assert (response.status_code, error_of(response)["code"]) == (500, "INTERNAL")
    assert error_of(response)["message"] == "internal error"


def test_a_blocked_answer_is_200_without_text_and_is_not_remembered():
    w = world()
    with w.client() as client:
        response = client.post("/chat", json={"message": "block output", "session_id": SESSION}, headers=A)
    body = response.json()
    assert response.status_code == 200
    assert body["text"] == ""
    assert body["blocked"] == {
        "code": "OUTPUT_BLOCKED",
        "stage": "output",
        "message": "The answer was withheld by the content policy.",
        "request_id": "req-1",
    }
    assert w.conversations.turns == {}
    assert w.telemetry.exchanges == []
    assert w.quotas.charged == [(ALICE, 17)]
    blocked = w.metrics.named("ChatBlocked")
    assert sorted(d["cause"] for _, d in blocked) == ["guardrail", "toxicity"]
    assert all(d["stage"] == "output" for _, d in blocked)
    assert len(w.metrics.named("GuardrailInterventions")) == 1


# ------------------------------------------------------------------------------------------ SSE


def test_stream_frames_are_exact():
    w = world()
    with w.client() as client:
        response = client.post("/chat/stream", json={"message": "hi", "session_id": SESSION}, headers=A)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["cache-control"] == "no-cache"
    assert response.text.startswith(
        'event: delta\ndata: {"text":"Hello "}\n\nevent: delta\ndata: {"text":"world."}\n\n'
    )
    events = sse_events(response.text)
    assert [name for name, _ in events] == ["delta", "delta", "citations", "done"]
    assert events[2][1] == {"items": [{"source": "s3://docs/a.pdf", "text": "a passage"}]}
    assert events[3][1] == {
        "request_id": "req-1",
        "session_id": SESSION,
        "architecture": "direct",
        "citations": [{"source": "s3://docs/a.pdf", "text": "a passage"}],
        "guardrail_action": None,
        "usage": {"input_tokens": 12, "output_tokens": 5},
        "prompt_version": "arn:aws:bedrock:eu-west-1:123456789012:prompt/P1:3",
    }
    assert [t.text for t, _ in w.conversations.turns[(ALICE, SESSION)]] == ["hi", "Hello world."]


@pytest.mark.parametrize(("message", "before"), [("block input", []), ("block output", ["delta", "delta"])])
def test_a_blocked_event_ends_the_stream(message, before):
    w = world()
    with w.client() as client:
        response = client.post("/chat/stream", json={"message": message}, headers=A)
    events = sse_events(response.text)
    assert [name for name, _ in events] == [*before, "blocked"]
    assert events[-1][1]["code"] in ("INPUT_BLOCKED", "OUTPUT_BLOCKED")
    assert events[-1][1]["request_id"] == "req-1"
    assert "toxicity" not in response.text  # causes stay server-side
    assert "prefilter" not in response.text
    assert w.conversations.turns == {}


def test_an_error_after_the_first_event_is_an_error_event():
    w = world()
    with w.client() as client:
        response = client.post("/chat/stream", json={"message": "fail late"}, headers=A)
    assert response.status_code == 200
    events = sse_events(response.text)
    assert [name for name, _ in events] == ["delta", "error"]
    assert events[1][1] == {"code": "MODEL_THROTTLED", "message": "Bedrock is throttling", "request_id": "req-1"}
    assert w.conversations.turns == {}


def test_sse_frame_keeps_newlines_inside_one_data_line():
    assert sse("delta", {"text": "a\nb\n\nc"}) == b'event: delta\ndata: {"text":"a\\nb\\n\\nc"}\n\n'


# ------------------------------------------------------------------------------------------ identity


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"x-amzn-request-context": "not json"},
        {"x-amzn-request-context": "null"},
        {"x-amzn-request-context": json.dumps({"authorizer": {}})},
        {"x-amzn-request-context": json.dumps({"authorizer": {"claims": {"sub": ""}}})},
        {"x-amzn-request-context": json.dumps({"authorizer": {"claims": {"sub": 7}}})},
        {"x-amzn-request-context": json.dumps({"authorizer": {"claims": {"sub": "a/b"}}})},
        {"x-amzn-request-context": json.dumps({"authorizer": {"claims": {"sub": "a", "cognito:groups": 3}}})},
    ],
)
@pytest.mark.parametrize(("method", "path"), [("POST", "/chat"), ("POST", "/chat/stream"), ("GET", "/sessions")])
def test_no_usable_identity_is_401(headers, method, path):
    w = world()
    with w.client() as client:
        response = client.request(method, path, json={"message": "hi"}, headers=headers)
    assert (response.status_code, error_of(response)["code"]) == (401, "UNAUTHENTICATED")
    assert w.pipeline.requests == []


@pytest.mark.parametrize(
    ("groups", "expected"),
    [
        ("users", ("users",)),
        ("users,admins", ("admins", "users")),
        ("[users admins]", ("admins", "users")),
        (["admins", "users"], ("admins", "users")),
        (None, ()),
    ],
)
def test_groups_claim_shapes(groups, expected):
    w = world(quotas={"default": {"tokens_per_day": 5, "requests_per_minute": 1}})
    with w.client() as client:
        assert client.post("/chat", json={"message": "hi"}, headers=context_header(ALICE, groups)).status_code == 200
    assert w.pipeline.requests[0].caller.groups == expected


def test_local_identity_only_when_created_local():
    w = world()
    with w.client() as client:
        assert client.post("/chat", json={"message": "hi"}).status_code == 401
    with w.client(local=True) as client:
        assert client.post("/chat", json={"message": "hi"}).status_code == 200
        assert client.post("/chat", json={"message": "hi"}, headers=B).status_code == 200
    assert [r.caller for r in w.pipeline.requests] == [Caller("local-user", ("users",)), Caller(BOB, ("users",))]
    assert parse_local_user("alice:users,admins") == Caller("alice", ("admins", "users"))
    with pytest.raises(ValueError, match="KIT_LOCAL_USER"):
        parse_local_user("bad user")


# ------------------------------------------------------------------------------------------ feedback, events, sessions


def test_feedback_and_events_on_the_callers_session():
    w = world()
    with w.client() as client:
        client.post("/chat", json={"message": "hi", "session_id": SESSION}, headers=A)
        up = {"session_id": SESSION, "request_id": "req-1", "rating": "up", "reason": "helpful", "comment": "ok"}
        assert client.post("/feedback", json=up, headers=A).status_code == 202
        copy = {"session_id": SESSION, "kind": "copy", "request_id": "req-1"}
        assert client.post("/events", json=copy, headers=A).status_code == 202
        end = {"session_id": OTHER_SESSION, "kind": "session_end", "duration_seconds": 12.5}
        assert client.post("/events", json=end, headers=A).status_code == 202
    assert w.telemetry.feedbacks == [(ALICE, SESSION, "req-1", "up", "helpful", "ok")]
    assert w.telemetry.events == [(ALICE, SESSION, "copy", None), (ALICE, OTHER_SESSION, "session_end", 12.5)]


@pytest.mark.parametrize(
    "body",
    [
        {"session_id": SESSION, "request_id": "r", "rating": "meh"},
        {"session_id": SESSION, "rating": "up"},
        {"session_id": SESSION, "request_id": "r", "rating": "up", "comment": "x" * 1001},
        {"session_id": SESSION, "request_id": "r/../x", "rating": "up"},
    ],
)
def test_malformed_feedback_is_400(body):
    w = world()
    with w.client() as client:
        response = client.post("/feedback", json=body, headers=A)
    assert (response.status_code, error_of(response)["code"]) == (400, "INVALID_REQUEST")


@pytest.mark.parametrize(
    "body",
    [
        {"session_id": SESSION, "kind": "paste"},
        {"session_id": SESSION, "kind": "session_end", "duration_seconds": -1},
        {"session_id": SESSION, "kind": "session_end", "duration_seconds": "5"},
        {"session_id": "x", "kind": "copy"},
    ],
)
def test_malformed_events_are_400(body):
    w = world()
    with w.client() as client:
        response = client.post("/events", json=body, headers=A)
    assert (response.status_code, error_of(response)["code"]) == (400, "INVALID_REQUEST")


def test_sessions_list_and_detail_are_the_callers_own():
    w = world()
    with w.client() as client:
        client.post("/chat", json={"message": "hi", "session_id": SESSION}, headers=A)
        client.post("/chat", json={"message": "yo", "session_id": OTHER_SESSION}, headers=B)
        mine = client.get("/sessions", headers=A).json()
        detail = client.get(f"/sessions/{SESSION.upper()}", headers=A)
    assert mine == {"sessions": [{"session_id": SESSION, "turns": 2}]}
    assert detail.status_code == 200
    assert detail.json()["session"]["turns"][1] == {"role": "assistant", "text": "Hello world."}


def test_idor_another_users_session_is_not_found_everywhere():
    w = world()
    with w.client() as client:
        client.post("/chat", json={"message": "secret", "session_id": OTHER_SESSION}, headers=B)
        read = client.get(f"/sessions/{OTHER_SESSION}", headers=A)
        absent = client.get(f"/sessions/{SESSION}", headers=A)
        feedback = client.post(
            "/feedback", json={"session_id": OTHER_SESSION, "request_id": "req-1", "rating": "down"}, headers=A
        )
        copy = client.post("/events", json={"session_id": OTHER_SESSION, "kind": "copy"}, headers=A)
        regenerate = client.post("/events", json={"session_id": OTHER_SESSION, "kind": "regenerate"}, headers=A)
        listing = client.get("/sessions", headers=A).json()
        chat = client.post("/chat", json={"message": "more", "session_id": OTHER_SESSION}, headers=A)
    for response in (read, feedback, copy, regenerate):
        assert (response.status_code, error_of(response)["code"]) == (404, "SESSION_NOT_FOUND")
    # the same answer as for a session that does not exist at all: no existence leak
    assert error_of(absent)["message"] == error_of(read)["message"]
    assert listing == {"sessions": []}
    assert w.telemetry.feedbacks == []
    assert w.telemetry.events == []
    # chatting "into" B's session id reads none of B's turns and writes under A only
    assert chat.status_code == 200
    assert w.pipeline.requests[-1].history == ()
    assert [t.text for t, _ in w.conversations.turns[(BOB, OTHER_SESSION)]] == ["secret", "Hello world."]


def test_unknown_routes_and_methods_keep_the_error_shape():
    w = world()
    with w.client() as client:
        missing = client.get("/nope", headers=A)
        method = client.get("/chat", headers=A)
        bad_id = client.get("/sessions/..%2F..%2Fetc", headers=A)
        health = client.get("/healthz")
    assert (missing.status_code, error_of(missing)["code"]) == (404, "NOT_FOUND")
    assert (method.status_code, error_of(method)["code"]) == (405, "METHOD_NOT_ALLOWED")
    assert bad_id.status_code == 404
    assert health.json() == {"status": "ok"}


def test_every_code_maps_to_a_client_error_except_internal():
    assert {code for code, status in ERRORS.items() if status >= 500} == {"INTERNAL"}


def test_answers_carry_cors_headers_for_configured_origins_only():
    """API Gateway adds no CORS headers to a proxy integration's answers: the app does, for api.yaml's origins."""
    origin = "https://chat.example.com"
    client = world(cors_origins=[origin]).client()
    allowed = client.get("/healthz", headers={"origin": origin})
    assert allowed.headers["access-control-allow-origin"] == origin
    other = client.get("/healthz", headers={"origin": "https://evil.example.net"})
    assert "access-control-allow-origin" not in other.headers
