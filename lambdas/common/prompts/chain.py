"""The kit's small prompt-chain runner: an ordered list of prompts, no orchestration framework.

A `multi-prompt` variant of prompts.yaml is a chain: each step is a template; its output becomes the variable
named after the step for the steps after it; the last step's output is the answer. A single-prompt variant is a
chain of one step. The model call is injected, so the Api's handler and tools/prompt_eval.py pass a Bedrock
Converse call and the tests pass a fake:

    invoke(prompt_text, system, inference) -> (text, usage)

``usage`` is a `Usage` or Converse's own ``usage`` mapping (``inputTokens``, ``outputTokens``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from common.prompts.contract import Inference, StoredPrompt, TaskPrompts
from common.prompts.template import TemplateError, placeholders, render


@dataclass(frozen=True)
class Usage:
    """Tokens of one call, or summed over a chain."""

    input_tokens: int = 0
    output_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(self.input_tokens + other.input_tokens, self.output_tokens + other.output_tokens)

    @classmethod
    def of(cls, usage: Usage | Mapping[str, int]) -> Usage:
        """A `Usage` as given, or from Converse's ``usage`` (``inputTokens``, ``outputTokens``)."""
        if isinstance(usage, Usage):
            return usage
        return cls(int(usage.get("inputTokens", 0)), int(usage.get("outputTokens", 0)))


Invoke = Callable[[str, str | None, Inference], tuple[str, Usage | Mapping[str, int]]]


@dataclass(frozen=True)
class ChainStep:
    """One prompt of a chain: its name (the variable its output becomes), its template, optional system text and
    inference settings (the chain's default when None)."""

    name: str
    template: str
    system: str | None = None
    inference: Inference | None = None


@dataclass(frozen=True)
class StepResult:
    name: str
    prompt: str  # the rendered prompt sent to the model
    output: str
    usage: Usage
    latency_ms: float


@dataclass(frozen=True)
class ChainResult:
    text: str  # the last step's output: the answer
    steps: tuple[StepResult, ...]
    usage: Usage  # summed over the steps
    latency_ms: float  # wall time of the whole chain, model calls included
    outputs: Mapping[str, str] = field(default_factory=dict)  # step name -> output, in order


class ChainError(ValueError):
    """A chain that cannot run: no step, a step name that hides a variable, or a template that does not render."""


def check_chain(steps: Sequence[ChainStep], variables: Mapping[str, str]) -> None:
    """Every step renders from the variables and the outputs of the steps before it (checked before any call,
    so a broken chain costs no tokens)."""
    if not steps:
        raise ChainError("a chain needs at least one step")
    known = set(variables)
    for index, step in enumerate(steps):
        try:
            used = placeholders(step.template) + placeholders(step.system or "")
        except TemplateError as exc:
            raise ChainError(f"step {step.name}: {exc}") from None
        missing = [name for name in used if name not in known]
        if missing:
            raise ChainError(f"step {step.name}: no value for {', '.join(dict.fromkeys(missing))}")
        if index < len(steps) - 1:
            if step.name in known:
                raise ChainError(f"step {step.name}: its output would hide the variable of the same name")
            known.add(step.name)


def run_chain(
    steps: Sequence[ChainStep],
    variables: Mapping[str, str],
    invoke: Invoke,
    *,
    inference: Inference | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> ChainResult:
    """Run ``steps`` in order; return the final text, each step's output, summed usage and latency.

    ``inference`` applies to a step that sets none. The chain is checked first (`check_chain`): a missing variable
    raises `ChainError` before the first model call.
    """
    check_chain(steps, variables)
    default = inference or Inference()
    values = dict(variables)
    results: list[StepResult] = []
    started = clock()
    for step in steps:
        prompt = render(step.template, values)
        system = render(step.system, values) if step.system is not None else None
        call_started = clock()
        text, usage = invoke(prompt, system, step.inference or default)
        results.append(StepResult(step.name, prompt, text, Usage.of(usage), (clock() - call_started) * 1000))
        values[step.name] = text
    total = Usage()
    for result in results:
        total += result.usage
    return ChainResult(
        text=results[-1].output,
        steps=tuple(results),
        usage=total,
        latency_ms=(clock() - started) * 1000,
        outputs={result.name: result.output for result in results},
    )


def chain_steps(task: TaskPrompts, fetch: Callable[[str], StoredPrompt]) -> list[ChainStep]:
    """The steps of a task's selected variant, each prompt version read with ``fetch`` (a cached GetPrompt and
    `common.prompts.contract.stored_prompt`). A single prompt is a chain of one step named after the task."""
    return [
        ChainStep(
            name=ref.step or task.task,
            template=stored.template,
            system=stored.system,
            inference=stored.inference if stored.inference.model_dump(exclude_none=True) else task.inference,
        )
        for ref in task.prompts
        for stored in [fetch(ref.version_arn)]
    ]
