"""agent: InvokeAgent on the deployed alias; the agent's streamed chunks become the answer's text.

- ``sessionId`` is derived from the conversation: the SHA-256 of the caller's user id and session id, so a
  conversation keeps its agent session across requests and one user can never name another user's session.
- ``streamingConfigurations.streamFinalResponse`` streams the final response in chunks (the agent's role needs
  bedrock:InvokeModelWithResponseStream); the agent's own guardrail (Agent stack) applies to its model calls.
- ``enableTrace`` only when ``agent_trace`` is set (off in prod): the trace is read for token usage and its step
  kinds are logged, never its text. Without a trace the usage is left to the pipeline's estimate.
- Citations come from the chunks' attributions (``retrievedReferences``: location and content), deduplicated.
"""

from __future__ import annotations

import codecs
import hashlib
from collections.abc import Iterator, Mapping
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from api.architectures.base import Finish, ModelEvent, ModelTurn, TextPart
from api.architectures.converse import unavailable
from api.architectures.errors import chat_error
from api.architectures.sources import excerpt, source_of
from api.chat import Citation, Usage


class TraceLogger(Protocol):
    def info(self, msg: str, *args: Any, **kwargs: Any) -> None: ...


def agent_session_id(user_id: str, session_id: str) -> str:
    """The agent session of one conversation: 64 hex digits (InvokeAgent allows ``[0-9a-zA-Z._:-]{2,100}``)."""
    return hashlib.sha256(f"{user_id}\x00{session_id}".encode()).hexdigest()


class AgentArchitecture:
    name = "agent"

    def __init__(
        self, client: Any, *, agent_id: str, agent_alias_id: str, trace: bool = False, logger: TraceLogger
    ) -> None:
        self._client = client
        self._agent_id = agent_id
        self._alias_id = agent_alias_id
        self._trace = trace
        self._logger = logger

    def request(self, turn: ModelTurn) -> dict[str, Any]:
        return {
            "agentId": self._agent_id,
            "agentAliasId": self._alias_id,
            "sessionId": agent_session_id(turn.request.caller.user_id, turn.request.session_id),
            "inputText": turn.text,
            "enableTrace": self._trace,
            "streamingConfigurations": {"streamFinalResponse": True},
        }

    def run(self, turn: ModelTurn) -> Iterator[ModelEvent]:
        try:
            response = self._client.invoke_agent(**self.request(turn))
        except ClientError as exc:
            raise chat_error(exc) from exc
        except BotoCoreError as exc:
            raise unavailable(exc) from exc
        completion = response["completion"]
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        citations: dict[tuple[str, str], Citation] = {}
        usage: Usage | None = None
        try:
            for event in completion:
                if "chunk" in event:
                    text = decoder.decode(event["chunk"].get("bytes", b""))
                    if text:
                        yield TextPart(text)
                    for citation in _citations(event["chunk"].get("attribution", {})):
                        citations.setdefault((citation.source, citation.text), citation)
                elif "trace" in event:  # returnControl and files are not used by the chat api
                    step_usage = self._read_trace(event["trace"])
                    if step_usage is not None:
                        usage = step_usage if usage is None else usage + step_usage
            rest = decoder.decode(b"", final=True)
            if rest:
                yield TextPart(rest)
        except ClientError as exc:
            raise chat_error(exc) from exc
        except BotoCoreError as exc:
            raise unavailable(exc) from exc
        finally:
            completion.close()
        yield Finish(usage=usage, citations=tuple(citations.values()))

    def _read_trace(self, part: Mapping[str, Any]) -> Usage | None:
        """Token usage of one trace step (model invocation outputs), logging the step's kind only."""
        trace = part.get("trace", {})
        self._logger.info("agent trace", extra={"agent_trace": {"kinds": sorted(trace)}})
        found: Usage | None = None
        for step in trace.values():
            if not isinstance(step, Mapping):
                continue
            usage = step.get("modelInvocationOutput", {}).get("metadata", {}).get("usage")
            if usage:
                step_usage = Usage(int(usage.get("inputTokens", 0)), int(usage.get("outputTokens", 0)))
                found = step_usage if found is None else found + step_usage
        return found


def _citations(attribution: Mapping[str, Any]) -> Iterator[Citation]:
    for citation in attribution.get("citations", []):
        for reference in citation.get("retrievedReferences", []):
            text = reference.get("content", {}).get("text") or ""
            source = source_of(reference.get("location"))
            if source or text:
                yield Citation(source=source, text=excerpt(text))
