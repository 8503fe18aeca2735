"""Edges of reading a GetPrompt response (`stored_prompt`) and of `Inference.converse`: CHAT templates of several
content blocks (text and cache points), a missing system block, topP, and the exact error messages.

Responses that AWS can return are built through botocore's Stubber so their shape is bedrock-agent's; malformed
ones (which botocore would refuse) are plain dicts."""

from __future__ import annotations

import re

import pytest
from common.prompts.contract import Inference, stored_prompt

from tests.lambdas.common.prompts.test_contract import _get_prompt

MODEL = "global.anthropic.claude-haiku-4-5-20251001-v1:0"


def _chat(chat: dict, **extra) -> dict:
    return {
        "name": "few-shot",
        "templateType": "CHAT",
        "templateConfiguration": {"chat": chat},
        "modelId": MODEL,
        **extra,
    }


# --- Inference.converse --------------------------------------------------------------------------------------


def test_converse_names_top_p_topP():
    assert Inference(top_p=0.9).converse() == {"topP": 0.9}


def test_converse_maps_every_setting_at_its_bounds():
    assert Inference(temperature=1, top_p=0, max_tokens=512_000).converse() == {
        "temperature": 1,
        "topP": 0,
        "maxTokens": 512_000,
    }


# --- stored_prompt: inference ----------------------------------------------------------------------------------


def test_top_p_is_read_from_the_inference_configuration():
    response = _get_prompt(
        {
            "name": "few-shot",
            "templateType": "TEXT",
            "templateConfiguration": {"text": {"text": "Q: {{question}}"}},
            "modelId": MODEL,
            "inferenceConfiguration": {"text": {"temperature": 0.2, "topP": 0.75, "maxTokens": 400}},
        }
    )
    prompt = stored_prompt(response)
    assert prompt.inference == Inference(temperature=0.2, top_p=0.75, max_tokens=400)
    assert prompt.inference.converse() == {"temperature": 0.2, "topP": 0.75, "maxTokens": 400}


# --- stored_prompt: CHAT templates -----------------------------------------------------------------------------


def test_chat_content_blocks_are_concatenated_without_separator_and_cache_points_skipped():
    response = _get_prompt(
        _chat(
            {
                "system": [{"text": "You answer "}, {"cachePoint": {"type": "default"}}, {"text": "briefly."}],
                "messages": [
                    {
                        "role": "user",
                        "content": [
                            {"text": "Context: {{context}}\n"},
                            {"cachePoint": {"type": "default"}},
                            {"text": "Q: {{question}}"},
                        ],
                    }
                ],
            }
        )
    )
    prompt = stored_prompt(response)
    assert prompt.template == "Context: {{context}}\nQ: {{question}}"
    assert prompt.system == "You answer briefly."
    assert prompt.model_id == MODEL


def test_chat_without_a_system_block_has_no_system_text():
    response = _get_prompt(_chat({"messages": [{"role": "user", "content": [{"text": "Q: {{question}}"}]}]}))
    prompt = stored_prompt(response)
    assert prompt.template == "Q: {{question}}"
    assert prompt.system is None
    assert prompt.inference == Inference()


def test_chat_without_messages_is_refused_with_its_message():
    response = {"variants": [{"templateType": "CHAT", "templateConfiguration": {"chat": {"system": [{"text": "s"}]}}}]}
    with pytest.raises(ValueError, match=r"^expected a CHAT template of one user message$"):
        stored_prompt(response)


def test_chat_of_one_assistant_message_is_refused_with_its_message():
    response = _get_prompt(_chat({"messages": [{"role": "assistant", "content": [{"text": "A"}]}]}))
    with pytest.raises(ValueError, match=r"^expected a CHAT template of one user message$"):
        stored_prompt(response)


# --- stored_prompt: malformed variants -------------------------------------------------------------------------


def test_unsupported_template_type_names_the_type():
    with pytest.raises(ValueError, match=re.escape("unsupported template type 'JSON'") + "$"):
        stored_prompt({"variants": [{"templateType": "JSON", "templateConfiguration": {}}]})


def test_missing_template_type_is_reported_as_none():
    with pytest.raises(ValueError, match=r"^unsupported template type None$"):
        stored_prompt({"variants": [{"templateConfiguration": {"text": {"text": "x"}}}]})


@pytest.mark.parametrize(("template_type", "missing_key"), [("TEXT", "text"), ("CHAT", "chat")])
def test_a_variant_without_template_configuration_misses_its_key(template_type, missing_key):
    """No templateConfiguration reads as an empty one, so the missing key is named (a KeyError, not a TypeError)."""
    with pytest.raises(KeyError) as raised:
        stored_prompt({"variants": [{"templateType": template_type}]})
    assert raised.value.args == (missing_key,)


@pytest.mark.parametrize("count", [0, 2])
def test_variant_count_other_than_one_is_refused(count):
    variant = {"templateType": "TEXT", "templateConfiguration": {"text": {"text": "x"}}}
    with pytest.raises(ValueError, match=f"^expected one variant, got {count}$"):
        stored_prompt({"variants": [variant] * count})
