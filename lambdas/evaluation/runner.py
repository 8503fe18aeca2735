"""One task's golden cases through the serving pipeline, in process: what a chat request would get.

Each case becomes a `ChatRequest` as the chat API builds one: the message is the case's first variable other
than ``context`` (the variable the task's prompt fills with the user's message, `api.prompts.user_variable`), the
task is named when the deployment has prompts for it (else the architecture's own prompt), the architecture is
the chat API's default unless the evaluation names one. The pipeline then does everything it does for a user:
input checks, the architecture (a ``rag`` deployment retrieves its own passages: the golden ``context`` is not
sent), per-sentence output checks. So a golden question the guardrail blocks scores as an empty answer, as a user
would have seen it.

A `Prediction` keeps what scoring needs (output, latency: the pipeline's ``total`` timing, tokens) and why an
answer is empty: ``blocked`` (the block's causes) or ``error`` (a `ChatError` code). Token log-probabilities are
recorded only when the answer carries them: the Converse-based architectures return none, so perplexity is
"not available" for them (lambdas/common/evaluation/perplexity.py), never estimated.

Throttling and an unavailable model raise `Throttled` (the workflow retries the task with backoff), any other
`ChatError` is the case's ``error``: the gate fails a run with failed cases.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from api.chat import Caller, ChatError, ChatRequest
from api.contract import Architecture
from api.pipeline import ChatPipeline

from evaluation.contract import GoldenCase

CONTEXT_VARIABLE = "context"
CALLER = Caller(user_id="quality-evaluation", groups=("evaluation",))
RETRYABLE_CODES = frozenset({"MODEL_THROTTLED", "MODEL_UNAVAILABLE"})


class Throttled(Exception):  # noqa: N818 - the error name Step Functions retries on (stacks/common/state_machine.py THROTTLED)
    """Bedrock throttled or was unavailable: the workflow retries the whole task later."""


@dataclass(frozen=True)
class Prediction:
    id: str
    output: str
    latency_ms: float
    input_tokens: int
    output_tokens: int
    logprobs: tuple[float, ...] | None = None
    blocked: str | None = None
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        """The predictions-file line (tools/prompt_eval.py's format plus ``blocked`` / ``error``)."""
        row = asdict(self)
        row["logprobs"] = list(self.logprobs) if self.logprobs is not None else None
        return {key: value for key, value in row.items() if value is not None}

    @classmethod
    def from_json(cls, row: dict[str, Any]) -> Prediction:
        logprobs = row.get("logprobs")
        return cls(
            id=str(row["id"]),
            output=str(row["output"]),
            latency_ms=float(row["latency_ms"]),
            input_tokens=int(row["input_tokens"]),
            output_tokens=int(row["output_tokens"]),
            logprobs=tuple(float(v) for v in logprobs) if logprobs else None,
            blocked=row.get("blocked"),
            error=row.get("error"),
        )


def message_of(case: GoldenCase) -> str:
    """The text a user would send: the case's first variable other than ``context``."""
    for name, value in case.variables.items():
        if name != CONTEXT_VARIABLE:
            return value
    raise ValueError(f"golden case {case.id}: no variable other than '{CONTEXT_VARIABLE}' to send as the message")


def request_for(
    pipeline: ChatPipeline, task: str, case: GoldenCase, run_id: str, architecture: Architecture | None
) -> ChatRequest:
    settings = pipeline.settings
    return ChatRequest(
        request_id=f"{run_id}-{task}-{case.id}",
        caller=CALLER,
        session_id=f"{run_id}-{task}",
        message=message_of(case),
        architecture=architecture or settings.architecture,
        task=task if task in settings.prompt_parameters else None,
    )


def run_case(
    pipeline: ChatPipeline, task: str, case: GoldenCase, run_id: str, architecture: Architecture | None = None
) -> Prediction:
    request = request_for(pipeline, task, case, run_id, architecture)
    try:
        answer = pipeline.answer(request)
    except ChatError as exc:
        if exc.code in RETRYABLE_CODES:
            raise Throttled(f"{task}/{case.id}: {exc.code}") from None
        return Prediction(case.id, "", 0.0, 0, 0, error=exc.code)
    logprobs = getattr(answer, "logprobs", None)  # none from Converse; a hosted model's answer may carry them
    return Prediction(
        id=case.id,
        output=answer.text,
        latency_ms=float(answer.timings_ms.get("total", 0.0)),
        input_tokens=answer.usage.input_tokens,
        output_tokens=answer.usage.output_tokens,
        logprobs=tuple(logprobs) if logprobs else None,
        blocked=answer.blocked.reason if answer.blocked is not None else None,
    )


def run_task(
    pipeline: ChatPipeline,
    task: str,
    cases: Sequence[GoldenCase],
    run_id: str,
    architecture: Architecture | None = None,
) -> list[Prediction]:
    """Every case of ``task``, in order."""
    return [run_case(pipeline, task, case, run_id, architecture) for case in cases]
