"""multi-task: the explicit task selects the prompt; the prompt router as modelId; a multi-prompt chain."""

from __future__ import annotations

from tests.lambdas.api.chat_world import (
    FACTS_ARN,
    FINAL_ARN,
    ROUTER,
    api_settings,
    end_events,
    request,
    text_events,
    user_text,
    world,
)


def test_router_arn_is_the_model_id_when_set():
    w = world(settings=api_settings(prompt_router_arn=ROUTER))
    w.runtime.on("ConverseStream", lambda p: [*text_events("Done."), *end_events()])
    w.pipeline.answer(request("Summarize", "multi-task", task="answer"))
    assert w.runtime.params("ConverseStream")[0]["modelId"] == ROUTER


def _converse(text: str, inputs: int, outputs: int) -> dict:
    return {
        "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
        "stopReason": "end_turn",
        "usage": {"inputTokens": inputs, "outputTokens": outputs, "totalTokens": inputs + outputs},
        "metrics": {"latencyMs": 100},
    }


def test_multi_prompt_variant_runs_as_a_chain_of_converse_calls():
    w = world()
    replies = iter([_converse("[1] one free month", 50, 6), _converse("One free month [1].", 70, 5)])
    w.runtime.on("Converse", lambda p: next(replies))

    answer = w.pipeline.answer(request("Free month?", "multi-task", task="extract"))

    first, second = w.runtime.params("Converse")
    assert user_text(first).startswith("List the facts for: <user_input_")
    assert user_text(second).startswith("Facts:\n[1] one free month\nAnswer: <user_input_")
    assert second["system"][0] == {"text": "Be brief."}
    assert first["guardrailConfig"] == {
        "guardrailIdentifier": "gr12345abcde",
        "guardrailVersion": "4",
        "trace": "enabled",
    }
    assert answer.text == "One free month [1]."
    assert (answer.usage.input_tokens, answer.usage.output_tokens) == (120, 11)
    assert answer.prompt_version == f"{FACTS_ARN},{FINAL_ARN}"
    assert answer.architecture == "multi-task"
