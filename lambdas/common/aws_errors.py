"""The error codes by which AWS APIs say "slow down": one list for every function.

A call still failing with one of these after the SDK's own retries is worth retrying later (the pipeline
raises `Throttled` for Step Functions' Retry; the knowledge sync re-queues the request with a delay).
"""

from __future__ import annotations

from botocore.exceptions import ClientError

THROTTLING_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "SlowDown",
        "ThrottledException",
    }
)


def error_code(exc: ClientError) -> str:
    """The AWS error code of ``exc`` ("" when the response has none)."""
    return str(exc.response.get("Error", {}).get("Code", ""))


def is_throttling(exc: ClientError) -> bool:
    return error_code(exc) in THROTTLING_CODES
