"""Errors the state machine routes on: `Throttled` is retried with backoff and jitter, the rest caught."""

from __future__ import annotations

from botocore.exceptions import ClientError
from common.aws_errors import is_throttling


class Throttled(Exception):  # noqa: N818 - the name is the Step Functions error the Retry matches
    """An AWS API still throttled after the client's own retries; Step Functions retries the step later."""


def raise_if_throttled(exc: ClientError) -> None:
    if is_throttling(exc):
        raise Throttled(f"{exc.operation_name}: {exc.response['Error'].get('Message', '')}") from exc
