"""api.server: the real dependencies at lifespan startup, local mode, and the commands that start it (run.sh,
docs/api.md "Try it locally") checked against uvicorn's own command line and the app's routes."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import anyio
import boto3
import pytest
from api import server
from api.app import LOCAL_USER_ENV, ChatBody, create_app, parse_local_user
from api.contract import API_SETTINGS_ENV
from common.safety.policy import ENVIRONMENT_VARIABLE as SAFETY_ENV
from moto import mock_aws
from starlette.routing import Route
from starlette.testclient import TestClient
from uvicorn.main import main as uvicorn_cli

from tests.lambdas.api.fakes import settings, world
from tests.lambdas.api.store_world import create_table

ROOT = Path(__file__).resolve().parents[3]
ENV = {API_SETTINGS_ENV: settings().model_dump_json(), SAFETY_ENV: "{}"}


def test_the_lifespan_builds_the_real_app_and_local_mode_serves_the_local_user():
    with mock_aws():
        db = boto3.client("dynamodb", region_name="eu-west-1")
        for table in ("conversations", "quotas", "telemetry"):
            create_table(db, table)
        lazy = server.LazyApp({**ENV, LOCAL_USER_ENV: "alice:users"})
        with TestClient(lazy) as client:
            assert lazy._app is not None  # built at startup, before any request
            assert client.get("/healthz").json() == {"status": "ok"}
            assert client.get("/sessions").json() == {"sessions": []}  # KIT_LOCAL_USER, no request context


def test_without_local_user_a_request_needs_the_request_context():
    with mock_aws(), TestClient(server.LazyApp(ENV)) as client:
        assert client.get("/sessions").status_code == 401


def test_local_user_is_refused_inside_lambda():
    with pytest.raises(RuntimeError, match="local runs only"):
        server.local_mode({LOCAL_USER_ENV: "alice", "AWS_LAMBDA_FUNCTION_NAME": "chat"})
    assert server.local_mode({}) is False


def test_a_startup_failure_fails_the_lifespan():
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "lifespan.startup"}

    async def send(message: dict) -> None:
        sent.append(message)

    anyio.run(server.LazyApp({}), {"type": "lifespan"}, receive, send)
    assert [m["type"] for m in sent] == ["lifespan.startup.failed"]
    assert "API_SETTINGS" in sent[0]["message"]


def uvicorn_commands(text: str) -> list[list[str]]:
    found = []
    for line in text.replace("\\\n", " ").splitlines():
        words = shlex.split(line, comments=True) if "uvicorn" in line else []
        if "uvicorn" in words:
            found.append(words)
    return found


def check_uvicorn(words: list[str]) -> tuple[dict[str, str], list[str]]:
    """The NAME=value assignments and the uvicorn arguments, checked by uvicorn's own command line."""
    assignments = dict(w.split("=", 1) for w in words[: words.index("python")] if "=" in w)
    arguments = words[words.index("uvicorn") + 1 :]
    context = uvicorn_cli.make_context("uvicorn", list(arguments))
    assert context.params["app"] == "api.server:app"
    assert isinstance(server.app, server.LazyApp)
    return assignments, arguments


def test_run_sh_starts_the_server_for_the_lambda_web_adapter():
    script = (ROOT / "lambdas/api/run.sh").read_text()
    assert '--port "${PORT:-8080}"' in script  # the adapter's port (AWS_LWA_PORT / PORT), 8080 by default
    script = script.replace("$LAMBDA_TASK_ROOT", "/var/task").replace('"${PORT:-8080}"', "8080")
    [words] = uvicorn_commands(script)
    assignments, arguments = check_uvicorn([w for w in words if w != "exec"])
    assert "/var/task" in assignments["PYTHONPATH"].split(":")
    assert "/opt/python" in assignments["PYTHONPATH"].split(":")
    assert arguments[arguments.index("--host") + 1] == "0.0.0.0"


def test_the_local_commands_of_docs_api_md():
    text = (ROOT / "docs/api.md").read_text()
    section = text.split("## Try it locally", 1)[1]
    [block] = re.findall(r"```bash\n(.*?)```", section, re.S)
    [words] = uvicorn_commands(block)
    assignments, arguments = check_uvicorn(words)
    assert set(assignments) == {API_SETTINGS_ENV, SAFETY_ENV, LOCAL_USER_ENV, "PYTHONPATH"}
    assert (ROOT / assignments["PYTHONPATH"] / "api/server.py").exists()
    assert parse_local_user(assignments[LOCAL_USER_ENV]).user_id == "alice"
    port = arguments[arguments.index("--port") + 1]

    curls = [shlex.split(line) for line in block.splitlines() if line.startswith("curl ")]
    assert curls
    for curl in curls:
        url = next(w for w in curl if w.startswith("http://"))
        assert url.startswith(f"http://127.0.0.1:{port}/")
        path = "/" + url.split("/", 3)[3]
        body = curl[curl.index("-d") + 1]
        ChatBody.model_validate(json.loads(body))
        assert path in {"/chat", "/chat/stream"}
        assert curl[curl.index("-X") + 1] == "POST"


def test_the_routes_the_docs_table_names_exist():
    app = create_app(world().deps)
    routes = {(m, route.path) for route in app.routes if isinstance(route, Route) for m in route.methods or ()}
    text = (ROOT / "docs/api.md").read_text()
    documented = set(re.findall(r"^\| `(GET|POST) (/[^`]*)`", text, re.M))
    assert documented
    assert documented <= routes
    assert {(m, p) for m, p in routes if m != "HEAD"} <= documented
