"""The Api stage's DynamoDB stores: conversation memory, per-user quotas, user telemetry.

Each class takes its table name and an injected boto3 DynamoDB client (`common.clients.client("dynamodb")`,
or a moto-backed one in tests) and a clock (epoch seconds). The tables' layout is in `api.store.schema`.
"""

from api.store.conversations import Conversations, SessionDetail, SessionSummary
from api.store.errors import QuotaExceeded, SessionNotFound
from api.store.quotas import Quotas
from api.store.telemetry import Telemetry
from api.store.tokens import estimate_tokens

__all__ = [
    "Conversations",
    "QuotaExceeded",
    "Quotas",
    "SessionDetail",
    "SessionNotFound",
    "SessionSummary",
    "Telemetry",
    "estimate_tokens",
]
