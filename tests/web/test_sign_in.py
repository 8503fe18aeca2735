"""The deployed page's sign-in (web/js/auth.js): Cognito managed login with the authorization code flow and PKCE,
tokens refreshed, a 401 leading back to login.

The page and the Api app are the real ones; only what stands outside the kit is played here: Cognito's
/oauth2/authorize and /oauth2/token (Playwright routes, checked the way Cognito checks them: the code verifier
must hash to the challenge) and API Gateway's Cognito authorizer (`FakeGateway`: an accepted ID token becomes the
``x-amzn-request-context`` claims the Lambda Web Adapter hands the app; any other token is a 401). The Api app is
created as deployed (``local=False``): it serves nobody without that context.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
from api.app import create_app
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from tests.web.conftest import USECASE, wait_for
from tools.local import WEB_DIR, LocalOptions, RunningServer, _SecurityHeaders, local_deps, start_in_thread
from tools.local_fakes import MemoryStores

pytestmark = [pytest.mark.browser, pytest.mark.allow_hosts(["127.0.0.1"])]

CLIENT_ID = "4example0client0id0abcdefg"


class FakeGateway:
    """API Gateway's Cognito authorizer in front of the app: ``accepted`` maps ID tokens to user ids."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.accepted: dict[str, str] = {}
        self.seen: list[str] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        token = headers.pop(b"authorization", b"").decode()
        self.seen.append(token)
        user = self.accepted.get(token)
        if user is None:
            await JSONResponse({"message": "Unauthorized"}, status_code=401)(scope, receive, send)
            return
        context = {"authorizer": {"claims": {"sub": user, "cognito:groups": "users"}}}
        headers[b"x-amzn-request-context"] = json.dumps(context).encode()
        await self.app({**scope, "headers": list(headers.items())}, receive, send)


@pytest.fixture
def deployed() -> Iterator[tuple[RunningServer, FakeGateway, MemoryStores]]:
    stores = MemoryStores()
    deps = local_deps(LocalOptions(usecase=USECASE, first_token_ms=1, pace_ms=1), stores)
    gateway = FakeGateway(create_app(deps, local=False))
    holder: dict[str, str] = {}

    async def config(request: Request) -> Response:
        origin = str(request.base_url).rstrip("/")
        holder["origin"] = origin
        return JSONResponse(
            {
                "apiUrl": f"{origin}/api",
                "region": "eu-west-1",
                "userPoolId": "eu-west-1_Example1",
                "clientId": CLIENT_ID,
                "cognitoDomain": f"{origin}/cognito",
                "redirectUri": f"{origin}/",
                "architectures": list(deps.settings.architectures),
                "tasks": list(deps.settings.tasks),
                "local": False,
            }
        )

    app = Starlette(
        routes=[
            Route("/config.json", config),
            Mount("/api", app=gateway),
            Mount("/", app=StaticFiles(directory=WEB_DIR, html=True)),
        ]
    )
    app.add_middleware(_SecurityHeaders)
    server = start_in_thread(app)
    yield server, gateway, stores
    server.stop()


def s256(verifier: str) -> str:
    """RFC 7636 section 4.2: BASE64URL(SHA256(ASCII(code_verifier))), without padding."""
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).decode().rstrip("=")


def test_pkce_sign_in_refresh_and_back_to_login(
    browser: Any, deployed: tuple[RunningServer, FakeGateway, MemoryStores]
):
    server, gateway, stores = deployed
    origin = server.url.rstrip("/")
    authorizations: list[dict[str, list[str]]] = []
    token_requests: list[dict[str, list[str]]] = []
    refresh_allowed = [True]

    def authorize(route: Any) -> None:
        query = parse_qs(urlparse(route.request.url).query)
        authorizations.append(query)
        if len(authorizations) == 2:
            gateway.accepted = {"id-1": "alice"}  # signed in again: the new token is good
        back = urlencode({"code": f"code-{len(authorizations)}", "state": query["state"][0]})
        route.fulfill(status=302, headers={"location": f"{query['redirect_uri'][0]}?{back}"})

    def token(route: Any) -> None:
        form = parse_qs(route.request.post_data or "")
        token_requests.append(form)
        if form["grant_type"] == ["authorization_code"]:
            challenge = authorizations[-1]["code_challenge"][0]
            if form.get("code_verifier", [""])[0] and s256(form["code_verifier"][0]) == challenge:
                body = {"id_token": "id-1", "access_token": "a-1", "refresh_token": "r-1", "expires_in": 3600}
                route.fulfill(status=200, content_type="application/json", body=json.dumps(body))
                return
        elif form["grant_type"] == ["refresh_token"] and refresh_allowed[0] and form["refresh_token"] == ["r-1"]:
            body = {"id_token": "id-2", "access_token": "a-2", "expires_in": 3600}
            route.fulfill(status=200, content_type="application/json", body=json.dumps(body))
            return
        route.fulfill(status=400, content_type="application/json", body='{"error":"invalid_grant"}')

    context = browser.new_context()
    context.route(f"{origin}/cognito/oauth2/authorize*", authorize)
    context.route(f"{origin}/cognito/oauth2/token", token)
    page = context.new_page()
    try:
        gateway.accepted = {"id-2": "alice"}  # the first ID token is refused: the page refreshes and retries
        page.goto(server.url)
        page.wait_for_selector("body[data-ready=true]")

        (first,) = authorizations
        assert {k: v[0] for k, v in first.items() if k not in ("state", "code_challenge")} == {
            "response_type": "code",
            "client_id": CLIENT_ID,
            "redirect_uri": f"{origin}/",
            "scope": "openid email",
            "code_challenge_method": "S256",
        }
        assert len(first["state"][0]) >= 16
        assert len(first["code_challenge"][0]) == 43
        exchange, refresh = token_requests
        assert exchange["code"] == ["code-1"]
        assert exchange["client_id"] == [CLIENT_ID]
        assert exchange["redirect_uri"] == [f"{origin}/"]
        assert 43 <= len(exchange["code_verifier"][0]) <= 128  # RFC 7636's length
        assert refresh["grant_type"] == ["refresh_token"]
        assert refresh["refresh_token"] == ["r-1"]
        assert page.url == f"{origin}/", "the code leaves the address bar"
        assert page.evaluate("Object.keys(sessionStorage).length") == 0, "the verifier is single-use"
        assert page.evaluate("Object.keys(localStorage).length") == 0, "tokens stay in memory"
        assert gateway.seen[:2] == ["id-1", "id-2"]
        (start,) = [r for r in stores.records if r.get("kind") == "session_start"]
        assert start["user_id"] == "alice"

        # the token stops being accepted and no refresh helps: the next request leads back to login
        gateway.accepted = {}
        refresh_allowed[0] = False
        page.fill("#message", "Still signed in?")
        with page.expect_navigation():
            page.click("#send")
        page.wait_for_selector("body[data-ready=true]")
        assert len(authorizations) == 2
        assert authorizations[1]["state"] != first["state"]
        assert authorizations[1]["code_challenge"] != first["code_challenge"]

        # signed in, the session's end leaves on pagehide with its Authorization header (keepalive fetch)
        page.goto("about:blank")
        ends = wait_for(lambda: [r for r in stores.records if r.get("kind") == "session_end"])
        assert [(r["user_id"], r["duration_seconds"] > 0) for r in ends] == [("alice", True)]
        assert gateway.seen[-1] == "id-1"
    finally:
        context.close()
