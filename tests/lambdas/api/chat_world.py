"""Shared pieces of the pipeline and architecture tests: settings, a safety chain over model-checked Comprehend
and Bedrock responders, a prompt source holding literal prompts, and stream event builders."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from api.chat import Caller, ChatRequest, Turn
from api.contract import ApiSettings
from api.pipeline import ChatPipeline, Clients
from common.prompts.contract import StoredPrompt, TaskPrompts
from common.safety.chain import SafetyChain, SafetyClients
from common.safety.policy import SafetySettings

from tests.lambdas.api import bedrock_fakes
from tests.lambdas.common.safety.chain_fakes import Counter, InlineExecutor, Lines

MODEL = "eu.anthropic.claude-haiku-4-5-20251001-v1:0"
GUARDRAIL = "gr12345abcde"
KB = "KB12345678"
AGENT, ALIAS = "AGENT12345", "ALIAS12345"
ROUTER = "arn:aws:bedrock:eu-west-1:111122223333:default-prompt-router/anthropic.claude:1"
ANSWER_ARN = "arn:aws:bedrock:eu-west-1:111122223333:prompt/ANSWER1234:3"
FACTS_ARN = "arn:aws:bedrock:eu-west-1:111122223333:prompt/FACTS12345:2"
FINAL_ARN = "arn:aws:bedrock:eu-west-1:111122223333:prompt/FINAL12345:2"
NONCE = "0123456789ab"


def api_settings(**overrides: Any) -> ApiSettings:
    base: dict[str, Any] = {
        "usecase": "customer-retention",
        "architecture": "direct",
        "per_request": ["rag", "agent", "multi-task"],
        "model_id": MODEL,
        "guardrail_id": GUARDRAIL,
        "guardrail_version": "4",
        "knowledge_base_id": KB,
        "retrieve_results": 3,
        "agent_id": AGENT,
        "agent_alias_id": ALIAS,
        "prompt_parameters": {"answer": "/journey/prompts/answer", "extract": "/journey/prompts/extract"},
        "conversations_table": "c",
        "quotas_table": "q",
        "telemetry_table": "t",
        "quotas": {"users": {"tokens_per_day": 1000, "requests_per_minute": 10}},
        "metrics_namespace": "Journey",
    }
    base.update(overrides)
    return ApiSettings.model_validate(base)


def safety_settings(**overrides: Any) -> SafetySettings:
    base: dict[str, Any] = {"toxicity": {"thresholds": {"TOXICITY": 0.7}}, "pii": {"enabled": True}}
    base.update(overrides)
    return SafetySettings.model_validate(base)


@dataclass
class StaticPrompts:
    """A `PromptSource` over literal task prompts and prompt versions; records what was read."""

    tasks: dict[str, TaskPrompts] = field(default_factory=dict)
    versions: dict[str, StoredPrompt] = field(default_factory=dict)
    reads: list[str] = field(default_factory=list)

    def task(self, name: str) -> TaskPrompts:
        self.reads.append(name)
        return self.tasks[name]

    def prompt(self, version_arn: str) -> StoredPrompt:
        self.reads.append(version_arn)
        return self.versions[version_arn]


def prompts() -> StaticPrompts:
    answer = TaskPrompts(
        task="answer",
        variant="few-shot",
        technique="few-shot",
        model_id=MODEL,
        variables=["question", "context"],
        prompts=[{"version_arn": ANSWER_ARN}],
        inference={"temperature": 0.2, "max_tokens": 400},
    )
    extract = TaskPrompts(
        task="extract",
        variant="extract-then-answer",
        technique="multi-prompt",
        model_id=MODEL,
        variables=["question"],
        prompts=[{"step": "facts", "version_arn": FACTS_ARN}, {"step": "final", "version_arn": FINAL_ARN}],
        inference={"temperature": 0.0, "max_tokens": 300},
    )
    return StaticPrompts(
        tasks={"answer": answer, "extract": extract},
        versions={
            ANSWER_ARN: StoredPrompt(
                template="Passages:\n{{context}}\nQuestion: {{question}}\nAnswer:", system="You are a policy assistant."
            ),
            FACTS_ARN: StoredPrompt(template="List the facts for: {{question}}"),
            FINAL_ARN: StoredPrompt(template="Facts:\n{{facts}}\nAnswer: {{question}}", system="Be brief."),
        },
    )


@dataclass
class World:
    pipeline: ChatPipeline
    runtime: bedrock_fakes.Responder
    agent: bedrock_fakes.Responder
    comprehend: bedrock_fakes.Responder
    prompts: StaticPrompts
    metrics: Counter
    log: Lines
    passage_metrics: list[tuple[str, dict[str, str]]]
    passage_log: list[tuple[str, dict[str, Any]]]


class _PassageCounter:
    def __init__(self, sink: list[tuple[str, dict[str, str]]]) -> None:
        self.sink = sink

    def count(self, name: str, **dimensions: str) -> None:
        self.sink.append((name, dimensions))


class _PassageLog:
    def __init__(self, sink: list[tuple[str, dict[str, Any]]]) -> None:
        self.sink = sink

    def info(self, msg: str, *args: Any, **kwargs: Any) -> None:
        self.sink.append((msg, kwargs.get("extra", {})))


def world(
    *,
    settings: ApiSettings | None = None,
    safety: SafetySettings | None = None,
    toxic_words: tuple[str, ...] = (),
    pii: tuple[tuple[str, str], ...] = (),
) -> World:
    runtime_client, runtime = bedrock_fakes.runtime()
    agent_client, agent = bedrock_fakes.agent_runtime()
    comprehend_client, comprehend = bedrock_fakes.comprehend(toxic_words=toxic_words, pii=pii)
    counter, lines = Counter(), Lines()
    chain = SafetyChain(
        safety or safety_settings(),
        SafetyClients(comprehend=comprehend_client, bedrock_runtime=runtime_client),
        logger=lines,
        metrics=counter,
        executor=InlineExecutor(),
    )
    source = prompts()
    passage_metrics: list[tuple[str, dict[str, str]]] = []
    passage_log: list[tuple[str, dict[str, Any]]] = []
    pipeline = ChatPipeline(
        settings or api_settings(),
        chain,
        Clients(bedrock_runtime=runtime_client, bedrock_agent_runtime=agent_client),
        source,
        metrics=_PassageCounter(passage_metrics),
        logger=_PassageLog(passage_log),
    )
    return World(pipeline, runtime, agent, comprehend, source, counter, lines, passage_metrics, passage_log)


def request(message: str, architecture: str = "direct", *, task: str | None = None, history=()) -> ChatRequest:
    return ChatRequest(
        request_id="req-1",
        caller=Caller(user_id="user-7", groups=("users",)),
        session_id="session-42",
        message=message,
        architecture=architecture,  # type: ignore[arg-type]
        task=task,
        history=tuple(history),
    )


def text_events(*pieces: str) -> list[dict[str, Any]]:
    """messageStart, a text block of ``pieces``, contentBlockStop."""
    return [
        {"messageStart": {"role": "assistant"}},
        *({"contentBlockDelta": {"contentBlockIndex": 0, "delta": {"text": p}}} for p in pieces),
        {"contentBlockStop": {"contentBlockIndex": 0}},
    ]


def end_events(stop: str = "end_turn", *, input_tokens: int = 0, output_tokens: int = 0, trace=None) -> list[dict]:
    metadata: dict[str, Any] = {
        "usage": {
            "inputTokens": input_tokens,
            "outputTokens": output_tokens,
            "totalTokens": input_tokens + output_tokens,
        },
        "metrics": {"latencyMs": 420},
    }
    if trace is not None:
        metadata["trace"] = trace
    return [{"messageStop": {"stopReason": stop}}, {"metadata": metadata}]


def user_text(params: dict[str, Any]) -> str:
    """The text of the last user message of a Converse(Stream) request."""
    return "".join(block["text"] for block in params["messages"][-1]["content"])


__all__ = ["Turn"]
