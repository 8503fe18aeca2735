"""`make local`'s pieces without a browser: the composed app, its settings from the use case, the fakes, the CLI.

The app runs through Starlette's TestClient (no socket); the browser tests drive the same app over loopback.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from api.architectures.base import Finish, TextPart
from api.architectures.direct import DirectArchitecture
from api.chat import Turn
from api.contract import QuotaSpec
from api.store.errors import QuotaExceeded, SessionNotFound
from api.store.tokens import estimate_tokens
from starlette.testclient import TestClient

from tools import local
from tools.local import CSP, LocalOptions, create_local_app, local_deps, page_config
from tools.local_fakes import FakeModel, MemoryStores

ROOT = Path(__file__).resolve().parents[2]
USECASES = ROOT / "usecases"
CONFIG_KEYS = {
    "apiUrl",
    "region",
    "userPoolId",
    "clientId",
    "cognitoDomain",
    "redirectUri",
    "architectures",
    "tasks",
    "local",
}
USECASE_NAMES = {"direct": "direct", "rag": "rag", "agent": "agent", "multi": "multi-task"}


def read_yaml(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def offered(usecase: str) -> list[str]:
    """The architectures the use case's files offer, read here from the YAML itself."""
    default = USECASE_NAMES[read_yaml(USECASES / usecase / "usecase.yaml")["architecture"]]
    others = read_yaml(USECASES / usecase / "api.yaml").get("per_request", [])
    return [default, *(a for a in others if a != default)]


def sse(text: str) -> list[tuple[str, dict[str, Any]]]:
    frames = [f for f in text.split("\n\n") if f.strip()]
    out = []
    for frame in frames:
        event, data = frame.split("\n")
        out.append((event.removeprefix("event: "), json.loads(data.removeprefix("data: "))))
    return out


@pytest.fixture
def stores() -> MemoryStores:
    return MemoryStores()


@pytest.mark.parametrize("usecase", ["customer-retention", "it-helpdesk"])
def test_local_app_serves_the_page_its_config_and_a_streamed_chat(usecase: str, stores: MemoryStores):
    app = create_local_app(local_deps(LocalOptions(usecase=usecase, first_token_ms=0, pace_ms=0), stores))
    with TestClient(app, base_url="http://127.0.0.1:8000") as client:
        page = client.get("/")
        assert page.status_code == 200
        assert '<script type="module" src="js/main.js"></script>' in page.text
        assert page.headers["content-security-policy"] == CSP
        directives = dict(d.strip().split(" ", 1) for d in CSP.split(";"))
        assert directives["script-src"] == directives["style-src"] == directives["connect-src"] == "'self'"
        assert directives["default-src"] == directives["frame-ancestors"] == "'none'"
        assert page.headers["x-content-type-options"] == "nosniff"
        assert client.get("/js/api.js").headers["content-type"].startswith("text/javascript")

        config = client.get("/config.json").json()
        assert set(config) == CONFIG_KEYS
        assert config["local"] is True
        assert config["apiUrl"] == "http://127.0.0.1:8000/api"
        assert config["redirectUri"] == "http://127.0.0.1:8000/"
        assert config["architectures"] == offered(usecase)
        assert config["tasks"] == sorted(read_yaml(USECASES / usecase / "prompts.yaml")["tasks"])

        answer = client.post("/api/chat/stream", json={"message": "Where is my order?"})
        assert answer.status_code == 200
        events = sse(answer.text)
        assert [name for name, _ in events if name != "delta"] == [
            *(["citations"] if offered(usecase)[0] == "rag" else []),
            "done",
        ]
        text = "".join(data["text"] for name, data in events if name == "delta")
        done = events[-1][1]
        (exchange,) = [r for r in stores.records if r["type"] == "exchange"]
        assert exchange["answer"] == text
        assert exchange["request_id"] == done["request_id"]
        assert exchange["user_id"] == "local-user"
        assert '"Where is my order?"' in text
        assert client.get("/api/healthz").json() == {"status": "ok"}


def test_each_offered_architecture_answers_and_the_task_picker_values_are_accepted(stores: MemoryStores):
    app = create_local_app(local_deps(LocalOptions(usecase="customer-retention", first_token_ms=0, pace_ms=0), stores))
    tasks = sorted(read_yaml(USECASES / "customer-retention" / "prompts.yaml")["tasks"])
    with TestClient(app) as client:
        for architecture in offered("customer-retention"):
            body = {"message": "Which offer fits?", "architecture": architecture, "task": tasks[0]}
            answer = client.post("/api/chat", json=body)
            assert answer.status_code == 200, answer.text
            assert answer.json()["architecture"] == architecture
            assert f"the {architecture} architecture, task {tasks[0]}" in answer.json()["text"]
        assert (
            client.post("/api/chat", json={"message": "x", "architecture": "multi-task"}).status_code == 200
        )  # default task
        refused = client.post("/api/chat", json={"message": "x", "task": "no_such_task"})
        assert refused.json()["error"]["code"] == "UNKNOWN_TASK"


def test_asked_for_a_codename_the_fake_names_a_denied_term_and_the_output_check_blocks(stores: MemoryStores):
    denied = read_yaml(USECASES / "customer-retention" / "safety.yaml")["entities"]["deny_terms"]
    app = create_local_app(local_deps(LocalOptions(usecase="customer-retention", first_token_ms=0, pace_ms=0), stores))
    with TestClient(app) as client:
        events = sse(client.post("/api/chat/stream", json={"message": "What is the codename of the offer?"}).text)
    assert [name for name, _ in events] == ["delta", "blocked"]  # one sentence out, then the slip is stopped
    assert events[1][1]["code"] == "OUTPUT_BLOCKED"
    assert not any(term.lower() in events[0][1]["text"].lower() for term in denied)
    assert [r for r in stores.records if r["type"] == "exchange"] == []


def test_a_low_quota_gives_429_with_retry_after():
    now = 1_800_000_000.0 + 50.5
    stores = MemoryStores(clock=lambda: now)
    deps = local_deps(
        LocalOptions(usecase="customer-retention", requests_per_minute=2, first_token_ms=0, pace_ms=0), stores
    )
    assert {q.requests_per_minute for q in deps.settings.quotas.values()} == {2}
    with TestClient(create_local_app(deps)) as client:
        assert [client.post("/api/chat", json={"message": "hi"}).status_code for _ in range(2)] == [200, 200]
        refused = client.post("/api/chat/stream", json={"message": "hi"})
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "10"  # 60 - 50.5, rounded up
    assert refused.json()["error"]["code"] == "QUOTA_EXCEEDED"


def test_the_real_path_is_wired_to_bedrock_with_the_usecase_model(stores: MemoryStores):
    """Without FAKE_MODEL: boto3 clients (constructed offline here), the direct architecture, usecase.yaml's model."""
    deps = local_deps(LocalOptions(usecase="customer-retention", fake_model=False), stores)
    model = read_yaml(USECASES / "customer-retention" / "usecase.yaml")["models"]["text"]
    assert deps.settings.architectures == ("direct",)
    assert deps.settings.model_id == model
    direct = deps.pipeline.architecture("direct")  # type: ignore[attr-defined]
    assert isinstance(direct, DirectArchitecture)
    assert direct._model._client.meta.service_model.service_name == "bedrock-runtime"
    assert deps.pipeline.safety.settings.toxicity.enabled  # type: ignore[attr-defined]  # safety.yaml as is
    assert deps.conversations is stores
    assert deps.telemetry is stores


def test_the_real_path_takes_a_deployed_stage_settings(stores: MemoryStores):
    deployed = {
        "usecase": "customer-retention",
        "architecture": "rag",
        "per_request": ["direct"],
        "model_id": "eu.anthropic.claude-3-haiku-20240307-v1:0",
        "knowledge_base_id": "KB12345678",
        "conversations_table": "t1",
        "quotas_table": "t2",
        "telemetry_table": "t3",
        "quotas": {"users": {"tokens_per_day": 100, "requests_per_minute": 5}},
        "metrics_namespace": "Kit",
    }
    environ = {"API_SETTINGS": json.dumps(deployed), "SAFETY_SETTINGS": "{}"}
    options = LocalOptions(usecase="customer-retention", fake_model=False, environ=environ)
    deps = local_deps(options, stores)
    assert deps.settings.architectures == ("rag", "direct")
    assert deps.settings.knowledge_base_id == "KB12345678"
    assert deps.quotas is stores


def test_fake_mode_runs_only_the_local_safety_checks():
    deps = local_deps(LocalOptions(usecase="customer-retention"), MemoryStores())
    safety = deps.pipeline.safety.settings  # type: ignore[attr-defined]
    assert not safety.toxicity.enabled
    assert not safety.pii.enabled
    assert not safety.guardrail.apply_on_input
    assert not safety.guardrail.apply_on_output
    assert safety.entities.deny_terms  # safety.yaml's denied terms still apply


def test_page_config_names_the_api_under_the_page_origin():
    deps = local_deps(LocalOptions(usecase="it-helpdesk"), MemoryStores())
    config = page_config(deps.settings, "http://localhost:9000/")
    assert config["apiUrl"] == "http://localhost:9000/api"
    assert set(config) == CONFIG_KEYS


# ------------------------------------------------------------------------------------------ the command line


def test_main_serves_on_loopback_with_the_fake_model_from_the_environment(monkeypatch, capsys):
    calls: list[tuple[Any, dict[str, Any]]] = []
    monkeypatch.setenv("FAKE_MODEL", "1")
    code = local.main(["--usecase", "it-helpdesk", "--port", "8123"], run=lambda app, **kw: calls.append((app, kw)))
    assert code == 0
    ((app, kwargs),) = calls
    assert kwargs == {"host": "127.0.0.1", "port": 8123, "log_level": "warning", "access_log": False}
    assert app.state.deps.settings.usecase == "it-helpdesk"
    assert app.state.deps.settings.model_id == "local.fake-model-v1:0"
    assert "http://127.0.0.1:8123/" in capsys.readouterr().out


def test_main_without_credentials_says_how_to_run_offline(monkeypatch, capsys):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "FAKE_MODEL"):
        monkeypatch.delenv(name, raising=False)
    assert local.main(["--usecase", "it-helpdesk"], run=lambda *a, **k: pytest.fail("served")) == 2
    assert "no AWS credentials found; configure them, or run with FAKE_MODEL=1" in capsys.readouterr().err


def test_main_reports_an_unknown_usecase_in_one_line(capsys):
    assert local.main(["--usecase", "nope", "--fake-model"], run=lambda *a, **k: None) == 2
    assert "no such use case 'nope'" in capsys.readouterr().err


def readme_make_local() -> list[list[str]]:
    """The `make local` commands of README.md's fenced bash blocks, as words (comments dropped)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"^```bash\n(.*?)^```", text, re.M | re.S)
    lines = [line.split("#", 1)[0].split() for block in blocks for line in block.splitlines()]
    return [words for words in lines if words[:2] == ["make", "local"]]


def make_dry_run(*arguments: str) -> list[str]:
    """The `tools.local` command `make -n local ...` would run, as words."""
    dry = subprocess.run(["make", "-n", "local", *arguments], cwd=ROOT, capture_output=True, text=True, check=True)
    (line,) = [line for line in dry.stdout.splitlines() if "tools.local" in line]
    words = shlex.split(line)
    return words[words.index("tools.local") + 1 :]


def test_make_local_passes_its_variables_to_the_module():
    assert make_dry_run() == ["--port", "8000"]
    assert make_dry_run("FAKE_MODEL=1", "PORT=8123", "USECASE=it-helpdesk") == [
        "--port",
        "8123",
        "--usecase",
        "it-helpdesk",
        "--fake-model",
    ]
    assert "--fake-model" not in make_dry_run("FAKE_MODEL=0")


def test_the_readme_make_local_commands_start_the_app(monkeypatch):
    """Each `make local` of the README expands to arguments that build the app it promises."""
    commands = readme_make_local()
    assert len(commands) == 2
    for words in commands:
        argv = make_dry_run(*words[2:])
        monkeypatch.delenv("FAKE_MODEL", raising=False)
        served: list[tuple[Any, dict[str, Any]]] = []

        def run(app: Any, served: list[tuple[Any, dict[str, Any]]] = served, **kw: Any) -> None:
            served.append((app, kw))

        assert local.main(argv, run=run) == 0
        ((app, kwargs),) = served
        assert kwargs["host"] == "127.0.0.1"
        settings = app.state.deps.settings
        fake = "FAKE_MODEL=1" in words
        assert (settings.model_id == "local.fake-model-v1:0") is fake
        assert settings.architectures == (tuple(offered(settings.usecase)) if fake else ("direct",))


# ------------------------------------------------------------------------------------------ the fakes


ALICE, BOB, SESSION = "alice", "bob", "5b7d2f0e-3c1a-4e8b-9f6d-2a4c6e8f0b1d"


def test_memory_conversations_keep_users_apart_and_bound_the_window():
    stores = MemoryStores()
    turns = [Turn("user", "a" * 40), Turn("assistant", "b" * 40), Turn("user", "c" * 40), Turn("assistant", "d" * 40)]
    stores.append(ALICE, SESSION, turns, "r1")
    assert estimate_tokens("a" * 40) == 10
    assert stores.window(ALICE, SESSION, 40) == tuple(turns)
    assert stores.window(ALICE, SESSION, 39) == tuple(turns[2:])  # three fit, but a window starts with the user
    assert stores.window(BOB, SESSION, 1000) == ()
    with pytest.raises(SessionNotFound):
        stores.session(BOB, SESSION)
    assert stores.session(ALICE, SESSION).summary.title == "a" * 40
    assert [s.session_id for s in stores.sessions(ALICE)] == [SESSION]
    assert stores.sessions(BOB) == []


def test_memory_quotas_refuse_like_the_dynamodb_store():
    clock = [1_800_000_000.0 + 59.2]
    stores = MemoryStores(clock=lambda: clock[0])
    quota = QuotaSpec(tokens_per_day=100, requests_per_minute=2)
    stores.admit(ALICE, quota)
    stores.admit(ALICE, quota)
    with pytest.raises(QuotaExceeded) as refused:
        stores.admit(ALICE, quota)
    assert (refused.value.kind, refused.value.retry_after) == ("requests_per_minute", 1)
    stores.admit(BOB, quota)  # another user's minute
    clock[0] += 1  # the next minute
    stores.admit(ALICE, quota)
    stores.charge_tokens(ALICE, quota, 100)
    with pytest.raises(QuotaExceeded) as spent:
        stores.admit(ALICE, quota)
    assert spent.value.kind == "tokens_per_day"


def test_memory_telemetry_validates_like_the_dynamodb_store():
    stores = MemoryStores()
    with pytest.raises(ValueError, match="session_end needs duration_seconds"):
        stores.event(ALICE, SESSION, "session_end", None)
    with pytest.raises(ValueError, match="copy takes no duration_seconds"):
        stores.event(ALICE, SESSION, "copy", 3.0)
    with pytest.raises(ValueError, match="rating"):
        stores.feedback(ALICE, SESSION, "r1", "sideways", None, None)  # type: ignore[arg-type]
    stores.event(ALICE, SESSION, "session_end", 12.5)
    assert [(r["kind"], r["duration_seconds"]) for r in stores.records] == [("session_end", 12.5)]


def test_the_bench_model_still_stamps_its_first_part():
    parts = list(FakeModel(0, 0, 3).run(None))  # type: ignore[arg-type]
    texts = [p.text for p in parts if isinstance(p, TextPart)]
    assert re.match(r"^Stamp \d+\.\d{6} sent\. N$", texts[0])
    assert texts[1:] == ["ext ", "ext1 ", "ext2 "]
    assert isinstance(parts[-1], Finish)
