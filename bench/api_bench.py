"""Serving overhead of the chat app: time to first byte over a real socket, 200 concurrent streams, cold import.

The server is the real app (`api.app.create_app`) over the real request pipeline (`api.pipeline.ChatPipeline`
with the real `SafetyChain`: validation, prefilter, denied terms on input, per-sentence output checks; the
Comprehend checks are disabled because they are network calls) and in-memory stores, served by uvicorn on
127.0.0.1 in a child process. Only the model is replaced: a local fake architecture (`tools.local_fakes.FakeModel`,
the same one `make local FAKE_MODEL=1` runs with a script) that waits
``--first-token-ms``, emits a first sentence carrying its own ``time.monotonic()`` stamp (plus the first
visible character of the next sentence, so the sentence splitter can close it at once), then streams
``--tokens`` more tokens every ``--pace-ms``.

- TTFB overhead: for ``--requests`` sequential POST /chat/stream requests, the client's time of the first body
  byte minus the stamp in that byte (both CLOCK_MONOTONIC, same machine): the time the kit adds between the
  model's first sentence and the client. Targets: p50 <= 15 ms, p99 <= 50 ms.
- Concurrency: ``--concurrency`` streams at once (bounded asyncio loop over one httpx2 client); every stream
  must be a 200 ending with ``event: done``. Target: 0 errors.
- Cold start: a fresh interpreter importing the chat handler module (``api.server``, what uvicorn loads)
  versus ``import langchain_aws``, same run, median of ``--cold-runs``; the interpreter's own start-up is
  subtracted from both. Also shown: ``api.server`` plus building the real dependencies (boto3 clients,
  Powertools, the pipeline: what the ASGI lifespan does before the port opens). Target: import <= 1/5.

Usage: python -m bench.api_bench [--requests 300] [--concurrency 200]   (prints the figures; needs
``pip install -r requirements-bench.txt`` for langchain-aws). Not a test: it opens sockets.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
LAMBDAS = REPO_ROOT / "lambdas"
sys.path[:0] = [str(REPO_ROOT), str(LAMBDAS)]

CONTEXT = json.dumps({"authorizer": {"claims": {"sub": "bench-user", "cognito:groups": "users"}}})


# ------------------------------------------------------------------------------------------ server side


def bench_settings() -> Any:
    from api.contract import ApiSettings, QuotaSpec  # noqa: PLC0415

    return ApiSettings(
        usecase="bench",
        architecture="direct",
        model_id="fake.model-v1:0",
        conversations_table="c",
        quotas_table="q",
        telemetry_table="t",
        quotas={"users": QuotaSpec(tokens_per_day=10**9, requests_per_minute=10**9)},
        metrics_namespace="Bench",
    )


class _Quiet:
    def info(self, msg: str, *args: Any, **kwargs: Any) -> None:
        return None

    warning = exception = info

    def count(self, *args: Any, **kwargs: Any) -> None:
        return None


def serve(port: int, first_token_ms: float, pace_ms: float, tokens: int) -> None:
    import uvicorn  # noqa: PLC0415
    from api.app import AppDependencies, create_app  # noqa: PLC0415
    from api.pipeline import ChatPipeline, Clients  # noqa: PLC0415
    from common.safety.chain import SafetyChain, SafetyClients  # noqa: PLC0415
    from common.safety.policy import SafetySettings  # noqa: PLC0415

    from tools.local_fakes import FakeModel, MemoryStores  # noqa: PLC0415 - the same fakes as `make local`

    settings = bench_settings()
    safety = SafetySettings.model_validate({"toxicity": {"enabled": False}, "pii": {"enabled": False}})
    chain = SafetyChain(safety, SafetyClients(), logger=_Quiet(), metrics=_Quiet())
    model = FakeModel(first_token_ms / 1000, pace_ms / 1000, tokens)
    pipeline = ChatPipeline(settings, chain, Clients(), prompts=None, architectures={"direct": model}, logger=_Quiet())  # type: ignore[arg-type]
    stores = MemoryStores()
    deps = AppDependencies(settings=settings, pipeline=pipeline, conversations=stores, quotas=stores, telemetry=stores)
    uvicorn.run(create_app(deps), host="127.0.0.1", port=port, log_level="warning", access_log=False)


# ------------------------------------------------------------------------------------------ client side


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def one_stream(client: Any, url: str, index: int) -> tuple[float | None, bool]:
    """(overhead in ms of the first byte over the model's stamp, whether the stream ended with done)."""
    body = {"message": f"Question number {index}: how long do retention offers run?"}
    headers = {"x-amzn-request-context": CONTEXT}
    overhead: float | None = None
    text = b""
    async with client.stream("POST", url, json=body, headers=headers) as response:
        async for chunk in response.aiter_raw():
            if overhead is None:
                arrived = time.monotonic()
                first = chunk.decode(errors="replace")
                stamp = float(first.split("Stamp ", 1)[1].split(" ", 1)[0])
                overhead = (arrived - stamp) * 1000
            text += chunk
        ok = response.status_code == 200 and b"event: done\n" in text
    return overhead, ok


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


async def run_client(base: str, requests: int, concurrency: int) -> dict[str, Any]:
    import httpx2  # noqa: PLC0415

    url = f"{base}/chat/stream"
    limits = httpx2.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx2.AsyncClient(timeout=60, limits=limits) as client:
        for _ in range(20):  # warm-up: imports, thread pool, connections
            await one_stream(client, url, -1)
        overheads = []
        for index in range(requests):
            overhead, ok = await one_stream(client, url, index)
            if not ok or overhead is None:
                raise RuntimeError("a sequential stream failed")
            overheads.append(overhead)

        gate = asyncio.Semaphore(concurrency)

        async def bounded(index: int) -> tuple[float | None, bool]:
            async with gate:
                try:
                    return await one_stream(client, url, index)
                except Exception:
                    return None, False

        started = time.monotonic()
        results = await asyncio.gather(*(bounded(i) for i in range(concurrency)))
        wall = time.monotonic() - started
    concurrent = [o for o, ok in results if ok and o is not None]
    return {
        "ttfb_overhead_ms": {
            "n": len(overheads),
            "p50": round(percentile(overheads, 0.50), 2),
            "p99": round(percentile(overheads, 0.99), 2),
            "max": round(max(overheads), 2),
        },
        "concurrent": {
            "streams": concurrency,
            "errors": sum(1 for _, ok in results if not ok),
            "wall_s": round(wall, 2),
            "overhead_p50_ms": round(percentile(concurrent, 0.5), 1) if concurrent else None,
            "overhead_p99_ms": round(percentile(concurrent, 0.99), 1) if concurrent else None,
        },
    }


def import_seconds(codes: Mapping[str, str], runs: int, env: dict[str, str]) -> dict[str, float]:
    """Median wall time of each ``python -c code`` in a fresh interpreter. The codes take turns, run after run,
    so a change of load on the shared machine weighs on each alike instead of on whichever ran during it."""
    times: dict[str, list[float]] = {name: [] for name in codes}
    for _ in range(runs):
        for name, code in codes.items():
            started = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=REPO_ROOT)
            times[name].append(time.perf_counter() - started)
    return {name: statistics.median(values) for name, values in times.items()}


def cold_start(runs: int) -> dict[str, Any]:
    from stacks.api.stack import COLD_START_ENVIRONMENT  # noqa: PLC0415  (starts the CDK's jsii kernel)

    env = {
        **os.environ,
        "PYTHONPATH": f"{LAMBDAS}{os.pathsep}{REPO_ROOT}",
        "PYTHONDONTWRITEBYTECODE": "1",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "API_SETTINGS": bench_settings().model_dump_json(),
        "SAFETY_SETTINGS": "{}",
        "POWERTOOLS_METRICS_NAMESPACE": "Bench",
        **COLD_START_ENVIRONMENT,  # the chat functions' own environment (stacks/api/stack.py)
    }
    # Warm the file cache and write every .pyc (kit modules edited since their last import would otherwise be
    # compiled from source in each measured run, while the installed langchain_aws has its .pyc from pip).
    writing = {name: value for name, value in env.items() if name != "PYTHONDONTWRITEBYTECODE"}
    import_seconds({"warm": "import api.server, langchain_aws"}, 1, writing)
    seconds = import_seconds(
        {
            "baseline": "pass",
            "server": "import api.server",
            "built": "import os, api.server as s; s.app.build()",
            "langchain": "import langchain_aws",
        },
        runs,
        env,
    )
    baseline = seconds["baseline"]
    server, built, langchain = (seconds[name] - baseline for name in ("server", "built", "langchain"))
    return {
        "runs": runs,
        "interpreter_ms": round(baseline * 1000, 1),
        "import_api_server_ms": round(server * 1000, 1),
        "import_and_build_deps_ms": round(built * 1000, 1),
        "import_langchain_aws_ms": round(langchain * 1000, 1),
        "ratio_import": round(server / langchain, 3),
        "ratio_import_and_build": round(built / langchain, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--first-token-ms", type=float, default=50.0)
    parser.add_argument("--pace-ms", type=float, default=10.0)
    parser.add_argument("--tokens", type=int, default=20)
    parser.add_argument("--cold-runs", type=int, default=7)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.first_token_ms, args.pace_ms, args.tokens)
        return

    port = free_port()
    command = [sys.executable, "-m", "bench.api_bench", "--serve", str(port)]
    command += ["--first-token-ms", str(args.first_token_ms), "--pace-ms", str(args.pace_ms)]
    command += ["--tokens", str(args.tokens)]
    server = subprocess.Popen(command, cwd=REPO_ROOT)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("the server did not start") from None
                time.sleep(0.1)
        serving = asyncio.run(run_client(base, args.requests, args.concurrency))
    finally:
        server.terminate()
        server.wait(timeout=10)
    result = {
        "model": {"first_token_ms": args.first_token_ms, "pace_ms": args.pace_ms, "tokens": args.tokens},
        **serving,
        "cold_start": cold_start(args.cold_runs),
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
