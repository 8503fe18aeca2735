"""User telemetry: feedback, user events and the exchanges the fine-tuning export reads.

Layout (`api.store.schema`): one partition per user in the telemetry table. Feedback is one item per
request (rating again replaces it); a thumbs-up also sets the sparse index keys ``up_day``/``up_key``, so the
daily export finds the day's thumbs-up without a scan. Every item has the TTL ``expires_at``.

Metrics (Powertools EMF, flushed after each call so a long-running server never carries them across
requests): ``thumbs_up`` / ``thumbs_down`` (Count), ``copy`` / ``regenerate`` (Count), ``session_seconds``
(Seconds, the duration a session_end reports). session_start is stored, not counted.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any, Literal, get_args

from aws_lambda_powertools.metrics import MetricUnit

from api.store import schema
from api.store.items import to_attributes

Rating = Literal["up", "down"]
EventKind = Literal["copy", "regenerate", "session_start", "session_end"]
DAY_SECONDS = 86_400
MAX_REASON_CHARS = 200
MAX_COMMENT_CHARS = 2_000
# An exchange item stays well under DynamoDB's 400 KB: prompt and answer are each kept to this many UTF-8
# bytes; a cut one is marked ``truncated`` and the export leaves it out (too_long).
MAX_TEXT_BYTES = 150_000
MAX_SESSION_SECONDS = 7 * DAY_SECONDS

COUNTED: dict[str, str] = {"copy": "copy", "regenerate": "regenerate"}


def day_label(now: float) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(now))


def _cut(text: str) -> tuple[str, bool]:
    data = text.encode()
    if len(data) <= MAX_TEXT_BYTES:
        return text, False
    return data[:MAX_TEXT_BYTES].decode("utf-8", "ignore"), True


def check_feedback(rating: str, reason: str | None, comment: str | None) -> None:
    """ValueError for a rating other than up or down, or a reason or comment past its length (every store)."""
    if rating not in get_args(Rating):
        raise ValueError(f"rating must be up or down, got {rating!r}")
    if reason is not None and len(reason) > MAX_REASON_CHARS:
        raise ValueError(f"reason is longer than {MAX_REASON_CHARS} characters")
    if comment is not None and len(comment) > MAX_COMMENT_CHARS:
        raise ValueError(f"comment is longer than {MAX_COMMENT_CHARS} characters")


def check_event(kind: str, duration_seconds: float | None) -> None:
    """ValueError for an unknown kind, a session_end without a duration of 0 to 7 days, or another kind with one."""
    if kind not in get_args(EventKind):
        raise ValueError(f"unknown event kind {kind!r}")
    if kind == "session_end":
        if duration_seconds is None or not 0 <= duration_seconds <= MAX_SESSION_SECONDS:
            raise ValueError(f"session_end needs duration_seconds between 0 and {MAX_SESSION_SECONDS}")
    elif duration_seconds is not None:
        raise ValueError(f"{kind} takes no duration_seconds")


class Telemetry:
    def __init__(
        self,
        table: str,
        db: Any,
        metrics: Any,
        clock: Callable[[], float] = time.time,
        *,
        ttl_days: int = 30,
        new_id: Callable[[], str] = lambda: uuid.uuid4().hex,
    ) -> None:
        if ttl_days < 1:
            raise ValueError("ttl_days must be at least 1")
        self._table = table
        self._db = db
        self._metrics = metrics
        self._clock = clock
        self._ttl_seconds = ttl_days * DAY_SECONDS
        self._new_id = new_id

    def feedback(  # noqa: PLR0917 - the positional signature agreed in INTERFACES.md
        self,
        user_id: str,
        session_id: str,
        request_id: str,
        rating: Rating,
        reason: str | None,
        comment: str | None,
    ) -> None:
        """Record the caller's rating of one answer (replacing an earlier one) and count it."""
        check_feedback(rating, reason, comment)
        now = self._clock()
        item: dict[str, Any] = {
            schema.PK: schema.user_pk(user_id),
            schema.SK: schema.feedback_sk(request_id),
            "user_id": user_id,
            "session_id": schema.check_id("session_id", session_id),
            "request_id": request_id,
            "rating": rating,
            "reason": reason or None,
            "comment": comment or None,
            "created_at": now,
            schema.TTL_ATTRIBUTE: int(now) + self._ttl_seconds,
        }
        if rating == "up":
            index_pk, index_sk = schema.TELEMETRY_UP_INDEX_KEY
            item[index_pk] = schema.up_day(day_label(now))
            item[index_sk] = schema.up_key(user_id, request_id)
        self._db.put_item(TableName=self._table, Item=to_attributes(item))
        self._count("thumbs_up" if rating == "up" else "thumbs_down", MetricUnit.Count, 1)

    def event(self, user_id: str, session_id: str, kind: EventKind, duration_seconds: float | None) -> None:
        """Record one user event; session_end needs its duration (0 to 7 days), the others take none."""
        check_event(kind, duration_seconds)
        now = self._clock()
        item = {
            schema.PK: schema.user_pk(user_id),
            schema.SK: schema.event_sk(int(now * 1000), self._new_id()),
            "user_id": user_id,
            "session_id": schema.check_id("session_id", session_id),
            "kind": kind,
            "duration_seconds": None if duration_seconds is None else float(duration_seconds),
            "created_at": now,
            schema.TTL_ATTRIBUTE: int(now) + self._ttl_seconds,
        }
        self._db.put_item(TableName=self._table, Item=to_attributes(item))
        if kind == "session_end" and duration_seconds is not None:
            self._count("session_seconds", MetricUnit.Seconds, float(duration_seconds))
        elif kind in COUNTED:
            self._count(COUNTED[kind], MetricUnit.Count, 1)

    def exchange(  # noqa: PLR0917 - the positional signature agreed in INTERFACES.md
        self, user_id: str, session_id: str, request_id: str, prompt: str, answer: str, architecture: str
    ) -> None:
        """Keep one prompt and its answer for the fine-tuning export (until the TTL)."""
        now = self._clock()
        kept_prompt, cut_prompt = _cut(prompt)
        kept_answer, cut_answer = _cut(answer)
        item = {
            schema.PK: schema.user_pk(user_id),
            schema.SK: schema.exchange_sk(request_id),
            "user_id": user_id,
            "session_id": schema.check_id("session_id", session_id),
            "request_id": request_id,
            "prompt": kept_prompt,
            "answer": kept_answer,
            "architecture": architecture,
            "truncated": True if cut_prompt or cut_answer else None,
            "created_at": now,
            schema.TTL_ATTRIBUTE: int(now) + self._ttl_seconds,
        }
        self._db.put_item(TableName=self._table, Item=to_attributes(item))

    def _count(self, name: str, unit: MetricUnit, value: float) -> None:
        self._metrics.add_metric(name=name, unit=unit, value=value)
        self._metrics.flush_metrics()
