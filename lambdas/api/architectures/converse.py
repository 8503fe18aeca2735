"""Bedrock Converse for the direct, rag and multi-task architectures: one request builder, one stream reader.

The guardrail rides on the model call (``guardrailConfig``) with ``streamProcessingMode="sync"``: Bedrock buffers
each chunk and applies the guardrail's policies before sending it, so blocked content and unmasked PII never
reach the client. ``async`` would send chunks at once and check them in the background (lower time to first
token), but it does not support PII masking and lets blocked text out before the intervention; the pipeline's
per-sentence output checks buffer a sentence anyway, so sync costs little more. The guardrail trace is
``enabled`` so an intervention that only masked PII is told apart from a block (the trace's assessments are read
for their actions only; they are never logged).

Stream events, in order: messageStart, contentBlockStart/Delta/Stop, messageStop (``stopReason``: end_turn,
max_tokens, guardrail_intervened, ...), metadata (``usage``, ``metrics``, ``trace``). Exception events raise
botocore's `EventStreamError`, mapped like call errors (`api.architectures.errors`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from common.prompts.chain import Usage as ChainUsage
from common.prompts.chain import chain_steps, run_chain
from common.prompts.contract import Inference, TaskPrompts
from common.safety.sanitization import delimit

from api.architectures.base import Finish, ModelEvent, ModelTurn, TextPart
from api.architectures.errors import chat_error
from api.chat import ChatError, Stage, Turn, Usage
from api.prompts import Composed, PromptSource, compose, variables_for

STREAM_PROCESSING_MODE = "sync"
GUARDRAIL_INTERVENED = "guardrail_intervened"


@dataclass(frozen=True)
class Guardrail:
    identifier: str
    version: str


def unavailable(exc: BotoCoreError) -> ChatError:
    """A connection or read failure after the SDK's retries (no HTTP error from Bedrock)."""
    return ChatError("MODEL_UNAVAILABLE", 503, f"The model could not be reached ({type(exc).__name__}).", retry_after=5)


def messages(history: Sequence[Turn], user_text: str) -> list[dict[str, Any]]:
    """Converse messages: the history as alternating turns starting with the user, then the new user turn.

    Leading assistant turns are dropped and consecutive turns of one role are joined (Converse requires the
    conversation to start with a user message and roles to alternate)."""
    turns: list[tuple[str, str]] = []
    for turn in history:
        if not turn.text.strip() or (not turns and turn.role != "user"):
            continue
        if turns and turns[-1][0] == turn.role:
            turns[-1] = (turn.role, f"{turns[-1][1]}\n\n{turn.text}")
        else:
            turns.append((turn.role, turn.text))
    if turns and turns[-1][0] == "user":
        turns[-1] = ("user", f"{turns[-1][1]}\n\n{user_text}")
    else:
        turns.append(("user", user_text))
    return [{"role": role, "content": [{"text": text}]} for role, text in turns]


class ConverseModel:
    """Calls one model (or a prompt router) through Converse, with the guardrail attached when configured."""

    def __init__(
        self,
        client: Any,
        model_id: str,
        guardrail: Guardrail | None = None,
        *,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self._client = client
        self.model_id = model_id
        self._guardrail = guardrail
        self._clock = clock

    def request(
        self, composed: Composed, history: Sequence[Turn], *, stream: bool, model_id: str | None = None
    ) -> dict[str, Any]:
        params: dict[str, Any] = {
            "modelId": model_id or self.model_id,
            "messages": messages(history, composed.user_text),
        }
        if composed.system:
            params["system"] = [{"text": text} for text in composed.system]
        if composed.inference:
            params["inferenceConfig"] = dict(composed.inference)
        if self._guardrail is not None:
            config: dict[str, Any] = {
                "guardrailIdentifier": self._guardrail.identifier,
                "guardrailVersion": self._guardrail.version,
                "trace": "enabled",
            }
            if stream:
                config["streamProcessingMode"] = STREAM_PROCESSING_MODE
            params["guardrailConfig"] = config
        return params

    def stream(
        self, composed: Composed, history: Sequence[Turn], *, model_id: str | None = None
    ) -> Iterator[ModelEvent]:
        """ConverseStream: `TextPart` per text delta, then one `Finish`."""
        started = self._clock()
        try:
            response = self._client.converse_stream(**self.request(composed, history, stream=True, model_id=model_id))
        except ClientError as exc:
            raise chat_error(exc) from exc
        except BotoCoreError as exc:
            raise unavailable(exc) from exc
        events = response["stream"]
        stop_reason: str | None = None
        metadata: Mapping[str, Any] = {}
        first: float | None = None
        try:
            for event in events:
                delta = event.get("contentBlockDelta", {}).get("delta", {})
                if delta.get("text"):
                    if first is None:
                        first = self._clock()
                    yield TextPart(delta["text"])
                elif "messageStop" in event:
                    stop_reason = event["messageStop"].get("stopReason")
                elif "metadata" in event:
                    metadata = event["metadata"]
        except ClientError as exc:
            raise chat_error(exc) from exc
        except BotoCoreError as exc:
            raise unavailable(exc) from exc
        finally:
            events.close()
        timings = {"model_first_token": _ms(started, first)} if first is not None else {}
        yield self._finish(stop_reason, metadata, composed.prompt_version, timings)

    def converse(self, composed: Composed, history: Sequence[Turn], *, model_id: str | None = None) -> dict[str, Any]:
        """Converse (one response); errors mapped to `ChatError`."""
        try:
            response: dict[str, Any] = self._client.converse(
                **self.request(composed, history, stream=False, model_id=model_id)
            )
        except ClientError as exc:
            raise chat_error(exc) from exc
        except BotoCoreError as exc:
            raise unavailable(exc) from exc
        return response

    def chain(
        self,
        task: TaskPrompts,
        source: PromptSource,
        user_text: str,
        *,
        context: str | None = None,
        model_id: str | None = None,
    ) -> Iterator[ModelEvent]:
        """A multi-prompt variant through `common.prompts.run_chain`, each step a Converse call; the last
        step's output is the answer (yielded whole: the steps before it must finish first)."""
        block = delimit(user_text)
        verdicts: list[Finish] = []

        def invoke(prompt: str, system: str | None, inference: Inference) -> tuple[str, ChainUsage]:
            composed = Composed(prompt, tuple(s for s in (system, block.instruction) if s), inference.converse(), None)
            response = self.converse(composed, (), model_id=model_id)
            content = response.get("output", {}).get("message", {}).get("content", [])
            text = "".join(part.get("text", "") for part in content)
            verdicts.append(self._finish(response.get("stopReason"), response, None, {}))
            usage = response.get("usage", {})
            return text, ChainUsage(int(usage.get("inputTokens", 0)), int(usage.get("outputTokens", 0)))

        steps = chain_steps(task, source.prompt)
        result = run_chain(steps, variables_for(task, block.block, context), invoke, inference=task.inference)
        blocked = next((v for v in verdicts if v.guardrail_blocked), None)
        if blocked is None:
            yield TextPart(result.text)
        actions = {v.guardrail_action for v in verdicts}
        yield Finish(
            usage=Usage(result.usage.input_tokens, result.usage.output_tokens),
            stop_reason=blocked.stop_reason if blocked else (verdicts[-1].stop_reason if verdicts else None),
            guardrail_action=("INTERVENED" if "INTERVENED" in actions else verdicts[-1].guardrail_action)
            if verdicts
            else None,
            guardrail_blocked=blocked.guardrail_blocked if blocked else None,
            prompt_version=",".join(ref.version_arn for ref in task.prompts),
            timings_ms={"chain": round(result.latency_ms, 3)},
        )

    def _finish(
        self,
        stop_reason: str | None,
        metadata: Mapping[str, Any],
        prompt_version: str | None,
        timings: dict[str, float],
    ) -> Finish:
        usage = metadata.get("usage")
        action: str | None = None
        blocked: Stage | None = None
        if self._guardrail is not None:
            action = "INTERVENED" if stop_reason == GUARDRAIL_INTERVENED else "NONE"
            if action == "INTERVENED":
                blocked = guardrail_block_stage(metadata.get("trace", {}).get("guardrail"))
        return Finish(
            usage=Usage(int(usage.get("inputTokens", 0)), int(usage.get("outputTokens", 0))) if usage else None,
            stop_reason=stop_reason,
            guardrail_action=action,
            guardrail_blocked=blocked,
            prompt_version=prompt_version,
            timings_ms=timings,
        )


def run_task(
    model: ConverseModel,
    source: PromptSource,
    task_name: str | None,
    turn: ModelTurn,
    *,
    context: str | None = None,
    model_id: str | None = None,
) -> Iterator[ModelEvent]:
    """The turn through the task's selected variant: a multi-prompt chain, or one streamed Converse call."""
    task = source.task(task_name) if task_name is not None else None
    if task is not None and len(task.prompts) > 1:
        yield from model.chain(task, source, turn.text, context=context, model_id=model_id)
        return
    composed = compose(source, task, turn.text, context=context)
    yield from model.stream(composed, turn.request.history, model_id=model_id)


def guardrail_block_stage(trace: Mapping[str, Any] | None) -> Stage | None:
    """Where an intervening guardrail blocked: "input", "output", or None when it only masked (ANONYMIZED).

    Without a trace the intervention counts as an output block (the safe reading)."""
    if not trace:
        return "output"
    actions_in = _actions(trace.get("inputAssessment", {}))
    actions_out = _actions(trace.get("outputAssessments", {}))
    if "BLOCKED" in actions_in:
        return "input"
    if "BLOCKED" in actions_out:
        return "output"
    if "ANONYMIZED" in actions_in | actions_out:
        return None
    return "output"


def _actions(value: Any) -> set[str]:
    """Every policy ``action`` found in an assessment (nested dicts and lists)."""
    found: set[str] = set()
    if isinstance(value, Mapping):
        for key, item in value.items():
            if key == "action" and isinstance(item, str):
                found.add(item)
            else:
                found |= _actions(item)
    elif isinstance(value, list | tuple):
        for item in value:
            found |= _actions(item)
    return found


def _ms(started: float, ended: float) -> float:
    return round((ended - started) * 1000, 3)
