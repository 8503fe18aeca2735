"""ApplyGuardrail (bedrock-runtime API model, botocore Stubber): the masked text built from several outputs,
outputs and regexes that leave optional fields out, the input and output sources, and exact verdict values.
"""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber
from common.safety.guardrail import apply_guardrail
from common.safety.policy import GuardrailSettings

SETTINGS = GuardrailSettings(identifier="abc123def456", version="3", apply_on_input=True, apply_on_output=True)
USAGE = {"topicPolicyUnits": 1, "contentPolicyUnits": 1, "wordPolicyUnits": 1,
         "sensitiveInformationPolicyUnits": 1, "sensitiveInformationPolicyFreeUnits": 0,
         "contextualGroundingPolicyUnits": 0}  # fmt: skip


@pytest.fixture
def runtime():
    client = boto3.client("bedrock-runtime", region_name="eu-west-1")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def _request(text: str, source: str) -> dict:
    return {"guardrailIdentifier": "abc123def456", "guardrailVersion": "3", "source": source,
            "content": [{"text": {"text": text}}]}  # fmt: skip


def _intervened(outputs: list[dict], *assessments: dict) -> dict:
    return {"usage": USAGE, "action": "GUARDRAIL_INTERVENED", "outputs": outputs, "assessments": list(assessments)}


PII_ANONYMIZED = {
    "sensitiveInformationPolicy": {
        "piiEntities": [{"match": "Jane Doe", "type": "NAME", "action": "ANONYMIZED"}],
        "regexes": [],
    }
}


def test_several_outputs_are_joined_as_they_come(runtime):
    client, stubber = runtime
    text = "Ask Jane Doe. Or Jane Doe."
    stubber.add_response(
        "apply_guardrail",
        _intervened([{"text": "Ask {NAME}."}, {"text": " Or {NAME}."}], PII_ANONYMIZED),
        _request(text, "OUTPUT"),
    )
    result = apply_guardrail(text, "OUTPUT", SETTINGS, client)
    assert result.blocked is False
    assert result.text == "Ask {NAME}. Or {NAME}."
    assert (result.check, result.cause, result.reasons) == ("guardrail", "guardrail", ("pii:NAME:anonymized",))


def test_an_output_without_text_contributes_nothing(runtime):
    client, stubber = runtime
    stubber.add_response(
        "apply_guardrail", _intervened([{"text": "Hi {NAME}"}, {}], PII_ANONYMIZED), _request("Hi Jane Doe", "INPUT")
    )
    result = apply_guardrail("Hi Jane Doe", "INPUT", SETTINGS, client)
    assert result.text == "Hi {NAME}"
    assert result.blocked is False


def test_only_an_output_without_text_masks_to_empty_not_a_block(runtime):
    client, stubber = runtime
    stubber.add_response("apply_guardrail", _intervened([{}], PII_ANONYMIZED), _request("Jane Doe", "OUTPUT"))
    result = apply_guardrail("Jane Doe", "OUTPUT", SETTINGS, client)
    assert (result.blocked, result.text) == (False, "")


def test_a_regex_without_a_name_is_reported_as_regex(runtime):
    client, stubber = runtime
    stubber.add_response(
        "apply_guardrail",
        _intervened(
            [{"text": "Blocked."}],
            {"sensitiveInformationPolicy": {"piiEntities": [], "regexes": [{"match": "K-1234", "action": "BLOCKED"}]}},
        ),
        _request("Contract K-1234", "INPUT"),
    )
    result = apply_guardrail("Contract K-1234", "INPUT", SETTINGS, client)
    assert result.blocked is True
    assert result.reasons == ("regex:regex",)
    assert result.text is None


def test_an_anonymized_regex_without_a_name(runtime):
    client, stubber = runtime
    stubber.add_response(
        "apply_guardrail",
        _intervened(
            [{"text": "Contract {regex}"}],
            {"sensitiveInformationPolicy": {"piiEntities": [], "regexes": [{"action": "ANONYMIZED"}]}},
        ),
        _request("Contract K-1234", "OUTPUT"),
    )
    result = apply_guardrail("Contract K-1234", "OUTPUT", SETTINGS, client)
    assert (result.blocked, result.reasons, result.text) == (False, ("regex:regex:anonymized",), "Contract {regex}")


def test_no_intervention_passes_with_nothing_rewritten(runtime):
    client, stubber = runtime
    stubber.add_response(
        "apply_guardrail",
        {"usage": USAGE, "action": "NONE", "outputs": [], "assessments": []},
        _request("Plan A costs 10 EUR.", "OUTPUT"),
    )
    result = apply_guardrail("Plan A costs 10 EUR.", "OUTPUT", SETTINGS, client)
    assert (result.check, result.cause, result.blocked, result.reasons, result.text) == (
        "guardrail", "guardrail", False, (), None
    )  # fmt: skip


def test_grounding_scores_are_kept_when_the_answer_passes(runtime):
    """Grounding filters that did not act still report their scores; an intervention elsewhere that only
    anonymized keeps the answer."""
    client, stubber = runtime
    grounding = {
        "contextualGroundingPolicy": {
            "filters": [
                {"type": "GROUNDING", "threshold": 0.5, "score": 0.81, "action": "NONE"},
                {"type": "RELEVANCE", "threshold": 0.5, "score": 0.77, "action": "NONE"},
            ]
        }
    }
    stubber.add_response(
        "apply_guardrail",
        _intervened([{"text": "{NAME} pays 10 EUR."}], PII_ANONYMIZED, grounding),
        {
            "guardrailIdentifier": "abc123def456",
            "guardrailVersion": "3",
            "source": "OUTPUT",
            "content": [
                {"text": {"text": "Jane Doe pays 10 EUR.", "qualifiers": ["grounding_source"]}},
                {"text": {"text": "Jane Doe pays 10 EUR.", "qualifiers": ["guard_content"]}},
            ],
        },
    )
    result = apply_guardrail(
        "Jane Doe pays 10 EUR.", "OUTPUT", SETTINGS, client, grounding_source=["Jane Doe pays 10 EUR."]
    )
    assert result.blocked is False
    assert result.reasons == ("pii:NAME:anonymized",)
    assert result.scores == {"grounding:GROUNDING": 0.81, "grounding:RELEVANCE": 0.77}
    assert result.text == "{NAME} pays 10 EUR."


def test_the_same_finding_is_reported_per_source(runtime):
    """Input and output are separate calls: the source is sent as given and each verdict stands alone."""
    client, stubber = runtime
    topic = {"topicPolicy": {"topics": [{"name": "Investment advice", "type": "DENY", "action": "BLOCKED"}]}}
    stubber.add_response("apply_guardrail", _intervened([{"text": "No."}], topic), _request("buy stocks?", "INPUT"))
    stubber.add_response(
        "apply_guardrail", _intervened([{"text": "No."}], PII_ANONYMIZED), _request("Jane Doe says buy", "OUTPUT")
    )
    asked = apply_guardrail("buy stocks?", "INPUT", SETTINGS, client)
    answered = apply_guardrail("Jane Doe says buy", "OUTPUT", SETTINGS, client)
    assert (asked.blocked, asked.reasons, asked.text) == (True, ("topic:Investment advice",), None)
    assert (answered.blocked, answered.reasons, answered.text) == (False, ("pii:NAME:anonymized",), "No.")


def test_needs_an_identifier_exact_message():
    with pytest.raises(ValueError, match=r"^no guardrail identifier configured$"):
        apply_guardrail("x", "OUTPUT", GuardrailSettings(), None)


def test_findings_that_did_not_act_leave_the_verdict_false_not_unset(runtime):
    """Intervened with findings whose action is NONE and a rewritten text: a pass, with ``blocked`` False."""
    client, stubber = runtime
    detected = {
        "contentPolicy": {"filters": [{"type": "INSULTS", "confidence": "LOW", "action": "NONE"}]},
        "topicPolicy": {"topics": [{"name": "Investment advice", "type": "DENY", "action": "NONE"}]},
    }
    stubber.add_response("apply_guardrail", _intervened([{"text": "as is"}], detected), _request("as is", "INPUT"))
    result = apply_guardrail("as is", "INPUT", SETTINGS, client)
    assert result.blocked is False
    assert (result.reasons, result.text) == ((), "as is")
