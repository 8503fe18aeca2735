"""The Api tables' layout, defined once: the Api stack creates the tables from these constants, the store
reads and writes by them, so the two cannot drift.

Every table has a string partition key ``pk`` and a string sort key ``sk`` and expires items through
DynamoDB TTL on ``expires_at`` (epoch seconds). TTL deletion is lazy (typically within days), so every
read also ignores items whose ``expires_at`` has passed. Identifiers that become part of a key (user,
session and request ids) may not contain ``#``, the key separator (`check_id`).

Conversations (one partition per user):
  SESSION  pk=USER#<user>  sk=SESSION#<session>              title, created_at, updated_at, turns (count), expires_at
  TURN     pk=USER#<user>  sk=TURN#<session>#<seq:08d>        session_id, seq, role, text, tokens, request_id,
                                                              created_at, expires_at
  The session item's ``turns`` counter (UpdateItem ADD) hands out the turns' sequence numbers, so turns of one
  session sort in the order they were appended however many requests append at once.

Quotas (one item per user per minute and per user per UTC day; atomic counters):
  MINUTE   pk=USER#<user>  sk=MINUTE#<yyyy-mm-ddTHH:MM>      requests (ADD, conditional), expires_at
  DAY      pk=USER#<user>  sk=DAY#<yyyy-mm-dd>               tokens (ADD), expires_at

Telemetry (one partition per user, plus a sparse index of the day's thumbs-up for the fine-tuning export):
  FEEDBACK pk=USER#<user>  sk=FEEDBACK#<request>             user_id, session_id, request_id, rating, reason, comment,
                                                              created_at, expires_at; when rating is "up" also
                                                              up_day=UP#<yyyy-mm-dd> and up_key=<user>#<request>
  EVENT    pk=USER#<user>  sk=EVENT#<time ms:013d>#<id>      user_id, session_id, kind, duration_seconds, created_at,
                                                              expires_at
  EXCHANGE pk=USER#<user>  sk=EXCHANGE#<request>             user_id, session_id, request_id, prompt, answer,
                                                              architecture, created_at, expires_at
  Index ``TELEMETRY_UP_INDEX`` (partition ``up_day``, sort ``up_key``, projection KEYS_ONLY) holds only the
  feedback items rated "up": the export queries one day of it and reads the exchanges by key.
"""

from __future__ import annotations

from typing import Final

PK: Final = "pk"
SK: Final = "sk"
# (partition key, sort key) of every Api table; both are strings (S).
CONVERSATIONS_KEY: Final[tuple[str, str]] = (PK, SK)
QUOTAS_KEY: Final[tuple[str, str]] = (PK, SK)
TELEMETRY_KEY: Final[tuple[str, str]] = (PK, SK)
TTL_ATTRIBUTE: Final = "expires_at"  # DynamoDB TTL on all three tables, epoch seconds

# The telemetry table's sparse global secondary index of thumbs-up feedback, one partition per UTC day.
TELEMETRY_UP_INDEX: Final = "up_by_day"
TELEMETRY_UP_INDEX_KEY: Final[tuple[str, str]] = ("up_day", "up_key")  # both strings; projection KEYS_ONLY

SEPARATOR: Final = "#"


def check_id(kind: str, value: str) -> str:
    """``value`` when it can be part of a key: non-empty, at most 128 characters, no separator."""
    if not value or len(value) > 128 or SEPARATOR in value:
        raise ValueError(f"{kind} must be 1-128 characters without '{SEPARATOR}', got {value!r}")
    return value


def user_pk(user_id: str) -> str:
    return f"USER#{check_id('user_id', user_id)}"


def session_sk(session_id: str) -> str:
    return f"SESSION#{check_id('session_id', session_id)}"


def turn_prefix(session_id: str) -> str:
    return f"TURN#{check_id('session_id', session_id)}#"


def turn_sk(session_id: str, seq: int) -> str:
    return f"{turn_prefix(session_id)}{seq:08d}"


def minute_sk(minute: str) -> str:
    return f"MINUTE#{minute}"


def day_sk(day: str) -> str:
    return f"DAY#{day}"


def feedback_sk(request_id: str) -> str:
    return f"FEEDBACK#{check_id('request_id', request_id)}"


def exchange_sk(request_id: str) -> str:
    return f"EXCHANGE#{check_id('request_id', request_id)}"


def event_sk(at_ms: int, event_id: str) -> str:
    return f"EVENT#{at_ms:013d}#{event_id}"


def up_day(day: str) -> str:
    return f"UP#{day}"


def up_key(user_id: str, request_id: str) -> str:
    return f"{check_id('user_id', user_id)}{SEPARATOR}{check_id('request_id', request_id)}"
