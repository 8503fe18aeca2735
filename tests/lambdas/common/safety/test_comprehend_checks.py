"""Toxicity, PII redaction and entity deny-list against Comprehend's API model (botocore Stubber)."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber
from common.safety.chunking import utf8_chunks
from common.safety.entities import check_entities, match_denied_terms
from common.safety.pii import redact_pii
from common.safety.policy import EntitySettings, PiiSettings, ToxicitySettings
from common.safety.toxicity import SEGMENT_BYTES, check_custom_toxicity, check_toxicity

CLASSIFIER = "arn:aws:comprehend:eu-west-1:111111111111:document-classifier-endpoint/toxicity"
RECOGNIZER = "arn:aws:comprehend:eu-west-1:111111111111:entity-recognizer-endpoint/entities"


@pytest.fixture
def comprehend():
    client = boto3.client("comprehend", region_name="eu-west-1")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def _toxic(score: float, **labels: float) -> dict:
    return {"Toxicity": score, "Labels": [{"Name": name, "Score": value} for name, value in labels.items()]}


def test_utf8_chunks_respect_the_byte_limit_and_cover_the_text():
    text = ("caf\u00e9 \u4f60\u597d " * 300) + "x" * 3000  # multi-byte characters and one unbreakable run
    pieces = list(utf8_chunks(text, 1024))
    assert "".join(p for _, p in pieces) == text
    assert all(len(p.encode("utf-8")) <= 1024 for _, p in pieces)
    assert [offset for offset, _ in pieces] == [sum(len(p) for _, p in pieces[:i]) for i in range(len(pieces))]


def test_toxicity_splits_within_api_limits_and_applies_per_label_thresholds(comprehend):
    client, stubber = comprehend
    text = "word " * 2500  # 12.5 KB -> 13 segments -> two requests (10 + 3)
    segments = [p for _, p in utf8_chunks(text, SEGMENT_BYTES)]
    assert len(segments) == 13
    stubber.add_response(
        "detect_toxic_content",
        {"ResultList": [_toxic(0.1, INSULT=0.2)] * 10},
        {"TextSegments": [{"Text": s} for s in segments[:10]], "LanguageCode": "en"},
    )
    stubber.add_response(
        "detect_toxic_content",
        {"ResultList": [_toxic(0.2), _toxic(0.6, HATE_SPEECH=0.55, INSULT=0.7), _toxic(0.1)]},
        {"TextSegments": [{"Text": s} for s in segments[10:]], "LanguageCode": "en"},
    )
    settings = ToxicitySettings(thresholds={"HATE_SPEECH": 0.5, "INSULT": 0.8, "TOXICITY": 0.9})
    result = check_toxicity(text, settings, client)
    assert result.blocked
    assert result.reasons == ("HATE_SPEECH",)  # INSULT 0.7 < 0.8 and TOXICITY 0.6 < 0.9 do not block
    assert result.scores["INSULT"] == 0.7


def test_toxicity_below_every_threshold_passes(comprehend):
    client, stubber = comprehend
    stubber.add_response("detect_toxic_content", {"ResultList": [_toxic(0.05, PROFANITY=0.1)]})
    result = check_toxicity("Thanks, that helped!", ToxicitySettings(), client)
    assert not result.blocked
    assert result.cause == "toxicity"


def test_custom_classifier_endpoint(comprehend):
    client, stubber = comprehend
    stubber.add_response(
        "classify_document",
        {"Classes": [{"Name": "toxic", "Score": 0.91}, {"Name": "ok", "Score": 0.09}]},
        {"Text": "you are useless", "EndpointArn": CLASSIFIER},
    )
    settings = ToxicitySettings(classifier_endpoint_arn=CLASSIFIER, classifier_block_labels=frozenset({"toxic"}))
    result = check_custom_toxicity("you are useless", settings, client)
    assert result.blocked
    assert result.reasons == ("classifier:toxic",)


def test_pii_is_redacted_by_type_and_score(comprehend):
    client, stubber = comprehend
    text = "Call Jane Doe on 555-0100 or jane@example.com about order 42."
    stubber.add_response(
        "detect_pii_entities",
        {
            "Entities": [
                {"Type": "NAME", "Score": 0.99, "BeginOffset": 5, "EndOffset": 13},
                {"Type": "PHONE", "Score": 0.3, "BeginOffset": 17, "EndOffset": 25},  # below min_score
                {"Type": "EMAIL", "Score": 0.98, "BeginOffset": 29, "EndOffset": 45},
            ]
        },
        {"Text": text, "LanguageCode": "en"},
    )
    result = redact_pii(text, PiiSettings(min_score=0.5), client)
    assert result.text == "Call [NAME] on 555-0100 or [EMAIL] about order 42."
    assert result.reasons == ("EMAIL", "NAME")
    assert not result.blocked


def test_pii_offsets_of_later_chunks_map_back(comprehend):
    client, stubber = comprehend
    text = "a " * 60_000 + "mail bob@example.com now"  # > 100 KB: two requests
    (first, second) = list(utf8_chunks(text, 100_000))
    begin = second[1].index("bob@")
    stubber.add_response("detect_pii_entities", {"Entities": []}, {"Text": first[1], "LanguageCode": "en"})
    stubber.add_response(
        "detect_pii_entities",
        {"Entities": [{"Type": "EMAIL", "Score": 0.9, "BeginOffset": begin, "EndOffset": begin + 15}]},
        {"Text": second[1], "LanguageCode": "en"},
    )
    result = redact_pii(text, PiiSettings(entity_types=frozenset({"EMAIL"})), client)
    assert result.text is not None
    assert result.text.endswith("mail [EMAIL] now")
    assert "bob@example.com" not in result.text


def test_pii_types_outside_the_configured_set_are_kept(comprehend):
    client, stubber = comprehend
    stubber.add_response(
        "detect_pii_entities", {"Entities": [{"Type": "DATE_TIME", "Score": 0.99, "BeginOffset": 0, "EndOffset": 5}]}
    )
    result = redact_pii("today we ship", PiiSettings(entity_types=frozenset({"EMAIL"})), client)
    assert result.text == "today we ship"
    assert result.redactions == ()


def test_denied_terms_match_whole_words_case_insensitively():
    settings = EntitySettings(deny_terms=frozenset({"churn score", "Bluebird"}))
    assert match_denied_terms("What is my CHURN SCORE?", settings).blocked
    assert match_denied_terms("project bluebird.", settings).blocked
    assert not match_denied_terms("churn scores are fine", settings).blocked
    assert not match_denied_terms("bluebirds sing", settings).blocked
    assert match_denied_terms("churn score", settings).reasons == ("term",)
    assert not match_denied_terms("anything", EntitySettings()).blocked


def test_custom_recognizer_denies_types_and_terms(comprehend):
    client, stubber = comprehend
    text = "Is Acme cheaper than you? Ask about Project Bluebird."
    stubber.add_response(
        "detect_entities",
        {
            "Entities": [
                {"Type": "COMPETITOR", "Score": 0.95, "Text": "Acme", "BeginOffset": 3, "EndOffset": 7},
                {
                    "Type": "INTERNAL_PROJECT",
                    "Score": 0.4,
                    "Text": "Project Bluebird",
                    "BeginOffset": 36,
                    "EndOffset": 52,
                },
            ]
        },
        {"Text": text, "EndpointArn": RECOGNIZER},
    )
    settings = EntitySettings(
        endpoint_arn=RECOGNIZER, deny_types=frozenset({"COMPETITOR", "INTERNAL_PROJECT"}), min_score=0.5
    )
    result = check_entities(text, settings, client)
    assert result.blocked
    assert result.reasons == ("type:COMPETITOR",)  # the low-score INTERNAL_PROJECT does not count


def test_checks_need_their_endpoints():
    with pytest.raises(ValueError, match="no custom entity recognizer"):
        check_entities("x", EntitySettings(), None)
    with pytest.raises(ValueError, match="no custom classifier"):
        check_custom_toxicity("x", ToxicitySettings(), None)


# Scores exactly at a threshold count: every comparison is "reaches" (>=), never "exceeds".


def test_toxicity_exactly_at_a_label_threshold_blocks(comprehend):
    client, stubber = comprehend
    stubber.add_response("detect_toxic_content", {"ResultList": [_toxic(0.5, HATE_SPEECH=0.5, INSULT=0.49)]})
    settings = ToxicitySettings(thresholds={"HATE_SPEECH": 0.5, "INSULT": 0.5})
    result = check_toxicity("some text", settings, client)
    assert result.blocked
    assert result.reasons == ("HATE_SPEECH",)


def test_classifier_exactly_at_its_threshold_blocks(comprehend):
    client, stubber = comprehend
    stubber.add_response("classify_document", {"Classes": [{"Name": "toxic", "Score": 0.8}]})
    stubber.add_response("classify_document", {"Classes": [{"Name": "toxic", "Score": 0.79}]})
    settings = ToxicitySettings(
        classifier_endpoint_arn=CLASSIFIER, classifier_block_labels=frozenset({"toxic"}), classifier_threshold=0.8
    )
    assert check_custom_toxicity("x", settings, client).blocked
    assert not check_custom_toxicity("x", settings, client).blocked


def test_pii_exactly_at_min_score_is_redacted(comprehend):
    client, stubber = comprehend
    text = "Call Jane Doe on 555-0100."
    stubber.add_response(
        "detect_pii_entities",
        {
            "Entities": [
                {"Type": "NAME", "Score": 0.5, "BeginOffset": 5, "EndOffset": 13},  # = min_score: redacted
                {"Type": "PHONE", "Score": 0.4999, "BeginOffset": 17, "EndOffset": 25},  # just below: kept
            ]
        },
    )
    result = redact_pii(text, PiiSettings(min_score=0.5), client)
    assert result.text == "Call [NAME] on 555-0100."
    assert result.reasons == ("NAME",)


def test_a_denied_entity_exactly_at_min_score_blocks(comprehend):
    client, stubber = comprehend
    entity = {"Type": "COMPETITOR", "Text": "Acme", "BeginOffset": 3, "EndOffset": 7}
    stubber.add_response("detect_entities", {"Entities": [entity | {"Score": 0.5}]})
    stubber.add_response("detect_entities", {"Entities": [entity | {"Score": 0.4999}]})
    settings = EntitySettings(endpoint_arn=RECOGNIZER, deny_types=frozenset({"COMPETITOR"}), min_score=0.5)
    assert check_entities("Is Acme cheaper?", settings, client).reasons == ("type:COMPETITOR",)
    assert not check_entities("Is Acme cheaper?", settings, client).blocked
