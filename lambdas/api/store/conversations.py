"""Conversation memory: the turns of each user's sessions, and the window of them a new request sees.

Layout (`api.store.schema`): one partition per user, a SESSION item per session (title, times, turn counter)
and a TURN item per turn, numbered by the session item's atomic counter. Every item carries the TTL
``expires_at`` = time written + ``ttl_days``; an append renews the session item's.

Isolation: every key starts with the caller's user id, so a session id of another user names nothing in the
caller's partition; `session` answers SessionNotFound for it exactly as for a session that never existed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from api.chat import Turn
from api.store import schema
from api.store.errors import SessionNotFound
from api.store.items import from_attributes, live, number, string, to_attributes
from api.store.tokens import estimate_tokens

DAY_SECONDS = 86_400
TITLE_CHARS = 80
PAGE = 50  # turns read per Query page while filling a window
BATCH = 25  # BatchWriteItem's maximum
WRITE_ATTEMPTS = 5


def token_window(newest_first: Iterable[Turn], max_tokens: int) -> tuple[Turn, ...]:
    """The newest turns that fit ``max_tokens``, oldest first, opening on a user turn (never on an answer whose
    question fell out). Reads ``newest_first`` only as far as the window reaches, so a long history is not paged
    through whole."""
    picked: list[Turn] = []
    used = 0
    for turn in newest_first:
        cost = estimate_tokens(turn.text)
        if used + cost > max_tokens:
            break
        used += cost
        picked.append(turn)
    picked.reverse()
    while picked and picked[0].role != "user":
        picked.pop(0)
    return tuple(picked)


@dataclass(frozen=True)
class SessionSummary:
    session_id: str
    title: str  # the session's first user message, whitespace collapsed, at most 80 characters
    created_at: str  # ISO 8601, UTC
    updated_at: str
    turns: int  # turns appended (older ones may have expired)

    def as_dict(self) -> dict[str, Any]:
        return {
            "session_id": self.session_id,
            "title": self.title,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "turns": self.turns,
        }


@dataclass(frozen=True)
class SessionDetail:
    summary: SessionSummary
    turns: tuple[Turn, ...]  # oldest first

    def as_dict(self) -> dict[str, Any]:
        return {**self.summary.as_dict(), "messages": [{"role": t.role, "text": t.text} for t in self.turns]}


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def title_of(turns: Sequence[Turn]) -> str:
    first = next((turn.text for turn in turns if turn.role == "user"), "")
    return " ".join(first.split())[:TITLE_CHARS]


class Conversations:
    def __init__(self, table: str, db: Any, clock: Callable[[], float] = time.time, ttl_days: int = 30) -> None:
        if ttl_days < 1:
            raise ValueError("ttl_days must be at least 1")
        self._table = table
        self._db = db
        self._clock = clock
        self._ttl_seconds = ttl_days * DAY_SECONDS

    def window(self, user_id: str, session_id: str, max_tokens: int) -> tuple[Turn, ...]:
        """The newest turns whose `estimate_tokens` total at most ``max_tokens``, oldest first.

        Filling stops at the first (newest to oldest) turn that does not fit, so the window is always a
        contiguous tail of the conversation; it then starts at a user turn (a leading assistant turn is left
        out), as the Converse API requires. An unknown session, or one whose id cannot be a key, gives ().
        """
        try:
            prefix = schema.turn_prefix(session_id)
            pk = schema.user_pk(user_id)
        except ValueError:
            return ()
        now = self._clock()
        items = self._turn_items(pk, prefix, newest_first=True, page=PAGE)
        return token_window((Turn(role=i["role"], text=i["text"]) for i in items if live(i, now)), max_tokens)

    def append(self, user_id: str, session_id: str, turns: Sequence[Turn], request_id: str) -> None:
        """Add ``turns`` after the session's last; the first append creates the session (its title: the first
        user turn). The session counter hands out the numbers atomically, so concurrent appends interleave
        whole numbers and never overwrite each other."""
        if not turns:
            return
        pk = schema.user_pk(user_id)
        schema.check_id("request_id", request_id)
        now = self._clock()
        expires = int(now) + self._ttl_seconds
        response = self._db.update_item(
            TableName=self._table,
            Key={schema.PK: string(pk), schema.SK: string(schema.session_sk(session_id))},
            UpdateExpression=(
                "ADD #turns :n SET #sid = :sid, #updated = :now, #ttl = :ttl, "
                "#created = if_not_exists(#created, :now), #title = if_not_exists(#title, :title)"
            ),
            ExpressionAttributeNames={
                "#turns": "turns",
                "#sid": "session_id",
                "#updated": "updated_at",
                "#ttl": schema.TTL_ATTRIBUTE,
                "#created": "created_at",
                "#title": "title",
            },
            ExpressionAttributeValues={
                ":n": number(len(turns)),
                ":sid": string(session_id),
                ":now": number(now),
                ":ttl": number(expires),
                ":title": string(title_of(turns)),
            },
            ReturnValues="UPDATED_NEW",
        )
        last = int(response["Attributes"]["turns"]["N"])
        first = last - len(turns) + 1
        items = [
            to_attributes(
                {
                    schema.PK: pk,
                    schema.SK: schema.turn_sk(session_id, seq),
                    "session_id": session_id,
                    "seq": seq,
                    "role": turn.role,
                    "text": turn.text,
                    "tokens": estimate_tokens(turn.text),
                    "request_id": request_id,
                    "created_at": now,
                    schema.TTL_ATTRIBUTE: expires,
                }
            )
            for seq, turn in enumerate(turns, start=first)
        ]
        for start in range(0, len(items), BATCH):
            self._write(items[start : start + BATCH])

    def sessions(self, user_id: str) -> list[SessionSummary]:
        """The caller's own live sessions, most recently updated first."""
        pk = schema.user_pk(user_id)
        now = self._clock()
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "#pk = :pk AND begins_with(#sk, :prefix)",
            "ExpressionAttributeNames": {"#pk": schema.PK, "#sk": schema.SK},
            "ExpressionAttributeValues": {":pk": string(pk), ":prefix": string("SESSION#")},
        }
        found = [item for item in _query(self._db, request) if live(item, now)]
        found.sort(key=lambda item: (float(item["updated_at"]), str(item["session_id"])), reverse=True)
        return [_summary(item) for item in found]

    def session(self, user_id: str, session_id: str) -> SessionDetail:
        """One session of the caller with its live turns, oldest first; SessionNotFound when it is absent,
        expired, not a valid id, or another user's."""
        try:
            pk, sk, prefix = schema.user_pk(user_id), schema.session_sk(session_id), schema.turn_prefix(session_id)
        except ValueError:
            raise SessionNotFound(session_id) from None
        now = self._clock()
        raw = self._db.get_item(
            TableName=self._table, Key={schema.PK: string(pk), schema.SK: string(sk)}, ConsistentRead=True
        ).get("Item")
        item = from_attributes(raw) if raw else None
        if item is None or not live(item, now):
            raise SessionNotFound(session_id)
        turns = tuple(
            Turn(role=t["role"], text=t["text"])
            for t in self._turn_items(pk, prefix, newest_first=False, page=None)
            if live(t, now)
        )
        return SessionDetail(_summary(item), turns)

    def _turn_items(self, pk: str, prefix: str, *, newest_first: bool, page: int | None) -> Iterator[dict[str, Any]]:
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "#pk = :pk AND begins_with(#sk, :prefix)",
            "ExpressionAttributeNames": {"#pk": schema.PK, "#sk": schema.SK},
            "ExpressionAttributeValues": {":pk": string(pk), ":prefix": string(prefix)},
            "ScanIndexForward": not newest_first,
            "ConsistentRead": True,  # the turns of the previous request are in the next one's window
        }
        if page is not None:
            request["Limit"] = page
        return _query(self._db, request)

    def _write(self, items: list[dict[str, Any]]) -> None:
        requests: dict[str, Any] = {self._table: [{"PutRequest": {"Item": item}} for item in items]}
        for attempt in range(WRITE_ATTEMPTS):
            requests = self._db.batch_write_item(RequestItems=requests).get("UnprocessedItems") or {}
            if not requests:
                return
            time.sleep(0.05 * 2**attempt)
        raise RuntimeError(f"DynamoDB left {len(requests[self._table])} turn(s) unwritten after {WRITE_ATTEMPTS} tries")


def _query(db: Any, request: dict[str, Any]) -> Iterator[dict[str, Any]]:
    while True:
        response = db.query(**request)
        for item in response.get("Items", []):
            yield from_attributes(item)
        last = response.get("LastEvaluatedKey")
        if not last:
            return
        request = {**request, "ExclusiveStartKey": last}


def _summary(item: dict[str, Any]) -> SessionSummary:
    return SessionSummary(
        session_id=str(item["session_id"]),
        title=str(item.get("title", "")),
        created_at=iso(float(item["created_at"])),
        updated_at=iso(float(item["updated_at"])),
        turns=int(item.get("turns", 0)),
    )
