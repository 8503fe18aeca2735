"""The chat page's first streamed token: time from its bytes' arrival in the page to the DOM, and to the next frame.

The page (web/) runs in Debian's chromium (Playwright, ``executable_path``) against `make local`'s app with the
fake model (`tools.local`, in-process on 127.0.0.1), as the browser tests do. For each of ``--messages`` answers
the page itself measures, with performance.now() (web/js/ui.js):

- ``kit:first-token``: from the moment `reader.read()` resolved with the chunk holding the first ``delta`` event
  to the moment its text node is in the DOM (parsing, dispatch, DOM append). Target (issue 12): <= 50 ms.
- ``kit:first-token-frame``: from the same moment to the next animation frame's callback, i.e. when the browser
  is about to paint the text: what the user sees, including the wait for the frame.

Also reported: the page's weight (web/, uncompressed; budget 100 KB). Usage: python -m bench.web_bench
[--messages 40] [--no-write]. Results go to bench/results.md ("Chat page"). Not a test: it opens sockets.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO_ROOT), str(REPO_ROOT / "lambdas")]

from bench.results_file import write_section  # noqa: E402

USECASE = "customer-retention"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def summary(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "p50": round(statistics.median(values), 2),
        "p95": round(percentile(values, 0.95), 2),
        "max": round(max(values), 2),
    }


def measure(messages: int, first_token_ms: float, pace_ms: float) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright  # noqa: PLC0415

    from tools.local import LocalOptions, create_local_app, local_deps, start_in_thread  # noqa: PLC0415
    from tools.local_fakes import MemoryStores  # noqa: PLC0415

    options = LocalOptions(
        usecase=USECASE, first_token_ms=first_token_ms, pace_ms=pace_ms, requests_per_minute=1_000_000
    )
    server = start_in_thread(create_local_app(local_deps(options, MemoryStores())))
    chromium = os.environ.get("KIT_CHROMIUM") or shutil.which("chromium")
    if not chromium:
        raise SystemExit("chromium is not installed (apt-get install -y chromium)")
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            page = browser.new_page()
            page.goto(server.url)
            page.wait_for_selector("body[data-ready=true]")
            for index in range(messages):
                page.fill("#message", f"Question {index}: how long do retention offers run?")
                page.click("#send")
                page.wait_for_selector(f".turn.assistant:nth-of-type({index + 1}) .actions:not([hidden])")
            page.wait_for_timeout(100)  # the last frame measure
            entries = page.evaluate(
                "() => performance.getEntriesByType('measure').map(m => ({name: m.name, duration: m.duration}))"
            )
            version = browser.version
            browser.close()
    finally:
        server.stop()
    dom = [e["duration"] for e in entries if e["name"] == "kit:first-token"]
    frame = [e["duration"] for e in entries if e["name"] == "kit:first-token-frame"]
    if len(dom) != messages or len(frame) != messages:
        raise RuntimeError(f"expected {messages} measures of each kind, got {len(dom)} and {len(frame)}")
    return {"chromium": version, "first_token_to_dom_ms": summary(dom), "first_token_to_frame_ms": summary(frame)}


def page_weight() -> int:
    return sum(path.stat().st_size for path in (REPO_ROOT / "web").rglob("*") if path.is_file())


def render(result: dict[str, Any]) -> str:
    dom, frame = result["first_token_to_dom_ms"], result["first_token_to_frame_ms"]
    return "\n".join(
        [
            "## Chat page: first streamed token and page weight (issue 12)",
            "",
            f"`python -m bench.web_bench` — chromium {result['chromium']} (headless, Playwright), the page against "
            f"`make local`'s app with the fake model on 127.0.0.1, {dom['n']} answers in one page, "
            f"{result['cpus']} CPUs shared with other jobs (load average {result['load']}), {result['date']}.",
            "",
            "| measure | p50 | p95 | max | target |",
            "|---|---|---|---|---|",
            f"| first delta: chunk read → text in the DOM (ms) | {dom['p50']} | {dom['p95']} | {dom['max']} | ≤ 50 |",
            f"| first delta: chunk read → next animation frame (ms) | {frame['p50']} | {frame['p95']} | "
            f"{frame['max']} | — |",
            "",
            f"Page weight: {result['page_bytes']:,} bytes uncompressed for everything in web/ (budget 102,400; "
            "tests/web/test_page_weight.py checks it), no third-party request.",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=40)
    parser.add_argument("--first-token-ms", type=float, default=50.0)
    parser.add_argument("--pace-ms", type=float, default=10.0)
    parser.add_argument("--no-write", action="store_true", help="print only; leave bench/results.md alone")
    args = parser.parse_args()
    result = measure(args.messages, args.first_token_ms, args.pace_ms)
    result.update(page_bytes=page_weight(), cpus=os.cpu_count(), date=time.strftime("%Y-%m-%d", time.gmtime()))
    result["load"] = round(os.getloadavg()[0], 1)
    print(json.dumps(result, indent=2))
    if not args.no_write:
        write_section("web", render(result))


if __name__ == "__main__":
    main()
