"""Per-user quotas: requests per minute and model tokens per UTC day, kept with DynamoDB atomic counters.

Layout (`api.store.schema`): one MINUTE item per user and UTC minute (``requests``) and one DAY item per
user and UTC day (``tokens``), each created by its first UpdateItem and expired by TTL after its window.

- `admit` refuses when the day's tokens are spent (a consistent read of the DAY item), then takes one
  request from the minute with ``ADD requests :one`` under the condition ``requests < limit``: DynamoDB
  applies the condition and the increment as one atomic step, so concurrent requests never admit more than
  the limit, and a refused request does not count.
- `charge_tokens` adds the tokens an answer used (the model's usage) to the day. It has no condition on
  purpose: the tokens are already spent, and refusing to record them would under-count. So the day's total
  can pass the allowance by the one answer that crossed it; the next `admit` refuses.

Windows are UTC: a refusal's ``retry_after`` is the whole seconds, rounded up, to the next minute
(requests_per_minute) or the next UTC midnight (tokens_per_day), at least 1.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError
from common.aws_errors import error_code

from api.contract import QuotaSpec
from api.store import schema
from api.store.errors import QuotaExceeded
from api.store.items import number, string

MINUTE = 60
DAY = 86_400
REQUESTS = "requests_per_minute"
TOKENS = "tokens_per_day"
# How long a counter outlives its window (for troubleshooting), then TTL removes it.
MINUTE_KEEP_SECONDS = 3_600
DAY_KEEP_SECONDS = 2 * DAY


def window_start(now: float, length: int) -> int:
    return math.floor(now / length) * length


def seconds_to_next(now: float, length: int) -> int:
    """Whole seconds, rounded up, from ``now`` to the start of the next window of ``length`` (UTC epoch)."""
    return max(1, math.ceil(window_start(now, length) + length - now))


def minute_label(now: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M", time.gmtime(now))


def day_label(now: float) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(now))


class Quotas:
    def __init__(self, table: str, db: Any, clock: Callable[[], float] = time.time) -> None:
        self._table = table
        self._db = db
        self._clock = clock

    def admit(self, user_id: str, quota: QuotaSpec) -> None:
        """Count one request, or raise QuotaExceeded (nothing counted) when the minute's requests or the
        day's tokens are spent."""
        pk = schema.user_pk(user_id)
        now = self._clock()
        if self.tokens_today(user_id, now) >= quota.tokens_per_day:
            raise QuotaExceeded(seconds_to_next(now, DAY), TOKENS)
        try:
            self._db.update_item(
                TableName=self._table,
                Key=self._key(pk, schema.minute_sk(minute_label(now))),
                UpdateExpression="ADD #n :one SET #ttl = if_not_exists(#ttl, :ttl)",
                ConditionExpression="attribute_not_exists(#n) OR #n < :limit",
                ExpressionAttributeNames={"#n": "requests", "#ttl": schema.TTL_ATTRIBUTE},
                ExpressionAttributeValues={
                    ":one": number(1),
                    ":limit": number(quota.requests_per_minute),
                    ":ttl": number(window_start(now, MINUTE) + MINUTE + MINUTE_KEEP_SECONDS),
                },
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                raise QuotaExceeded(seconds_to_next(now, MINUTE), REQUESTS) from None
            raise

    def charge_tokens(self, user_id: str, quota: QuotaSpec, tokens: int) -> None:
        """Add ``tokens`` (input + output of one answer) to the user's UTC day. ``quota`` is not a condition
        here (see the module docstring); `admit` enforces it."""
        del quota  # part of the agreed signature; enforcement happens in admit
        if tokens < 0:
            raise ValueError("tokens must not be negative")
        if tokens == 0:
            return
        now = self._clock()
        self._db.update_item(
            TableName=self._table,
            Key=self._key(schema.user_pk(user_id), schema.day_sk(day_label(now))),
            UpdateExpression="ADD #n :tokens SET #ttl = if_not_exists(#ttl, :ttl)",
            ExpressionAttributeNames={"#n": "tokens", "#ttl": schema.TTL_ATTRIBUTE},
            ExpressionAttributeValues={
                ":tokens": number(tokens),
                ":ttl": number(window_start(now, DAY) + DAY + DAY_KEEP_SECONDS),
            },
        )

    def tokens_today(self, user_id: str, now: float | None = None) -> int:
        """The tokens charged to the user's current UTC day."""
        at = self._clock() if now is None else now
        item = self._db.get_item(
            TableName=self._table,
            Key=self._key(schema.user_pk(user_id), schema.day_sk(day_label(at))),
            ConsistentRead=True,
            ProjectionExpression="#n",
            ExpressionAttributeNames={"#n": "tokens"},
        ).get("Item")
        return int(item["tokens"]["N"]) if item and "tokens" in item else 0

    @staticmethod
    def _key(pk: str, sk: str) -> dict[str, Any]:
        return {schema.PK: string(pk), schema.SK: string(sk)}
