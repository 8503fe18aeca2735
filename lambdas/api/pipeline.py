"""The chat request pipeline: one request in, the events of one answer out.

Stages, in order (each timed in ``Answer.timings_ms``):

1. ``validate``: the request itself: an architecture this deployment allows (UNKNOWN_ARCHITECTURE), a known task
   (UNKNOWN_TASK), a non-blank message (EMPTY_MESSAGE) within ``max_prompt_chars`` (PROMPT_TOO_LONG, 413).
   These raise `ChatError` before anything is sent.
2. ``input_checks``: `SafetyChain.screen_input`: Unicode validation and normalization, the injection prefilter,
   denied terms, then Comprehend toxicity / custom classifier / entities and ApplyGuardrail concurrently. A block
   ends the answer with ``Blocked("INPUT_BLOCKED", causes, "input")``. The text that goes on is the decision's
   text: normalized, and anonymized when the guardrail masked PII: never the original.
3. ``sanitize``: `common.safety.sanitization.neutralize` on the checked text (fake role turns, chat-template
   tokens, template delimiters); the prompt templates then put it in a delimited, escaped block. Sanitizing
   comes after the input checks on purpose: the prefilter must see the tokens the sanitizer removes.
4. ``model``: the request's architecture (`api.architectures`), streamed.
5. ``output_checks``: per sentence (`api.sentences.SentenceBuffer`): text is buffered until a sentence ends,
   screened with `SafetyChain.screen_output` (PII redacted in what is emitted; the retrieved passages as the
   guardrail's grounding source), then emitted as a `Delta`. A blocked sentence ends the answer with
   ``Blocked("OUTPUT_BLOCKED", causes, "output")``: the sentences before it were sent; the client replaces them.
   The same happens when the guardrail on the model call blocked (reason ``guardrail``, stage input or output).
6. ``Citations`` (if any), then ``Done(answer)``; a blocked answer has ``text == ""``.

Usage is the model's own (Converse metadata, the agent's trace); when it is unknown (agent without trace, a
stream stopped by an output check) it is estimated with `api.store.tokens.estimate_tokens`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from common.safety.chain import Decision, SafetyChain
from common.safety.sanitization import neutralize

from api.architectures import build
from api.architectures.base import ChatArchitecture, Context, Finish, ModelTurn, TextPart
from api.chat import (
    Answer,
    Blocked,
    Caller,
    ChatError,
    ChatRequest,
    Citation,
    Citations,
    Delta,
    Done,
    Event,
    Stage,
    Turn,
    Usage,
)
from api.contract import ApiSettings
from api.metrics import Counter
from api.prompts import PromptSource
from api.sentences import SentenceBuffer
from api.store.tokens import estimate_tokens

__all__ = [
    "Answer",
    "Blocked",
    "Caller",
    "ChatError",
    "ChatPipeline",
    "ChatRequest",
    "Citation",
    "Citations",
    "Clients",
    "Delta",
    "Done",
    "Event",
    "Turn",
    "Usage",
]

INPUT_BLOCKED = "INPUT_BLOCKED"
OUTPUT_BLOCKED = "OUTPUT_BLOCKED"


@dataclass(frozen=True)
class Clients:
    """boto3 clients, created once per container: ``bedrock-runtime`` and ``bedrock-agent-runtime``."""

    bedrock_runtime: Any = None
    bedrock_agent_runtime: Any = None


class _NullCounter:
    def count(self, name: str, **dimensions: str) -> None:
        return None


class _NullLogger:
    def info(self, msg: str, *args: Any, **kwargs: Any) -> None:
        return None


class ChatPipeline:
    def __init__(
        self,
        settings: ApiSettings,
        safety: SafetyChain,
        clients: Clients,
        prompts: PromptSource,
        *,
        metrics: Counter | None = None,
        logger: Any = None,
        architectures: Mapping[str, ChatArchitecture] | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.settings = settings
        self.safety = safety
        self._clock = clock
        built = (
            architectures
            if architectures is not None
            else build(
                settings,
                bedrock_runtime=clients.bedrock_runtime,
                bedrock_agent_runtime=clients.bedrock_agent_runtime,
                prompts=prompts,
                metrics=metrics or _NullCounter(),
                logger=logger or _NullLogger(),
                passages=safety.settings.passages.policy(),  # safety.yaml `passages`: threshold and action
            )
        )
        self._architectures: dict[str, ChatArchitecture] = {str(name): arch for name, arch in built.items()}

    # ------------------------------------------------------------------ entry points

    def answer(self, request: ChatRequest) -> Answer:
        """The buffered answer: consumes `stream` and returns its `Done` answer."""
        for event in self.stream(request):
            if isinstance(event, Done):
                return event.answer
        raise AssertionError("stream() always ends with Done")  # pragma: no cover

    def stream(self, request: ChatRequest) -> Iterator[Event]:
        run = _Run(self, request)
        yield from run.events()

    # ------------------------------------------------------------------ stages

    def validate(self, request: ChatRequest) -> None:
        s = self.settings
        if request.architecture not in self._architectures:
            allowed = ", ".join(self._architectures)
            raise ChatError("UNKNOWN_ARCHITECTURE", 400, f"Architecture {request.architecture!r}; allowed: {allowed}.")
        if request.task is not None and request.task not in s.prompt_parameters:
            raise ChatError("UNKNOWN_TASK", 400, f"Unknown task {request.task!r}; known: {', '.join(s.tasks)}.")
        if request.architecture == "multi-task" and request.task is None:
            raise ChatError("UNKNOWN_TASK", 400, f"multi-task needs a task, one of: {', '.join(s.tasks)}.")
        if not isinstance(request.message, str) or not request.message.strip():
            raise ChatError("EMPTY_MESSAGE", 400, "The message is empty.")
        if len(request.message) > s.max_prompt_chars:
            raise ChatError("PROMPT_TOO_LONG", 413, f"The message is longer than {s.max_prompt_chars} characters.")

    def architecture(self, name: str) -> ChatArchitecture:
        return self._architectures[name]


class _Run:
    """The state of one answer while it streams."""

    def __init__(self, pipeline: ChatPipeline, request: ChatRequest) -> None:
        self.pipeline = pipeline
        self.request = request
        self.clock = pipeline._clock
        self.started = self.clock()
        self.timings: dict[str, float] = {}
        self.sent: list[str] = []
        self.passages: tuple[str, ...] = ()
        self.query = ""
        self.output_ms = 0.0

    def _mark(self, stage: str, since: float) -> float:
        now = self.clock()
        self.timings[stage] = round((now - since) * 1000, 3)
        return now

    def events(self) -> Iterator[Event]:
        pipeline, request = self.pipeline, self.request
        pipeline.validate(request)
        now = self._mark("validate", self.started)

        decision = pipeline.safety.screen_input({"text": request.message})
        now = self._mark("input_checks", now)
        if not decision.allowed:
            blocked = Blocked(INPUT_BLOCKED, _reason(decision), "input")
            yield blocked
            yield Done(self._answer(blocked=blocked, usage=Usage()))
            return

        text = neutralize(decision.text).text
        self.query = text
        now = self._mark("sanitize", now)

        yield from self._model(ModelTurn(request=request, text=text), now)

    def _model(self, turn: ModelTurn, started: float) -> Iterator[Event]:
        buffer = SentenceBuffer()
        finish: Finish | None = None
        first: float | None = None
        events = self.pipeline.architecture(self.request.architecture).run(turn)
        try:
            for event in events:
                if isinstance(event, TextPart):
                    if first is None:
                        first = self.clock()
                        self.timings["first_token"] = round((first - started) * 1000, 3)
                    for sentence in buffer.feed(event.text):
                        result = self._emit(sentence)
                        if isinstance(result, Blocked):
                            self.timings["model"] = self._model_ms(started)
                            yield result
                            yield Done(self._answer(blocked=result, usage=self._estimate(turn, sentence)))
                            return
                        yield result
                elif isinstance(event, Context):
                    self.passages = event.passages
                elif isinstance(event, Finish):
                    finish = event
        finally:
            close = getattr(events, "close", None)
            if close is not None:  # a generator: closes the model stream when an output check stopped early
                close()
        if finish is None:  # pragma: no cover - every architecture ends with Finish
            raise ChatError("MODEL_ERROR", 502, "The model stream ended without a result.")
        self.timings["model"] = self._model_ms(started)
        self.timings.update({k: v for k, v in finish.timings_ms.items() if k not in self.timings})
        yield from self._conclude(turn, finish, buffer.flush())

    def _conclude(self, turn: ModelTurn, finish: Finish, rest: str) -> Iterator[Event]:
        """After the model's last event: the guardrail's verdict, the last sentence, citations, Done."""
        if finish.guardrail_blocked is not None:
            stage: Stage = finish.guardrail_blocked
            blocked = Blocked(INPUT_BLOCKED if stage == "input" else OUTPUT_BLOCKED, "guardrail", stage)
            yield blocked
            yield Done(self._answer(blocked=blocked, usage=finish.usage or self._estimate(turn, ""), finish=finish))
            return
        if rest:
            result = self._emit(rest)
            if isinstance(result, Blocked):
                yield result
                yield Done(self._answer(blocked=result, usage=finish.usage or self._estimate(turn, rest)))
                return
            yield result
        if finish.citations:
            yield Citations(finish.citations)
        yield Done(self._answer(usage=finish.usage or self._estimate(turn, ""), finish=finish))

    def _emit(self, sentence: str) -> Delta | Blocked:
        """Screen one sentence; the `Delta` to send (PII redacted) or the `Blocked` that ends the answer."""
        if not sentence.strip():  # whitespace between sentences carries nothing to check
            self.sent.append(sentence)
            return Delta(sentence)
        started = self.clock()
        decision = self.pipeline.safety.screen_output(sentence, grounding_source=self.passages, query=self.query)
        self.output_ms += (self.clock() - started) * 1000
        self.timings["output_checks"] = round(self.output_ms, 3)
        if not decision.allowed:
            return Blocked(OUTPUT_BLOCKED, _reason(decision), "output")
        self.sent.append(decision.text)
        return Delta(decision.text)

    def _model_ms(self, started: float) -> float:
        return round((self.clock() - started) * 1000 - self.output_ms, 3)

    def _estimate(self, turn: ModelTurn, pending: str) -> Usage:
        history = sum(estimate_tokens(t.text) for t in turn.request.history)
        return Usage(history + estimate_tokens(turn.text), estimate_tokens("".join(self.sent) + pending))

    def _answer(self, *, usage: Usage, blocked: Blocked | None = None, finish: Finish | None = None) -> Answer:
        self.timings["total"] = round((self.clock() - self.started) * 1000, 3)
        return Answer(
            request_id=self.request.request_id,
            text="" if blocked else "".join(self.sent),
            citations=() if blocked or finish is None else finish.citations,
            guardrail_action=finish.guardrail_action if finish else None,
            usage=usage,
            prompt_version=finish.prompt_version if finish else None,
            architecture=self.request.architecture,
            blocked=blocked,
            timings_ms=dict(self.timings),
        )


def _reason(decision: Decision) -> str:
    return ", ".join(decision.causes) or "blocked"
