"""Hypothesis over the chat app: no malformed body, header or path ever gets a 5xx, and every refusal is the
stable error shape."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

from api.app import AppDependencies, create_app
from api.chat import ChatRequest, Delta, Done
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from tests.lambdas.api.fakes import (
    ALICE,
    SESSION,
    FakeConversations,
    FakeMetrics,
    FakeQuotas,
    FakeTelemetry,
    answer_of,
    context_header,
)
from tests.lambdas.api.fakes import settings as api_settings


class EchoPipeline:
    def stream(self, request: ChatRequest) -> Iterator[Any]:
        yield Delta("ok.")
        yield Done(answer_of(request, "ok."))


CLIENT = TestClient(
    create_app(
        AppDependencies(
            settings=api_settings(),
            pipeline=EchoPipeline(),
            conversations=FakeConversations(),
            quotas=FakeQuotas(),
            telemetry=FakeTelemetry(),
            metrics=FakeMetrics(),
        )
    ),
    raise_server_exceptions=False,
)
A = context_header(ALICE)
ROUTES = [("POST", "/chat"), ("POST", "/chat/stream"), ("POST", "/feedback"), ("POST", "/events")]
FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
field_values = json_values | st.sampled_from(
    ["up", "down", "copy", "session_end", "rag", "agent", "answer", SESSION, SESSION.upper(), "", "\ud800", "x" * 300]
)
keys = st.sampled_from(
    ["message", "session_id", "architecture", "task", "request_id", "rating", "reason", "comment", "kind",
     "duration_seconds", "extra"]
)  # fmt: skip
bodies = st.dictionaries(keys, field_values, max_size=6) | json_values


def assert_client_error(response) -> None:
    assert response.status_code < 500, response.text
    if response.status_code >= 400 and response.request.method != "HEAD":
        body = response.json()
        assert set(body["error"]) == {"code", "message", "request_id"}


@FUZZ
@given(route=st.sampled_from(ROUTES), body=bodies)
def test_json_bodies_never_5xx(route, body):
    method, path = route
    content = json.dumps(body)
    assert_client_error(
        CLIENT.request(method, path, content=content, headers={**A, "content-type": "application/json"})
    )


@FUZZ
@given(route=st.sampled_from(ROUTES), raw=st.binary(max_size=200))
def test_raw_bytes_never_5xx(route, raw):
    method, path = route
    assert_client_error(CLIENT.request(method, path, content=raw, headers=A))


context_values = st.one_of(
    st.text(max_size=60),
    json_values.map(json.dumps),
    st.builds(
        lambda sub, groups: json.dumps({"authorizer": {"claims": {"sub": sub, "cognito:groups": groups}}}),
        json_values,
        json_values,
    ),
)


@FUZZ
@given(route=st.sampled_from([*ROUTES, ("GET", "/sessions")]), context=context_values, media=st.text(max_size=30))
def test_headers_never_5xx(route, context, media):
    method, path = route
    headers = {"x-amzn-request-context": context, "content-type": media}
    try:
        headers = {k: v.encode("latin-1").decode("latin-1") for k, v in headers.items()}
        request = CLIENT.build_request(method, path, content=b'{"message": "hi"}', headers=headers)
    except (UnicodeError, ValueError):
        return  # not a header an HTTP client can send at all
    assert_client_error(CLIENT.send(request))


@FUZZ
@given(
    path=st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters="?#"), max_size=40)
    | st.text(max_size=20).map(lambda text: quote(text, safe="")),
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"]),
)
def test_paths_and_methods_never_5xx(path, method):
    assume(not path.startswith("/"))  # "//host:port": an authority to an HTTP client, not a path
    assert_client_error(CLIENT.request(method, "/" + path, headers=A))


@FUZZ
@given(session=st.text(max_size=60))
def test_session_paths_never_5xx(session):
    response = CLIENT.get("/sessions/" + quote(session, safe=""), headers=A)
    assert_client_error(response)
    assert response.status_code in (200, 404)
