"""Fixtures of the end-to-end tests (their shared machinery is in harness.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(scope="module")
def monkeypatch_module() -> Iterator[pytest.MonkeyPatch]:
    """A monkeypatch for a module's deployment: its patches hold from its first test to its last."""
    with pytest.MonkeyPatch.context() as patch:
        yield patch
