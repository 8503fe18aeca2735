"""PII redaction (DetectPiiEntities, botocore Stubber): filtered entities do not stop the ones after them,
optional fields left out by the API, blank pieces of long text, and the never-blocking verdict.
"""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber
from common.safety.pii import redact_pii
from common.safety.policy import PiiSettings


@pytest.fixture
def comprehend():
    client = boto3.client("comprehend", region_name="eu-west-1")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def test_pii_never_blocks_it_redacts(comprehend):
    client, stubber = comprehend
    stubber.add_response(
        "detect_pii_entities", {"Entities": [{"Type": "EMAIL", "Score": 0.99, "BeginOffset": 5, "EndOffset": 17}]}
    )
    result = redact_pii("mail bob@acme.com now", PiiSettings(), client)
    assert (result.check, result.cause, result.blocked) == ("pii", "pii", False)
    assert result.text == "mail [EMAIL] now"


def test_an_unconfigured_type_does_not_stop_the_entities_after_it(comprehend):
    client, stubber = comprehend
    text = "On 3 May mail bob@acme.com"
    stubber.add_response(
        "detect_pii_entities",
        {
            "Entities": [
                {"Type": "DATE_TIME", "Score": 0.99, "BeginOffset": 3, "EndOffset": 8},
                {"Type": "EMAIL", "Score": 0.99, "BeginOffset": 14, "EndOffset": 26},
            ]
        },
    )
    result = redact_pii(text, PiiSettings(entity_types=frozenset({"EMAIL"})), client)
    assert result.text == "On 3 May mail [EMAIL]"
    assert result.reasons == ("EMAIL",)


def test_an_entity_without_a_score_is_kept(comprehend):
    client, stubber = comprehend
    stubber.add_response("detect_pii_entities", {"Entities": [{"Type": "NAME", "BeginOffset": 0, "EndOffset": 4}]})
    result = redact_pii("Jane called", PiiSettings(min_score=0.5), client)
    assert result.text == "Jane called"
    assert result.reasons == ()
    assert result.redactions == ()


def test_a_response_without_entities_keeps_the_text(comprehend):
    client, stubber = comprehend
    stubber.add_response("detect_pii_entities", {})
    result = redact_pii("nothing personal", PiiSettings(), client)
    assert (result.blocked, result.text, result.reasons) == (False, "nothing personal", ())


def test_blank_pieces_of_long_text_are_skipped_and_the_rest_is_redacted(comprehend):
    client, stubber = comprehend
    text = " " * 100_000 + "mail bob@acme.com"  # the first 100,000-byte piece is blank
    stubber.add_response(
        "detect_pii_entities",
        {"Entities": [{"Type": "EMAIL", "Score": 0.9, "BeginOffset": 5, "EndOffset": 17}]},
        {"Text": "mail bob@acme.com", "LanguageCode": "en"},
    )
    result = redact_pii(text, PiiSettings(), client)
    assert result.text == " " * 100_000 + "mail [EMAIL]"
    assert [(r.begin, r.end, r.entity_type) for r in result.redactions] == [(100_005, 100_017, "EMAIL")]


def test_the_configured_language_is_sent(comprehend):
    client, stubber = comprehend
    stubber.add_response(
        "detect_pii_entities",
        {"Entities": [{"Type": "NAME", "Score": 0.9, "BeginOffset": 5, "EndOffset": 10}]},
        {"Text": "Hola Maria", "LanguageCode": "es"},
    )
    assert redact_pii("Hola Maria", PiiSettings(language_code="es"), client).text == "Hola [NAME]"
