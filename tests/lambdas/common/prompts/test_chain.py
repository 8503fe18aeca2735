"""`run_chain` with a fake model call: order, variables between steps, usage, latency, and failing before any call."""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from common.prompts.chain import ChainError, ChainStep, Usage, chain_steps, run_chain
from common.prompts.contract import Inference, PromptRef, StoredPrompt, TaskPrompts

ARN = "arn:aws:bedrock:eu-west-1:111122223333:prompt/ABCDEFGHIJ:{}"


class FakeModel:
    """Answers each prompt with a fixed reply per call, records what it was sent, and ticks a fake clock."""

    def __init__(self, replies: list[str], usage: list[Usage | Mapping[str, int]] | None = None) -> None:
        self.replies = list(replies)
        self.usage = list(usage or [Usage(10, 2)] * len(replies))
        self.calls: list[tuple[str, str | None, Inference]] = []
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    def __call__(self, prompt: str, system: str | None, inference: Inference) -> tuple[str, Usage | Mapping[str, int]]:
        self.calls.append((prompt, system, inference))
        self.now += 0.25  # each call takes 250 ms
        return self.replies.pop(0), self.usage.pop(0)


def test_each_step_sees_the_variables_and_the_earlier_outputs_and_the_last_answers():
    model = FakeModel(["FACT A", "the answer"], [Usage(100, 5), {"inputTokens": 40, "outputTokens": 12}])
    steps = [
        ChainStep("facts", "Q={{question}} C={{context}}"),
        ChainStep("answer", "F={{facts}} Q={{question}}", system="sys for {{question}}"),
    ]
    result = run_chain(steps, {"question": "why?", "context": "ctx"}, model, clock=model.clock)
    assert [c[0] for c in model.calls] == ["Q=why? C=ctx", "F=FACT A Q=why?"]
    assert [c[1] for c in model.calls] == [None, "sys for why?"]
    assert result.text == "the answer"
    assert dict(result.outputs) == {"facts": "FACT A", "answer": "the answer"}
    assert list(result.outputs) == ["facts", "answer"]
    assert result.usage == Usage(140, 17)
    assert result.usage.total_tokens == 157
    assert [s.latency_ms for s in result.steps] == [250.0, 250.0]
    assert result.latency_ms == 500.0
    assert result.steps[1].prompt == "F=FACT A Q=why?"


def test_a_single_prompt_is_a_chain_of_one():
    model = FakeModel(["billing"])
    result = run_chain([ChainStep("classify", "Notes: {{notes}}")], {"notes": "charged twice"}, model)
    assert result.text == "billing"
    assert len(model.calls) == 1


def test_step_inference_wins_over_the_chain_default():
    model = FakeModel(["a", "b"])
    own = Inference(temperature=0.9)
    default = Inference(temperature=0.0, max_tokens=50)
    run_chain([ChainStep("x", "t", inference=own), ChainStep("y", "{{x}}")], {}, model, inference=default)
    assert [c[2] for c in model.calls] == [own, default]


def test_no_inference_at_all_passes_empty_settings():
    model = FakeModel(["a"])
    run_chain([ChainStep("x", "t")], {}, model)
    assert model.calls[0][2] == Inference()
    assert Inference().converse() == {}


@pytest.mark.parametrize(
    ("steps", "variables", "message"),
    [
        ([], {}, "at least one step"),
        ([ChainStep("a", "{{missing}}")], {}, "step a: no value for missing"),
        ([ChainStep("a", "{{b}}"), ChainStep("b", "x")], {}, "step a: no value for b"),  # a later step
        ([ChainStep("a", "x", system="{{nope}}")], {}, "step a: no value for nope"),
        ([ChainStep("q", "x"), ChainStep("b", "{{q}}")], {"q": "v"}, "step q: its output would hide"),
        ([ChainStep("a", "{{ bad }}")], {}, "step a: malformed placeholder"),
    ],
)
def test_a_broken_chain_fails_before_the_first_call(steps, variables, message):
    model = FakeModel(["never"] * 3)
    with pytest.raises(ChainError, match=message):
        run_chain(steps, variables, model)
    assert model.calls == []


def test_the_last_step_may_share_a_variable_name():
    """Its output feeds no later step, so it hides nothing (a single prompt is named after its task)."""
    model = FakeModel(["out"])
    assert run_chain([ChainStep("notes", "{{notes}}")], {"notes": "n"}, model).text == "out"


def test_chain_steps_from_the_contract_and_the_stored_prompts():
    task = TaskPrompts(
        task="answer",
        variant="extract-then-answer",
        technique="multi-prompt",
        model_id="global.anthropic.claude-haiku-4-5-20251001-v1:0",
        variables=["question"],
        prompts=[
            PromptRef(step="facts", version_arn=ARN.format(1)),
            PromptRef(step="answer", version_arn=ARN.format(2)),
        ],
        inference=Inference(temperature=0.0),
    )
    stored = {
        ARN.format(1): StoredPrompt(template="{{question}}"),
        ARN.format(2): StoredPrompt(template="{{facts}}", system="s", inference=Inference(max_tokens=9)),
    }
    steps = chain_steps(task, stored.__getitem__)
    assert steps == [
        ChainStep("facts", "{{question}}", None, Inference(temperature=0.0)),
        ChainStep("answer", "{{facts}}", "s", Inference(max_tokens=9)),
    ]
    single = task.model_copy(update={"prompts": [PromptRef(version_arn=ARN.format(1))]})
    assert [s.name for s in chain_steps(single, stored.__getitem__)] == ["answer"]
