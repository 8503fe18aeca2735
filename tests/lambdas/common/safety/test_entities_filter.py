"""Entity deny-list: local term matching, and the custom recognizer (DetectEntities, botocore Stubber) with
entities that leave optional fields out, low scores before high ones, and blank pieces of long text.
"""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber
from common.safety.entities import check_entities, match_denied_terms
from common.safety.policy import EntitySettings

RECOGNIZER = "arn:aws:comprehend:eu-west-1:111111111111:entity-recognizer-endpoint/entities"
SETTINGS = EntitySettings(
    endpoint_arn=RECOGNIZER,
    deny_types=frozenset({"COMPETITOR"}),
    deny_terms=frozenset({"Project Bluebird"}),
    min_score=0.5,
)


@pytest.fixture
def comprehend():
    client = boto3.client("comprehend", region_name="eu-west-1")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def test_text_without_a_denied_term_passes_with_no_reason():
    result = match_denied_terms("Tell me about the new plan.", SETTINGS)
    assert (result.check, result.cause, result.blocked, result.reasons) == ("entity_terms", "entity", False, ())


def test_a_denied_term_blocks_with_reason_term():
    result = match_denied_terms("When does project BLUEBIRD ship?", SETTINGS)
    assert (result.check, result.cause, result.blocked, result.reasons) == ("entity_terms", "entity", True, ("term",))


def test_an_entity_whose_text_is_a_denied_term_blocks_as_term(comprehend):
    client, stubber = comprehend
    text = "Ask about Project Bluebird."
    stubber.add_response(
        "detect_entities",
        {"Entities": [{"Type": "INTERNAL_PROJECT", "Score": 0.9, "Text": "PROJECT bluebird"}]},
        {"Text": text, "EndpointArn": RECOGNIZER},
    )
    result = check_entities(text, SETTINGS, client)
    assert (result.check, result.cause, result.blocked, result.reasons) == ("entities", "entity", True, ("term",))


def test_a_denied_type_and_a_denied_term_give_both_reasons(comprehend):
    client, stubber = comprehend
    stubber.add_response(
        "detect_entities",
        {
            "Entities": [
                {"Type": "INTERNAL_PROJECT", "Score": 0.9, "Text": "Project Bluebird"},
                {"Type": "COMPETITOR", "Score": 0.9, "Text": "Acme"},
            ]
        },
    )
    assert check_entities("Acme and Project Bluebird", SETTINGS, client).reasons == ("term", "type:COMPETITOR")


def test_nothing_denied_passes(comprehend):
    client, stubber = comprehend
    stubber.add_response("detect_entities", {"Entities": [{"Type": "PRODUCT", "Score": 0.99, "Text": "Plan A"}]})
    result = check_entities("Plan A please", SETTINGS, client)
    assert (result.check, result.cause, result.blocked, result.reasons) == ("entities", "entity", False, ())


def test_a_low_score_entity_does_not_hide_the_ones_after_it(comprehend):
    client, stubber = comprehend
    stubber.add_response(
        "detect_entities",
        {
            "Entities": [
                {"Type": "COMPETITOR", "Score": 0.2, "Text": "Globex"},
                {"Type": "COMPETITOR", "Score": 0.8, "Text": "Acme"},
            ]
        },
    )
    assert check_entities("Globex or Acme?", SETTINGS, client).reasons == ("type:COMPETITOR",)


def test_an_entity_without_a_score_does_not_count(comprehend):
    client, stubber = comprehend
    stubber.add_response("detect_entities", {"Entities": [{"Type": "COMPETITOR", "Text": "Acme"}]})
    result = check_entities("Acme?", SETTINGS, client)
    assert result.blocked is False
    assert result.reasons == ()


def test_an_entity_without_a_type_or_text_matches_nothing_denied(comprehend):
    """A missing Type or Text is never read as the string "None" (a type or term a use case may deny)."""
    client, stubber = comprehend
    settings = EntitySettings(
        endpoint_arn=RECOGNIZER, deny_types=frozenset({"None"}), deny_terms=frozenset({"none"}), min_score=0.5
    )
    stubber.add_response("detect_entities", {"Entities": [{"Score": 0.9}]})
    result = check_entities("none of that", settings, client)
    assert result.blocked is False
    assert result.reasons == ()


def test_a_response_without_entities_passes(comprehend):
    client, stubber = comprehend
    stubber.add_response("detect_entities", {})
    assert check_entities("hello", SETTINGS, client).blocked is False


def test_blank_pieces_of_long_text_are_skipped_and_the_rest_is_read(comprehend):
    client, stubber = comprehend
    text = " " * 100_000 + "Is Acme cheaper?"  # the first 100,000-byte piece is blank
    stubber.add_response(
        "detect_entities",
        {"Entities": [{"Type": "COMPETITOR", "Score": 0.95, "Text": "Acme"}]},
        {"Text": "Is Acme cheaper?", "EndpointArn": RECOGNIZER},
    )
    assert check_entities(text, SETTINGS, client).reasons == ("type:COMPETITOR",)


def test_the_recognizer_needs_its_endpoint():
    with pytest.raises(ValueError, match=r"^no custom entity recognizer endpoint configured$"):
        check_entities("x", EntitySettings(), None)
