"""The chat page in a real browser: Debian's chromium driven by Playwright, against the real local-mode app.

The server is `tools.local` itself (`create_local_app` over `local_deps` with the fake model and in-memory
stores) on a thread of this process, on 127.0.0.1, so a test reads the telemetry records the page caused
straight from the store. Nothing of the page is replaced. One browser per test session; a fresh context
(cookies, storage, permissions) per test.

Sockets: pytest-socket blocks them suite-wide; these tests allow loopback only (`allow_hosts` marker on the
browser tests). Playwright talks to its driver and to chromium over pipes.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tools.local import LocalOptions, RunningServer, create_local_app, local_deps, start_in_thread
from tools.local_fakes import MemoryStores

USECASE = "customer-retention"
CHROMIUM_ENV = "KIT_CHROMIUM"  # another chromium binary than the one on PATH


@dataclass
class LocalChat:
    server: RunningServer
    stores: MemoryStores

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def settings(self) -> Any:
        """The app's `ApiSettings` (what config.json offers the page)."""
        return self.server.server.config.app.state.deps.settings

    def records(self, **match: Any) -> list[dict[str, Any]]:
        """The telemetry records whose fields equal ``match``, in the order they were stored."""
        return [r for r in list(self.stores.records) if all(r.get(k) == v for k, v in match.items())]


def wait_for(check: Callable[[], Any], timeout: float = 5.0) -> Any:
    """Polls ``check`` until it returns something truthy (records arrive on the server's thread)."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.02)


def chromium_path() -> str:
    found = os.environ.get(CHROMIUM_ENV) or shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.fail("chromium is not installed: .ci/run installs it (apt-get install -y chromium)")
    return found


def start_local_chat(stores: MemoryStores | None = None, **options: Any) -> LocalChat:
    stores = stores or MemoryStores()
    deps = local_deps(LocalOptions(usecase=USECASE, **options), stores)
    return LocalChat(server=start_in_thread(create_local_app(deps)), stores=stores)


@pytest.fixture(scope="session")
def local_chat() -> Iterator[LocalChat]:
    chat = start_local_chat(first_token_ms=20, pace_ms=3, requests_per_minute=10_000)  # api.yaml allows 10
    yield chat
    chat.server.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright  # noqa: PLC0415

    with sync_playwright() as playwright:
        # --no-sandbox: CI runs as root in a container, where chromium's sandbox cannot start
        launched = playwright.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def open_page(browser: Any) -> Iterator[Callable[[LocalChat], Any]]:
    """Opens the chat page of a server in a fresh context and waits until it is ready (session started)."""
    contexts: list[Any] = []
    page_errors: list[str] = []

    def open_(chat: LocalChat) -> Any:
        context = browser.new_context(viewport={"width": 1000, "height": 720})
        origin = chat.url.rstrip("/")
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=origin)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: page_errors.append(str(error)))
        page.goto(chat.url)
        page.wait_for_selector("body[data-ready=true]")
        return page

    yield open_
    for context in contexts:
        context.close()
    assert page_errors == [], "the page threw"
