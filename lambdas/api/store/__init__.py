"""The Api stage's DynamoDB stores: conversation memory, per-user quotas, user telemetry.

Each class takes its table name and an injected boto3 DynamoDB client (`common.clients.client("dynamodb")`,
or a moto-backed one in tests) and a clock (epoch seconds). The tables' layout is in `api.store.schema`.

The names below load on first use (PEP 562): the Api stack imports this package's contracts (`schema`,
`export_contract`) at synth, where only requirements.txt is installed, and the stores need Powertools.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from api.store.conversations import Conversations, SessionDetail, SessionSummary
    from api.store.errors import QuotaExceeded, SessionNotFound
    from api.store.quotas import Quotas
    from api.store.telemetry import Telemetry
    from api.store.tokens import estimate_tokens

_HOMES = {
    "Conversations": "conversations",
    "SessionDetail": "conversations",
    "SessionSummary": "conversations",
    "QuotaExceeded": "errors",
    "SessionNotFound": "errors",
    "Quotas": "quotas",
    "Telemetry": "telemetry",
    "estimate_tokens": "tokens",
}

__all__ = [  # noqa: RUF022 - as _HOMES lists them
    "Conversations",
    "SessionDetail",
    "SessionSummary",
    "QuotaExceeded",
    "SessionNotFound",
    "Quotas",
    "Telemetry",
    "estimate_tokens",
]


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_HOMES[name]}"), name)
