"""The stand-ins of local mode and of the Api benchmark: a fake model and in-memory stores.

`FakeModel` is a `api.architectures.base.ChatArchitecture` that streams at a fixed pace. Without a script it is
the benchmark's model (bench/api_bench.py): its first part carries its own ``time.monotonic()`` stamp, so a client
on the same machine can subtract it from the arrival of the first byte. With `local_script` it is `make local
FAKE_MODEL=1`'s deterministic model: it says what it was asked, under which architecture and task, and a rag
answer cites a stand-in passage, so the chat page's citations, blocks and telemetry can be tried without AWS.

`MemoryStores` implements the app's three store seams (`api.app.ConversationStore`, `QuotaStore`,
`TelemetryStore`) in memory with the real stores' rules: the conversation window bounded by
`api.store.tokens.estimate_tokens`, SessionNotFound for another user's or an unknown session, requests per UTC
minute and tokens per UTC day refused with `QuotaExceeded` and the same ``retry_after``, and one telemetry record
per feedback, event and exchange (``records``), validated as `api.store.telemetry.Telemetry` validates them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import stacks  # noqa: F401 - importing stacks puts lambdas/ on the import path

# isort: split
from api.architectures.base import Context, Finish, ModelEvent, ModelTurn, TextPart
from api.chat import Citation, Turn, Usage
from api.contract import QuotaSpec
from api.store.conversations import SessionDetail, SessionSummary, iso, title_of, token_window
from api.store.errors import QuotaExceeded, SessionNotFound
from api.store.quotas import DAY, MINUTE, REQUESTS, TOKENS, seconds_to_next, window_start
from api.store.telemetry import EventKind, Rating, check_event, check_feedback
from api.store.tokens import estimate_tokens

ECHO_CHARS = 160  # how much of the question the local model repeats


@dataclass(frozen=True)
class FakeReply:
    """What the scripted model says: text parts (streamed one by one), and for rag the passages and citations."""

    parts: tuple[str, ...]
    citations: tuple[Citation, ...] = ()


Script = Callable[[ModelTurn, str], FakeReply]


class FakeModel:
    """A `ChatArchitecture` streaming at a fixed pace (see the module docstring for the two behaviours)."""

    def __init__(
        self, first_token_s: float, pace_s: float, tokens: int, *, name: str = "direct", script: Script | None = None
    ) -> None:
        self.first_token_s, self.pace_s, self.tokens = first_token_s, pace_s, tokens
        self.name = name
        self.script = script

    def run(self, turn: ModelTurn) -> Iterator[ModelEvent]:
        if self.script is None:
            yield from self._stamped()
            return
        reply = self.script(turn, self.name)
        if reply.citations:
            yield Context(tuple(c.text for c in reply.citations))
        time.sleep(self.first_token_s)
        for index, part in enumerate(reply.parts):
            if index:
                time.sleep(self.pace_s)
            yield TextPart(part)
        usage = Usage(estimate_tokens(turn.text), estimate_tokens("".join(reply.parts)))
        yield Finish(usage=usage, stop_reason="end_turn", citations=reply.citations)

    def _stamped(self) -> Iterator[ModelEvent]:
        time.sleep(self.first_token_s)
        yield TextPart(f"Stamp {time.monotonic():.6f} sent. N")
        for index in range(self.tokens):
            time.sleep(self.pace_s)
            yield TextPart(f"ext{index} " if index else "ext ")
        yield Finish(usage=Usage(20, self.tokens + 4), stop_reason="end_turn", guardrail_action=None)


def local_script(usecase: str, denied_term: str | None = None) -> Script:
    """The deterministic answers of local mode: the same question gives the same words, part by part.

    Asked for a "codename", the model names ``denied_term`` (one of safety.yaml's ``entities.deny_terms``) in its
    second sentence, after the first was sent: the output checks then block the answer mid-stream, as a real
    model's slip would be blocked, and the page replaces what it showed."""

    def script(turn: ModelTurn, architecture: str) -> FakeReply:
        question = " ".join(turn.text.split())
        if len(question) > ECHO_CHARS:
            question = question[: ECHO_CHARS - 1] + "…"
        task = turn.request.task
        where = f"the {architecture} architecture" + (f", task {task}" if task else "")
        slip = f"The internal codename is {denied_term}. " if denied_term and "codename" in question.lower() else ""
        text = (
            f"This is the local fake model answering through {where}. {slip}"
            f'You asked: "{question}" '
            "A deployed model would answer here; these words stream at a fixed pace so that you can try the page, "
            "its buttons and its telemetry without an AWS account."
        )
        citations: tuple[Citation, ...] = ()
        if architecture == "rag":
            text += " The passage below stands in for what the knowledge base would retrieve [1]."
            citations = (
                Citation(
                    source=f"s3://local-knowledge/{usecase}/getting-started.md",
                    text="Local mode has no knowledge base: this excerpt stands in for a retrieved passage.",
                ),
            )
        words = text.split(" ")
        parts = tuple(word + (" " if index < len(words) - 1 else "") for index, word in enumerate(words))
        return FakeReply(parts=parts, citations=citations)

    return script


@dataclass
class _Session:
    created_at: float
    updated_at: float
    title: str
    turns: list[Turn]


class MemoryStores:
    """Conversations, quotas and telemetry in memory, thread-safe (the app calls stores on worker threads)."""

    def __init__(
        self, clock: Callable[[], float] = time.time, on_record: Callable[[dict[str, Any]], None] | None = None
    ) -> None:
        self._clock = clock
        self._on_record = on_record
        self._lock = threading.Lock()
        self._sessions: dict[tuple[str, str], _Session] = {}
        self._minutes: dict[tuple[str, int], int] = {}
        self._days: dict[tuple[str, int], int] = {}
        self.records: list[dict[str, Any]] = []

    # ---------------------------------------------------------------- conversations

    def window(self, user_id: str, session_id: str, max_tokens: int) -> tuple[Turn, ...]:
        with self._lock:
            found = self._sessions.get((user_id, session_id))
            turns = list(found.turns) if found else []
        return token_window(reversed(turns), max_tokens)

    def append(self, user_id: str, session_id: str, turns: Sequence[Turn], request_id: str) -> None:
        if not turns:
            return
        now = self._clock()
        with self._lock:
            found = self._sessions.setdefault((user_id, session_id), _Session(now, now, title_of(turns), []))
            found.turns.extend(turns)
            found.updated_at = now

    def sessions(self, user_id: str) -> list[SessionSummary]:
        with self._lock:
            mine = [(sid, s) for (uid, sid), s in self._sessions.items() if uid == user_id]
        mine.sort(key=lambda pair: (pair[1].updated_at, pair[0]), reverse=True)
        return [self._summary(sid, s) for sid, s in mine]

    def session(self, user_id: str, session_id: str) -> SessionDetail:
        with self._lock:
            found = self._sessions.get((user_id, session_id))
            if found is None:
                raise SessionNotFound(session_id)
            return SessionDetail(self._summary(session_id, found), tuple(found.turns))

    @staticmethod
    def _summary(session_id: str, found: _Session) -> SessionSummary:
        return SessionSummary(
            session_id=session_id,
            title=found.title,
            created_at=iso(found.created_at),
            updated_at=iso(found.updated_at),
            turns=len(found.turns),
        )

    # ---------------------------------------------------------------- quotas

    def admit(self, user_id: str, quota: QuotaSpec) -> None:
        now = self._clock()
        with self._lock:
            if self._days.get((user_id, window_start(now, DAY)), 0) >= quota.tokens_per_day:
                raise QuotaExceeded(seconds_to_next(now, DAY), TOKENS)
            minute = (user_id, window_start(now, MINUTE))
            if self._minutes.get(minute, 0) >= quota.requests_per_minute:
                raise QuotaExceeded(seconds_to_next(now, MINUTE), REQUESTS)
            self._minutes[minute] = self._minutes.get(minute, 0) + 1

    def charge_tokens(self, user_id: str, quota: QuotaSpec, tokens: int) -> None:
        if tokens < 0:
            raise ValueError("tokens must not be negative")
        day = (user_id, window_start(self._clock(), DAY))
        with self._lock:
            self._days[day] = self._days.get(day, 0) + tokens

    # ---------------------------------------------------------------- telemetry

    def feedback(  # noqa: PLR0917 - the store's signature
        self,
        user_id: str,
        session_id: str,
        request_id: str,
        rating: Rating,
        reason: str | None,
        comment: str | None,
    ) -> None:
        check_feedback(rating, reason, comment)
        self._record(
            {
                "type": "feedback",
                "user_id": user_id,
                "session_id": session_id,
                "request_id": request_id,
                "rating": rating,
                "reason": reason,
                "comment": comment,
            }
        )

    def event(self, user_id: str, session_id: str, kind: EventKind, duration_seconds: float | None) -> None:
        check_event(kind, duration_seconds)
        record = {"type": "event", "user_id": user_id, "session_id": session_id, "kind": kind}
        self._record({**record, "duration_seconds": duration_seconds})

    def exchange(  # noqa: PLR0917 - the store's signature
        self, user_id: str, session_id: str, request_id: str, prompt: str, answer: str, architecture: str
    ) -> None:
        self._record(
            {
                "type": "exchange",
                "user_id": user_id,
                "session_id": session_id,
                "request_id": request_id,
                "prompt": prompt,
                "answer": answer,
                "architecture": architecture,
            }
        )

    def _record(self, record: dict[str, Any]) -> None:
        record["created_at"] = self._clock()
        with self._lock:
            self.records.append(record)
        if self._on_record is not None:
            self._on_record(record)
