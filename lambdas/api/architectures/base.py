"""The one small protocol every architecture implements, and the events it yields to the pipeline.

An architecture turns the checked, sanitized user text into model output: ``run(turn)`` is a generator of
`TextPart` (streamed text, in order), at most one `Context` (the passages an answer is grounded on, before the
text: the output checks use them as the guardrail's grounding source) and exactly one `Finish` (usage, stop
reason, the guardrail's verdict when the model call carried it, the prompt version and the citations).

The pipeline closes the generator when an output check blocks: every architecture closes its model stream in a
``finally``. Bedrock errors leave ``run`` as `api.chat.ChatError` (`api.architectures.errors`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

from api.chat import ChatRequest, Citation, Stage, Usage


@dataclass(frozen=True)
class ModelTurn:
    request: ChatRequest
    text: str  # the user's message after the input checks (anonymized when the guardrail masked it) and sanitizing


@dataclass(frozen=True)
class TextPart:
    text: str


@dataclass(frozen=True)
class Context:
    passages: tuple[str, ...]


@dataclass(frozen=True)
class Finish:
    usage: Usage | None  # None when the service does not report it (the pipeline estimates)
    stop_reason: str | None = None
    guardrail_action: str | None = None  # INTERVENED / NONE when the call carried the guardrail
    guardrail_blocked: Stage | None = None  # the guardrail blocked the input or the output (not just masked)
    prompt_version: str | None = None
    citations: tuple[Citation, ...] = ()
    timings_ms: dict[str, float] = field(default_factory=dict)


ModelEvent = TextPart | Context | Finish


class ChatArchitecture(Protocol):
    name: str

    def run(self, turn: ModelTurn) -> Iterator[ModelEvent]: ...
