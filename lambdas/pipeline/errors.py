"""Errors the state machine routes on: `Throttled` is retried with backoff and jitter, the rest caught."""

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


class Throttled(Exception):  # noqa: N818 - the name is the Step Functions error the Retry matches
    """An AWS API still throttled after the client's own retries; Step Functions retries the step later."""


def raise_if_throttled(exc: ClientError) -> None:
    if exc.response.get("Error", {}).get("Code") in THROTTLING_CODES:
        raise Throttled(f"{exc.operation_name}: {exc.response['Error'].get('Message', '')}") from exc
