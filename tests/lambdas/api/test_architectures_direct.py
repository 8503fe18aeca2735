"""direct: the ConverseStream request (guardrail in sync mode, the task's rendered prompt), a guardrail that
intervenes mid-stream, and Bedrock errors as ChatError."""

from __future__ import annotations

import pytest
from api.architectures.errors import chat_error
from api.pipeline import Blocked, ChatError, Delta, Done
from botocore.exceptions import ClientError

from tests.lambdas.api.bedrock_fakes import Error
from tests.lambdas.api.chat_world import ANSWER_ARN, MODEL, Turn, end_events, request, text_events, world

BLOCKED_TRACE = {
    "guardrail": {
        "outputAssessments": {
            "gr12345abcde": [
                {"contentPolicy": {"filters": [{"type": "VIOLENCE", "confidence": "HIGH", "action": "BLOCKED"}]}}
            ]
        }
    }
}


def test_request_carries_the_guardrail_in_sync_mode_and_the_rendered_task_prompt():
    w = world()
    w.runtime.on("ConverseStream", lambda p: [*text_events("Fine."), *end_events()])
    history = (Turn("user", "Hello"), Turn("assistant", "Hi, how can I help?"))

    w.pipeline.answer(request("Can I offer {{x}} a free month?", task="answer", history=history))

    (call,) = w.runtime.params("ConverseStream")
    assert call["modelId"] == MODEL
    assert call["guardrailConfig"] == {
        "guardrailIdentifier": "gr12345abcde",
        "guardrailVersion": "4",
        "trace": "enabled",
        "streamProcessingMode": "sync",
    }
    assert call["inferenceConfig"] == {"temperature": 0.2, "maxTokens": 400}
    assert call["system"][0] == {"text": "You are a policy assistant."}
    assert [m["role"] for m in call["messages"]] == ["user", "assistant", "user"]
    prompt = call["messages"][2]["content"][0]["text"]
    assert prompt.startswith("Passages:\n(none)\nQuestion: <user_input_")
    assert "Can I offer { {x} } a free month?" in prompt  # sanitized: template delimiters broken up
    assert prompt.endswith("\nAnswer:")


def test_guardrail_intervening_mid_stream_blocks_after_the_sentences_already_sent():
    w = world()
    w.runtime.on(
        "ConverseStream",
        lambda p: [
            *text_events("Our policy allows one free month. ", "Sorry, the model cannot answer this question."),
            *end_events("guardrail_intervened", input_tokens=40, output_tokens=15, trace=BLOCKED_TRACE),
        ],
    )

    events = list(w.pipeline.stream(request("Tell me about offers", task="answer")))

    assert events[:2] == [Delta("Our policy allows one free month. "), Blocked("OUTPUT_BLOCKED", "guardrail", "output")]
    done = events[2]
    assert isinstance(done, Done)
    assert done.answer.guardrail_action == "INTERVENED"
    assert (done.answer.usage.input_tokens, done.answer.usage.output_tokens) == (40, 15)
    assert done.answer.prompt_version == ANSWER_ARN
    assert len(events) == 3


def test_guardrail_that_only_masked_pii_is_not_a_block():
    w = world()
    trace = {
        "guardrail": {
            "outputAssessments": {
                "gr12345abcde": [
                    {
                        "sensitiveInformationPolicy": {
                            "piiEntities": [{"match": "x", "type": "EMAIL", "action": "ANONYMIZED"}],
                            "regexes": [],
                        }
                    }
                ]
            }
        }
    }
    w.runtime.on(
        "ConverseStream",
        lambda p: [*text_events("Write to {EMAIL}."), *end_events("guardrail_intervened", trace=trace)],
    )

    answer = w.pipeline.answer(request("Who do I write to?"))

    assert answer.blocked is None
    assert answer.text == "Write to {EMAIL}."
    assert answer.guardrail_action == "INTERVENED"


def test_guardrail_blocking_the_input_inside_the_model_call_is_an_input_block():
    w = world()
    trace = {"guardrail": {"inputAssessment": {"gr12345abcde": {"topicPolicy": {"topics": [
        {"name": "Investment advice", "type": "DENY", "action": "BLOCKED"}]}}}}}  # fmt: skip
    w.runtime.on(
        "ConverseStream",
        lambda p: [*text_events("Sorry, I cannot help with that."), *end_events("guardrail_intervened", trace=trace)],
    )

    answer = w.pipeline.answer(request("Which stock should I buy?"))

    assert answer.blocked == Blocked("INPUT_BLOCKED", "guardrail", "input")
    assert answer.text == ""


def test_throttling_inside_the_stream_is_a_429():
    w = world()
    w.runtime.on(
        "ConverseStream",
        lambda p: [
            *text_events("Partial"),
            Error(
                "modelStreamErrorException",
                "Too many requests, please wait before trying again.",
                fields={"originalStatusCode": 429, "originalMessage": "rate exceeded"},
            ),
        ],
    )
    with pytest.raises(ChatError) as caught:
        w.pipeline.answer(request("Hello there"))
    assert (caught.value.code, caught.value.status, caught.value.retry_after) == ("MODEL_THROTTLED", 429, 5)


def test_a_throttling_event_inside_the_stream_is_a_429():
    w = world()
    w.runtime.on("ConverseStream", lambda p: [*text_events("Partial"), Error("throttlingException", "Rate exceeded")])
    with pytest.raises(ChatError) as caught:
        w.pipeline.answer(request("Hello there"))
    assert caught.value.code == "MODEL_THROTTLED"


def test_validation_exception_is_a_400_model_rejected_input():
    w = world()
    w.runtime.on("ConverseStream", lambda p: Error("ValidationException", "Input is too long for the model"))
    with pytest.raises(ChatError) as caught:
        w.pipeline.answer(request("Hello there"))
    assert (caught.value.code, caught.value.status) == ("MODEL_REJECTED_INPUT", 400)


def _client_error(code: str, message: str = "m", headers: dict | None = None) -> ClientError:
    response = {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPHeaders": headers or {}}}
    return ClientError(response, "ConverseStream")


@pytest.mark.parametrize(
    ("code", "message", "expected"),
    [
        ("ThrottlingException", "Rate exceeded", ("MODEL_THROTTLED", 429, 5)),
        ("ServiceQuotaExceededException", "Tokens per minute", ("MODEL_THROTTLED", 429, 60)),
        ("modelStreamErrorException", "Too many requests", ("MODEL_THROTTLED", 429, 5)),
        ("modelStreamErrorException", "Decoder crashed", ("MODEL_ERROR", 502, None)),
        ("ValidationException", "bad", ("MODEL_REJECTED_INPUT", 400, None)),
        ("validationException", "bad", ("MODEL_REJECTED_INPUT", 400, None)),
        ("ConflictException", "busy", ("SESSION_BUSY", 409, None)),
        ("ServiceUnavailableException", "down", ("MODEL_UNAVAILABLE", 503, 5)),
        ("ModelNotReadyException", "warming", ("MODEL_UNAVAILABLE", 503, 5)),
        ("ModelTimeoutException", "slow", ("MODEL_UNAVAILABLE", 503, 5)),
        ("AccessDeniedException", "no access", ("MODEL_MISCONFIGURED", 502, None)),
        ("ResourceNotFoundException", "gone", ("MODEL_MISCONFIGURED", 502, None)),
        ("ModelErrorException", "oops", ("MODEL_ERROR", 502, None)),
        ("InternalServerException", "oops", ("MODEL_ERROR", 502, None)),
        ("SomethingNew", "oops", ("MODEL_ERROR", 502, None)),
    ],
)
def test_error_table(code, message, expected):
    error = chat_error(_client_error(code, message))
    assert (error.code, error.status, error.retry_after) == expected
    assert message not in error.message


def test_retry_after_header_wins():
    error = chat_error(_client_error("ThrottlingException", headers={"retry-after": "17"}))
    assert error.retry_after == 17
