"""The serving contract (`TaskPrompts`) and a GetPrompt response read into a template, checked against botocore's
model of bedrock-agent so the shape is AWS's, not a guess."""

from __future__ import annotations

import botocore.session
import pytest
from botocore.stub import Stubber
from common.prompts.contract import Inference, PromptRef, TaskPrompts, stored_prompt
from pydantic import ValidationError

ARN = "arn:aws:bedrock:eu-west-1:111122223333:prompt/ABCDEFGHIJ"


def _get_prompt(variant: dict) -> dict:
    """A GetPrompt response of version 3 holding ``variant``, validated by botocore's Stubber."""
    client = botocore.session.get_session().create_client("bedrock-agent", region_name="eu-west-1")
    response = {
        "name": "journey-customer-retention-dev-answer-few-shot",
        "id": "ABCDEFGHIJ",
        "arn": f"{ARN}:3",
        "version": "3",
        "createdAt": "2026-01-01T00:00:00Z",
        "updatedAt": "2026-01-01T00:00:00Z",
        "variants": [variant],
    }
    with Stubber(client) as stub:
        stub.add_response("get_prompt", response, {"promptIdentifier": f"{ARN}:3"})
        return client.get_prompt(promptIdentifier=f"{ARN}:3")


def test_a_text_prompt_reads_into_template_and_inference():
    response = _get_prompt(
        {
            "name": "few-shot",
            "templateType": "TEXT",
            "templateConfiguration": {"text": {"text": "Q: {{question}}", "inputVariables": [{"name": "question"}]}},
            "modelId": "global.anthropic.claude-haiku-4-5-20251001-v1:0",
            "inferenceConfiguration": {"text": {"temperature": 0.2, "maxTokens": 400}},
        }
    )
    stored = stored_prompt(response)
    assert stored.template == "Q: {{question}}"
    assert stored.system is None
    assert stored.inference == Inference(temperature=0.2, max_tokens=400)
    assert stored.inference.converse() == {"temperature": 0.2, "maxTokens": 400}
    assert stored.model_id == "global.anthropic.claude-haiku-4-5-20251001-v1:0"


def test_a_chat_prompt_reads_its_system_block_and_user_message():
    response = _get_prompt(
        {
            "name": "few-shot",
            "templateType": "CHAT",
            "templateConfiguration": {
                "chat": {
                    "system": [{"text": "You classify."}],
                    "messages": [{"role": "user", "content": [{"text": "Notes: {{notes}}"}]}],
                    "inputVariables": [{"name": "notes"}],
                }
            },
            "modelId": "anthropic.claude-haiku-4-5-20251001-v1:0",
        }
    )
    stored = stored_prompt(response)
    assert (stored.template, stored.system, stored.inference) == ("Notes: {{notes}}", "You classify.", Inference())


@pytest.mark.parametrize(
    ("response", "message"),
    [
        ({"variants": []}, "expected one variant"),
        ({"variants": [{"templateType": "AUDIO"}]}, "unsupported template type"),
        (
            {"variants": [{"templateType": "CHAT", "templateConfiguration": {"chat": {"messages": [], "system": []}}}]},
            "one user message",
        ),
    ],
)
def test_a_prompt_in_another_shape_is_refused(response, message):
    with pytest.raises(ValueError, match=message):
        stored_prompt(response)


def test_the_contract_round_trips_and_checks_the_version_arns():
    task = TaskPrompts(
        task="classify",
        variant="few-shot",
        technique="few-shot",
        model_id="m",
        variables=["notes"],
        prompts=[PromptRef(version_arn=f"{ARN}:12")],
    )
    assert TaskPrompts.model_validate_json(task.model_dump_json()) == task
    with pytest.raises(ValidationError):
        PromptRef(version_arn=ARN)  # the prompt, not a version
    with pytest.raises(ValidationError):
        TaskPrompts.model_validate({**task.model_dump(), "technique": "zero-shot"})
    with pytest.raises(ValidationError):
        TaskPrompts.model_validate({**task.model_dump(), "prompts": []})


@pytest.mark.parametrize(
    "settings", [{"temperature": 1.5}, {"top_p": -0.1}, {"max_tokens": 0}, {"max_tokens": 512_001}, {"seed": 1}]
)
def test_inference_bounds(settings):
    with pytest.raises(ValidationError):
        Inference.model_validate(settings)
