"""AWS clients, created once per container and injected into domain code.

Handlers call `client("s3")` at import time or first use; domain functions take the client as an
argument, so tests pass a moto-backed client or a `botocore.stub.Stubber`-wrapped one instead.
"""

from __future__ import annotations

import threading
from functools import cache
from typing import Any

import boto3
from botocore.config import Config

# Standard retry mode backs off with jitter on throttling; adaptive would add client-side rate limiting
# that fights Step Functions' own retries.
_CONFIG = Config(retries={"max_attempts": 5, "mode": "standard"}, connect_timeout=5, read_timeout=30)
# One session for the container: it parses each service model once for all its clients. Creating
# clients from a session is not thread-safe (the safety chain runs checks on threads), hence the lock.
_LOCK = threading.Lock()


@cache
def _session() -> boto3.session.Session:
    return boto3.session.Session()


@cache
def client(service: str, region_name: str | None = None) -> Any:
    """A cached boto3 client for ``service``; one per container, reused across invocations."""
    with _LOCK:
        return _session().client(service, region_name=region_name, config=_CONFIG)
