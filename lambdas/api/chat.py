"""The chat pipeline's plain data: a request, the events of one answer, the answer, and `ChatError`.

Standard library only, so the store, the app and the architectures share these types without importing the
pipeline. `api.pipeline` re-exports every name here (the contract of INTERFACES.md).

Events of one answer, in order: zero or more `Delta`, at most one `Citations`, at most one `Blocked`, then
exactly one `Done`. A `Blocked` with ``stage="output"`` may follow deltas that were already sent: the client
replaces everything it showed for this answer with the blocked notice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from api.contract import Architecture

Role = Literal["user", "assistant"]
Stage = Literal["input", "output"]


@dataclass(frozen=True)
class Caller:
    user_id: str
    groups: tuple[str, ...] = ()


@dataclass(frozen=True)
class Turn:
    role: Role
    text: str


@dataclass(frozen=True)
class ChatRequest:
    request_id: str
    caller: Caller
    session_id: str
    message: str
    architecture: Architecture
    task: str | None = None
    history: tuple[Turn, ...] = ()


@dataclass(frozen=True)
class Citation:
    source: str  # S3 URI (or the location's URL / document id)
    text: str  # an excerpt of the passage, as screened


@dataclass(frozen=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(self.input_tokens + other.input_tokens, self.output_tokens + other.output_tokens)

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


@dataclass(frozen=True)
class Delta:
    text: str


@dataclass(frozen=True)
class Citations:
    items: tuple[Citation, ...]


@dataclass(frozen=True)
class Blocked:
    code: str  # INPUT_BLOCKED or OUTPUT_BLOCKED
    reason: str  # the causes, comma-separated (validation, prefilter, toxicity, entity, guardrail, pii); never text
    stage: Stage


@dataclass(frozen=True)
class Answer:
    request_id: str
    text: str  # what the client may keep: the emitted deltas; "" when blocked
    citations: tuple[Citation, ...]
    guardrail_action: str | None  # "INTERVENED" / "NONE" when the model call carried the guardrail, else None
    usage: Usage
    prompt_version: str | None  # prompt version ARN(s), comma-separated for a multi-prompt chain
    architecture: Architecture
    blocked: Blocked | None = None
    timings_ms: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Done:
    answer: Answer


Event = Delta | Citations | Blocked | Done


class ChatError(Exception):
    """A request the pipeline cannot answer, with a stable code and the HTTP status the app returns.

    4xx: the request is at fault (UNKNOWN_ARCHITECTURE, UNKNOWN_TASK, EMPTY_MESSAGE, PROMPT_TOO_LONG,
    MODEL_REJECTED_INPUT) or must wait (MODEL_THROTTLED, 429 with ``retry_after`` seconds; SESSION_BUSY, 409).
    5xx: Bedrock failed (MODEL_ERROR 502, MODEL_UNAVAILABLE 503 with ``retry_after``) or the deployment is
    wrong (MODEL_MISCONFIGURED 502: access denied, resource not found). See `api.architectures.errors`.
    """

    def __init__(self, code: str, status: int, message: str, *, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        self.message = message
        self.retry_after = retry_after

    def __repr__(self) -> str:
        return f"ChatError({self.code!r}, {self.status}, {self.message!r}, retry_after={self.retry_after})"
