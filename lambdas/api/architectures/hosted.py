"""direct on the hosted model: the turn to the Scale stack's SageMaker endpoint (LMI) instead of Bedrock Converse.

Chosen by the settings (`ApiSettings.hosted_endpoint`); the pipeline's input checks, sanitizing and per-sentence
output checks are the same as for any architecture (they run around `run`, in `api.pipeline`). The prompt is
composed exactly as for Converse (`api.prompts.compose`: the task's selected prompt, the delimited user block)
and sent in the chat-completions schema LMI serves (``messages``, ``max_tokens``, ``stream``), with
InvokeEndpointWithResponseStream, addressed to the inference component when the endpoint has one.

The response stream is a sequence of ``PayloadPart`` byte chunks that split lines anywhere; `StreamLines`
rejoins them. Each line is a chat-completions chunk (``data: {"choices": [{"delta": {"content": ...}}]}``, the
``data:`` prefix optional; ``data: [DONE]`` ends it) or LMI's jsonlines token (``{"token": {"text": ...}}``).
Errors map like Bedrock's (`api.architectures.errors`); SageMaker's own codes first: ValidationError saying the
inference component has no capacity (scaled to zero, a copy is starting: 503 with retry_after), any other
ValidationError (the request is refused: 400), ServiceUnavailable (503), ModelError / ModelStreamError (the
container failed: 502).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from common.aws_errors import error_code

from api.architectures.base import Finish, ModelEvent, ModelTurn, TextPart
from api.architectures.converse import messages, unavailable
from api.architectures.errors import DEFAULT_RETRY_AFTER, chat_error
from api.chat import ChatError, Turn, Usage
from api.prompts import Composed, PromptSource, compose

DONE = "[DONE]"
SCALING_OUT = 60  # seconds to suggest while a copy starts after scale to zero (an instance takes minutes)


class StreamLines:
    """Rejoins byte chunks into complete UTF-8 lines (a chunk may end mid-line or mid-character)."""

    def __init__(self) -> None:
        self._pending = b""

    def feed(self, chunk: bytes) -> list[str]:
        self._pending += chunk
        *lines, self._pending = self._pending.split(b"\n")
        return [line.decode("utf-8") for line in lines if line.strip()]

    def flush(self) -> list[str]:
        rest, self._pending = self._pending, b""
        return [rest.decode("utf-8")] if rest.strip() else []


def parse_line(line: str) -> tuple[str, Usage | None, str | None, bool]:
    """(text, usage, finish reason, done) of one stream line (see the module docstring)."""
    body = line.strip().removeprefix("data:").strip()
    if body == DONE:
        return "", None, None, True
    chunk = json.loads(body)
    if "token" in chunk:  # LMI jsonlines
        token = chunk["token"] or {}
        return str(token.get("text") or ""), None, None, False
    choice = (chunk.get("choices") or [{}])[0]
    text = str((choice.get("delta") or {}).get("content") or "")
    usage = chunk.get("usage")
    parsed = Usage(int(usage.get("prompt_tokens", 0)), int(usage.get("completion_tokens", 0))) if usage else None
    return text, parsed, choice.get("finish_reason"), False


def request_body(composed: Composed, history: Sequence[Turn], max_tokens: int) -> dict[str, Any]:
    """The chat-completions request: system blocks first, then the alternating turns (Converse's rules)."""
    chat = [{"role": "system", "content": text} for text in composed.system]
    chat += [
        {"role": m["role"], "content": "".join(part["text"] for part in m["content"])}
        for m in messages(history, composed.user_text)
    ]
    body: dict[str, Any] = {"messages": chat, "max_tokens": max_tokens, "stream": True}
    if "temperature" in composed.inference:
        body["temperature"] = composed.inference["temperature"]
    if "topP" in composed.inference:
        body["top_p"] = composed.inference["topP"]
    if "maxTokens" in composed.inference:
        body["max_tokens"] = composed.inference["maxTokens"]
    return body


def hosted_error(exc: ClientError) -> ChatError:
    """SageMaker's codes first (InvokeEndpointWithResponseStream's errors), then Bedrock's table for the rest."""
    code = error_code(exc).lower()
    message = str(exc.response.get("Error", {}).get("Message", "")).lower()
    if code == "validationerror" and "capacity" in message:  # an inference component at zero copies
        return ChatError("MODEL_UNAVAILABLE", 503, "The model is starting; retry shortly.", retry_after=SCALING_OUT)
    if code == "validationerror":
        return ChatError("MODEL_REJECTED_INPUT", 400, "The model rejected the request.")
    if code == "serviceunavailable":
        return ChatError(
            "MODEL_UNAVAILABLE", 503, "The model is temporarily unavailable.", retry_after=DEFAULT_RETRY_AFTER
        )
    return chat_error(exc)


class HostedArchitecture:
    name = "direct"

    def __init__(
        self,
        client: Any,
        endpoint_name: str,
        prompts: PromptSource,
        *,
        inference_component: str | None = None,
        default_task: str | None = None,
        max_tokens: int = 1024,
    ) -> None:
        self._client = client
        self._endpoint = endpoint_name
        self._component = inference_component
        self._prompts = prompts
        self._default_task = default_task
        self._max_tokens = max_tokens

    def run(self, turn: ModelTurn) -> Iterator[ModelEvent]:
        task_name = turn.request.task or self._default_task
        task = self._prompts.task(task_name) if task_name is not None else None
        composed = compose(self._prompts, task, turn.text)
        params: dict[str, Any] = {
            "EndpointName": self._endpoint,
            "ContentType": "application/json",
            "Body": json.dumps(request_body(composed, turn.request.history, self._max_tokens)).encode(),
        }
        if self._component:
            params["InferenceComponentName"] = self._component
        try:
            response = self._client.invoke_endpoint_with_response_stream(**params)
        except ClientError as exc:
            raise hosted_error(exc) from exc
        except BotoCoreError as exc:
            raise unavailable(exc) from exc
        events = response["Body"]
        usage: Usage | None = None
        stop: str | None = None
        try:
            for text, chunk_usage, reason in _chunks(events):
                usage, stop = chunk_usage or usage, reason or stop
                if text:
                    yield TextPart(text)
        except ClientError as exc:
            raise hosted_error(exc) from exc
        except BotoCoreError as exc:
            raise unavailable(exc) from exc
        finally:
            close = getattr(events, "close", None)
            if close is not None:
                close()
        yield Finish(usage=usage, stop_reason=stop, prompt_version=composed.prompt_version)


def _chunks(events: Iterable[Mapping[str, Any]]) -> Iterator[tuple[str, Usage | None, str | None]]:
    """(text, usage, finish reason) of every stream line, until ``[DONE]`` or the end of the stream."""
    lines = StreamLines()
    for event in events:
        part = event.get("PayloadPart")
        if part is None:
            continue
        for line in lines.feed(part.get("Bytes", b"")):
            text, usage, reason, done = parse_line(line)
            if done:
                return
            yield text, usage, reason
    for line in lines.flush():
        text, usage, reason, done = parse_line(line)
        if not done:
            yield text, usage, reason
