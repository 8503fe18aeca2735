"""agent: InvokeAgent chunks as deltas, citations from the attributions, the derived session, trace only when set."""

from __future__ import annotations

import pytest
from api.architectures.agent import agent_session_id
from api.pipeline import ChatError, Citation, Citations, Delta, Done

from tests.lambdas.api.bedrock_fakes import Error
from tests.lambdas.api.chat_world import api_settings, request, world

POLICY_URI = "s3://journey-dev-curated/policies/retention.md"
POLICY = "Customers with 24 or more months of tenure may be offered one free month when they ask to cancel."


def _chunk(text: str, *, cite: bool = False) -> dict:
    chunk: dict = {"bytes": text.encode()}
    if cite:
        chunk["attribution"] = {
            "citations": [
                {
                    "generatedResponsePart": {
                        "textResponsePart": {"text": "one free month", "span": {"start": 0, "end": 13}}
                    },
                    "retrievedReferences": [
                        {"content": {"text": POLICY}, "location": {"type": "S3", "s3Location": {"uri": POLICY_URI}}}
                    ],
                }
            ]
        }
    return {"chunk": chunk}


def test_chunks_stream_as_deltas_with_citations_from_attributions():
    w = world()
    w.agent.on(
        "InvokeAgent",
        lambda p: [
            _chunk("They qualify for one free month. ", cite=True),
            _chunk("Approval is not needed.", cite=True),
        ],
    )

    events = list(w.pipeline.stream(request("Does a 3-year customer get a free month?", "agent")))

    assert events[:3] == [
        Delta("They qualify for one free month. "),
        Delta("Approval is not needed."),
        Citations((Citation(POLICY_URI, POLICY),)),
    ]
    assert isinstance(events[3], Done)
    (call,) = w.agent.params("InvokeAgent")
    assert call["agentId"] == "AGENT12345"
    assert call["agentAliasId"] == "ALIAS12345"
    assert call["enableTrace"] is False
    assert call["inputText"] == "Does a 3-year customer get a free month?"
    # sha256("user-7\x00session-42"), computed independently
    assert call["sessionId"] == "e832b4a2c647e306f5393490964ccc83b384aadc5622a1d3e74f41bd464d4430"
    assert call["streamingConfigurations"] == {"streamFinalResponse": True}


def test_session_id_is_stable_per_conversation_and_differs_between_users():
    assert agent_session_id("user-7", "session-42") == agent_session_id("user-7", "session-42")
    assert agent_session_id("user-7", "session-42") != agent_session_id("user-8", "session-42")
    assert agent_session_id("a", "b") == "59b271ae1bbcb1d31d41929817f4b16fb439eb4f31520b5ad1d5ce98920a7138"


def test_trace_only_when_configured_and_usage_read_from_it():
    w = world(settings=api_settings(agent_trace=True))
    trace = {
        "agentId": "AGENT12345",
        "trace": {
            "orchestrationTrace": {
                "modelInvocationOutput": {"metadata": {"usage": {"inputTokens": 812, "outputTokens": 64}}}
            }
        },
    }
    w.agent.on("InvokeAgent", lambda p: [{"trace": trace}, _chunk("Yes.")])

    answer = w.pipeline.answer(request("Does a 3-year customer get a free month?", "agent"))

    assert w.agent.params("InvokeAgent")[0]["enableTrace"] is True
    assert (answer.usage.input_tokens, answer.usage.output_tokens) == (812, 64)
    assert answer.guardrail_action is None


def test_without_trace_usage_is_estimated():
    w = world()
    w.agent.on("InvokeAgent", lambda p: [_chunk("Yes, one month.")])
    answer = w.pipeline.answer(request("Free month?", "agent"))
    # ceil(bytes / 4): "Free month?" 11 bytes -> 3; "Yes, one month." 15 bytes -> 4
    assert (answer.usage.input_tokens, answer.usage.output_tokens) == (3, 4)


def test_a_multibyte_character_split_across_chunks_is_decoded_whole():
    w = world()
    euro = "€".encode()
    w.agent.on(
        "InvokeAgent",
        lambda p: [{"chunk": {"bytes": b"It costs 5 " + euro[:1]}}, {"chunk": {"bytes": euro[1:] + b"."}}],
    )
    answer = w.pipeline.answer(request("Price?", "agent"))
    assert answer.text == "It costs 5 €."


@pytest.mark.parametrize(
    ("event", "code"),
    [("throttlingException", "MODEL_THROTTLED"), ("serviceQuotaExceededException", "MODEL_THROTTLED"),
     ("dependencyFailedException", "MODEL_ERROR"), ("conflictException", "SESSION_BUSY")],
)  # fmt: skip
def test_stream_exceptions_map_to_chat_errors(event, code):
    w = world()
    w.agent.on("InvokeAgent", lambda p: [_chunk("Part"), Error(event, "failure")])
    with pytest.raises(ChatError) as caught:
        w.pipeline.answer(request("Free month?", "agent"))
    assert caught.value.code == code
