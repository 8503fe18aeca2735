"""`make local`: the chat page (web/) and the Api's ASGI app on 127.0.0.1, in one process, with a fixed local user.

One Starlette app serves three things: ``/`` the static page from web/, ``/config.json`` the page's settings
(``"local": true``, so the page shows no login), and ``/api/...`` the Api's own app (`api.app.create_app`, created
with ``local=True``: every request is ``KIT_LOCAL_USER``, default ``local-user:users``). The stores are in memory
(`tools.local_fakes.MemoryStores`): conversations, the quotas of the use case's api.yaml (a lower
``--requests-per-minute`` tries the 429 countdown) and the telemetry records, which are printed as JSON lines.

- ``--fake-model`` (``FAKE_MODEL=1``): the deterministic fake model (`tools.local_fakes.FakeModel` with
  `local_script`) behind every architecture the use case offers, and the safety chain's local checks only
  (validation, injection prefilter, denied terms; the Comprehend checks and the guardrail need AWS). No AWS at all.
  Asked for a "codename", the fake names a denied term mid-answer, so the output block can be tried too.
- Without it, real Bedrock with your AWS credentials: the use case's model (usecase.yaml ``models.text``) through
  the ``direct`` architecture, with the safety chain of safety.yaml (Comprehend included). With ``API_SETTINGS``
  (and ``SAFETY_SETTINGS``) of a deployed stage (docs/api.md) every architecture of that stage runs against its
  knowledge base, agent, prompts and guardrail; the stores stay local.

Every answer carries the CSP and security headers the page gets from CloudFront (`SECURITY_HEADERS`).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from stacks.api.settings import USECASE_ARCHITECTURES, load_api_settings  # importing stacks puts lambdas/ on the path
from stacks.config import USECASES_DIR, ConfigError, load_usecase
from stacks.guardrails.safety_settings import load_safety_config
from stacks.prompts.settings import load_prompts_settings
from stacks.web.headers import content_security_policy

# isort: split
from api.app import DEFAULT_LOCAL_USER, LOCAL_USER_ENV, AppDependencies, create_app
from api.contract import API_SETTINGS_ENV, ApiSettings, QuotaSpec
from api.pipeline import ChatPipeline, Clients
from common.safety.chain import SafetyChain, SafetyClients
from common.safety.policy import SafetySettings

# isort: split
from tools.local_fakes import FakeModel, MemoryStores, local_script

WEB_DIR = Path(__file__).resolve().parent.parent / "web"
API_PREFIX = "/api"
DEFAULT_PORT = 8000
FAKE_MODEL_ENV = "FAKE_MODEL"
LOCAL_TABLE = "local"  # the settings name tables; local mode keeps everything in memory
# The page is served with the deployed distribution's CSP (stacks/web/headers.py; there the API shares the page's
# origin too, and connect-src adds Cognito's) and hardening headers: a page that needs an inline script, a data: URL
# or a third-party origin fails here first.
CSP = content_security_policy(())
SECURITY_HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}


@dataclass(frozen=True)
class LocalOptions:
    usecase: str
    fake_model: bool = True
    requests_per_minute: int | None = None  # replaces api.yaml's, for every group
    tokens_per_day: int | None = None
    first_token_ms: float = 120.0  # the fake model's pace: time to the first part, then between parts
    pace_ms: float = 25.0
    local_user: str = DEFAULT_LOCAL_USER
    environ: Mapping[str, str] = field(default_factory=dict)  # API_SETTINGS / SAFETY_SETTINGS of a deployed stage


class _Quiet:
    def info(self, msg: str, *args: Any, **kwargs: Any) -> None:
        return None

    warning = exception = info

    def count(self, *args: Any, **kwargs: Any) -> None:
        return None


# ------------------------------------------------------------------------------------------ settings


def local_settings(options: LocalOptions, root: Path = USECASES_DIR) -> ApiSettings:
    """The use case's chat settings without a deployment: its architectures and tasks (fake model) or ``direct``
    with its model (real Bedrock, nothing deployed), its api.yaml quotas and limits, in-memory tables."""
    usecase = load_usecase(options.usecase, root)
    api_file = load_api_settings(options.usecase, root)
    prompts = load_prompts_settings(options.usecase, root)
    tasks = sorted(prompts.tasks) if prompts is not None else []
    if options.fake_model:
        default = USECASE_ARCHITECTURES[usecase.architecture]
        offered = (default, *(a for a in api_file.per_request if a != default))
        if "multi-task" in offered and not tasks:
            offered = tuple(a for a in offered if a != "multi-task")
        model_id = "local.fake-model-v1:0"
        parameters = {task: f"/local/prompts/{task}" for task in tasks}  # names only: the fake model reads none
        default_task = api_file.default_task if api_file.default_task in parameters else None
    else:
        offered, parameters, default_task = ("direct",), {}, None  # no Prompts, Knowledge or Agent stack yet
        model_id = usecase.models_for("make local").text
    quotas = {
        group: QuotaSpec(
            tokens_per_day=options.tokens_per_day or quota.tokens_per_day,
            requests_per_minute=options.requests_per_minute or quota.requests_per_minute,
        )
        for group, quota in api_file.quotas.items()
    }
    return ApiSettings(
        usecase=options.usecase,
        architecture=offered[0],
        per_request=offered[1:],
        model_id=model_id,
        knowledge_base_id="LOCALKB000" if "rag" in offered else None,
        agent_id="LOCALAGENT" if "agent" in offered else None,
        agent_alias_id="LOCALALIAS" if "agent" in offered else None,
        prompt_parameters=parameters,
        default_task=default_task,
        max_prompt_chars=api_file.max_prompt_chars,
        history_tokens=api_file.history_tokens,
        conversations_table=LOCAL_TABLE,
        quotas_table=LOCAL_TABLE,
        telemetry_table=LOCAL_TABLE,
        quotas=quotas,
        metrics_namespace="JourneyKit/Local",
    )


def local_safety(options: LocalOptions, root: Path = USECASES_DIR) -> SafetySettings:
    """safety.yaml's settings; with the fake model only the checks that run on this machine."""
    settings = load_safety_config(options.usecase, root).runtime_settings()
    if not options.fake_model:
        return settings
    return settings.model_copy(
        update={
            "toxicity": settings.toxicity.model_copy(update={"enabled": False, "classifier_endpoint_arn": None}),
            "pii": settings.pii.model_copy(update={"enabled": False}),
            "entities": settings.entities.model_copy(update={"endpoint_arn": None}),
            "guardrail": settings.guardrail.model_copy(update={"apply_on_input": False, "apply_on_output": False}),
        }
    )


# ------------------------------------------------------------------------------------------ dependencies


def local_deps(options: LocalOptions, stores: MemoryStores, root: Path = USECASES_DIR) -> AppDependencies:
    """The app's dependencies for local mode: the fake or the real pipeline, and ``stores`` for all three."""
    if options.fake_model:
        settings, safety = local_settings(options, root), local_safety(options, root)
        chain = SafetyChain(safety, SafetyClients(), logger=_Quiet(), metrics=_Quiet())
        script = local_script(options.usecase, min(safety.entities.deny_terms, default=None))
        models = {
            name: FakeModel(options.first_token_ms / 1000, options.pace_ms / 1000, 0, name=name, script=script)
            for name in settings.architectures
        }
        pipeline = ChatPipeline(settings, chain, Clients(), prompts=None, architectures=models, logger=_Quiet())  # type: ignore[arg-type]
    else:
        settings, pipeline = _real_pipeline(options, root)
    return AppDependencies(
        settings=settings,
        pipeline=pipeline,
        conversations=stores,
        quotas=stores,
        telemetry=stores,
        local_user=options.local_user,
    )


def _real_pipeline(options: LocalOptions, root: Path) -> tuple[ApiSettings, ChatPipeline]:
    """Real Bedrock (and Comprehend): the deployed stage's settings when API_SETTINGS is given, else ``direct``."""
    from api.deployed_settings import settings_from_deployment  # noqa: PLC0415
    from api.prompts import ManagedPrompts  # noqa: PLC0415
    from common.clients import client  # noqa: PLC0415 - boto3 only on the real path

    if API_SETTINGS_ENV in options.environ:
        settings, safety = settings_from_deployment(
            {k: v for k, v in options.environ.items() if k != "KIT_SETTINGS_FILE"}
        )
        if options.requests_per_minute or options.tokens_per_day:
            settings = settings.model_copy(update={"quotas": local_settings(options, root).quotas})
    else:
        settings, safety = local_settings(options, root), local_safety(options, root)
    bedrock_runtime = client("bedrock-runtime")
    clients_of_checks = SafetyClients(comprehend=client("comprehend"), bedrock_runtime=bedrock_runtime)
    chain = SafetyChain(safety, clients_of_checks, logger=_Quiet(), metrics=_Quiet())
    prompts = ManagedPrompts(settings.prompt_parameters, ssm=client("ssm"), bedrock_agent=client("bedrock-agent"))
    clients = Clients(bedrock_runtime=bedrock_runtime, bedrock_agent_runtime=client("bedrock-agent-runtime"))
    return settings, ChatPipeline(settings, chain, clients, prompts, logger=_Quiet())


# ------------------------------------------------------------------------------------------ the app


def page_config(settings: ApiSettings, base_url: str) -> dict[str, Any]:
    """The page's config.json in local mode (the Web stack writes the deployed one with the same keys)."""
    base = base_url.rstrip("/")
    return {
        "apiUrl": base + API_PREFIX,
        "region": "local",
        "userPoolId": "",
        "clientId": "",
        "cognitoDomain": "",
        "redirectUri": base + "/",
        "architectures": list(settings.architectures),
        "tasks": list(settings.tasks),
        "local": True,
    }


class _SecurityHeaders:
    """ASGI middleware: `SECURITY_HEADERS` on every answer (static files, config.json and the API alike)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items() if k.encode() not in names]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, with_headers)


def create_local_app(deps: AppDependencies, web_dir: Path = WEB_DIR) -> Starlette:
    """The page, its config.json and the Api app under /api, for one process on 127.0.0.1."""
    api = create_app(deps, local=True)

    async def config(request: Request) -> Response:
        body = page_config(deps.settings, str(request.base_url))
        return JSONResponse(body, headers={"cache-control": "no-store"})

    app = Starlette(
        routes=[
            Route("/config.json", config, methods=["GET"]),
            Mount(API_PREFIX, app=api),
            Mount("/", app=StaticFiles(directory=web_dir, html=True)),
        ]
    )
    app.add_middleware(_SecurityHeaders)
    app.state.deps = deps
    return app


@dataclass
class RunningServer:
    """A uvicorn server on a thread (tests and bench/web_bench.py); ``url`` ends with a slash."""

    server: Any
    thread: threading.Thread
    url: str

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def start_in_thread(app: Any, port: int = 0) -> RunningServer:
    """Serve ``app`` on 127.0.0.1 (``port`` 0: a free one) from a daemon thread; returns once it listens."""
    import uvicorn  # noqa: PLC0415

    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="local-chat", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the local server did not start")
        time.sleep(0.02)
    bound = server.servers[0].sockets[0].getsockname()[1]
    return RunningServer(server=server, thread=thread, url=f"http://127.0.0.1:{bound}/")


# ------------------------------------------------------------------------------------------ command line


def _print_record(record: dict[str, Any]) -> None:
    print(json.dumps({"telemetry": record}, ensure_ascii=False), flush=True)


def parse_args(argv: Sequence[str] | None, environ: Mapping[str, str]) -> tuple[LocalOptions, int]:
    parser = argparse.ArgumentParser(prog="python -m tools.local", description=__doc__.splitlines()[0])
    parser.add_argument("--usecase", help="the use case (default: cdk.json's)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument(
        "--fake-model",
        action="store_true",
        default=environ.get(FAKE_MODEL_ENV, "") not in ("", "0"),
        help=f"the deterministic fake model, no AWS needed (also {FAKE_MODEL_ENV}=1)",
    )
    parser.add_argument("--requests-per-minute", type=int, help="replace api.yaml's quota (try the 429 countdown)")
    parser.add_argument("--tokens-per-day", type=int, help="replace api.yaml's quota")
    args = parser.parse_args(argv)
    usecase = args.usecase or _default_usecase()
    options = LocalOptions(
        usecase=usecase,
        fake_model=args.fake_model,
        requests_per_minute=args.requests_per_minute,
        tokens_per_day=args.tokens_per_day,
        local_user=environ.get(LOCAL_USER_ENV) or DEFAULT_LOCAL_USER,
        environ=environ,
    )
    return options, args.port


def _has_credentials() -> bool:
    import boto3  # noqa: PLC0415 - only on the real path

    return boto3.Session().get_credentials() is not None


def _default_usecase() -> str:
    from stacks.common.cdk_context import load_cdk_json_context  # noqa: PLC0415

    return str(load_cdk_json_context()["usecase"])


def main(argv: Sequence[str] | None = None, run: Callable[..., None] | None = None) -> int:
    options, port = parse_args(argv, os.environ)
    if not options.fake_model and not _has_credentials():
        print("make local: no AWS credentials found; configure them, or run with FAKE_MODEL=1", file=sys.stderr)
        return 2
    try:
        app = create_local_app(local_deps(options, MemoryStores(on_record=_print_record)))
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    model = "the fake model" if options.fake_model else "Bedrock (your AWS credentials)"
    print(f"Chat page for {options.usecase} with {model}: http://127.0.0.1:{port}/  (Ctrl+C stops)", flush=True)
    if run is None:
        import uvicorn  # noqa: PLC0415

        run = uvicorn.run
    run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
