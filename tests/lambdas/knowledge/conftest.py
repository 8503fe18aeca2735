"""Fixture `world`: the sync handler's AWS surroundings in moto, bedrock-agent behind a Stubber."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.lambdas.knowledge.sync_world import SyncWorld, sync_world


@pytest.fixture
def world() -> Iterator[SyncWorld]:
    with sync_world() as world:
        yield world
