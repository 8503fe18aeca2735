"""Toxicity checks against Comprehend's API model (botocore Stubber): the overall score, per-label peaks,
responses that leave optional fields out, exact scores, and the custom classifier (multi-class and multi-label).
"""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber
from common.safety.policy import ToxicitySettings
from common.safety.toxicity import check_custom_toxicity, check_toxicity

CLASSIFIER = "arn:aws:comprehend:eu-west-1:111111111111:document-classifier-endpoint/toxicity"


@pytest.fixture
def comprehend():
    client = boto3.client("comprehend", region_name="eu-west-1")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def _request(*segments: str) -> dict:
    return {"TextSegments": [{"Text": s} for s in segments], "LanguageCode": "en"}


def test_the_overall_toxicity_score_blocks_as_label_toxicity(comprehend):
    client, stubber = comprehend
    stubber.add_response(
        "detect_toxic_content", {"ResultList": [{"Toxicity": 0.7, "Labels": [{"Name": "INSULT", "Score": 0.2}]}]}
    )
    result = check_toxicity("you fool", ToxicitySettings(thresholds={"TOXICITY": 0.7}), client)
    assert (result.check, result.cause, result.blocked) == ("toxicity", "toxicity", True)
    assert result.reasons == ("TOXICITY",)
    assert result.scores == {"INSULT": 0.2, "TOXICITY": 0.7}


def test_just_below_the_overall_threshold_passes(comprehend):
    client, stubber = comprehend
    stubber.add_response("detect_toxic_content", {"ResultList": [{"Toxicity": 0.6999, "Labels": []}]})
    result = check_toxicity("you fool", ToxicitySettings(thresholds={"TOXICITY": 0.7}), client)
    assert result.blocked is False
    assert result.reasons == ()
    assert result.scores == {"TOXICITY": 0.6999}


def test_a_result_without_an_overall_score_counts_as_zero(comprehend):
    client, stubber = comprehend
    stubber.add_response("detect_toxic_content", {"ResultList": [{"Labels": [{"Name": "PROFANITY", "Score": 0.9}]}]})
    settings = ToxicitySettings(thresholds={"TOXICITY": 0.5, "PROFANITY": 0.95})
    result = check_toxicity("darn it", settings, client)
    assert not result.blocked
    assert result.scores == {"PROFANITY": 0.9, "TOXICITY": 0.0}


def test_a_result_without_labels_still_reports_the_overall_score(comprehend):
    client, stubber = comprehend
    stubber.add_response("detect_toxic_content", {"ResultList": [{"Toxicity": 0.8}]})
    result = check_toxicity("hmm", ToxicitySettings(thresholds={"TOXICITY": 0.75}), client)
    assert result.reasons == ("TOXICITY",)
    assert result.scores == {"TOXICITY": 0.8}


def test_a_response_without_results_passes(comprehend):
    client, stubber = comprehend
    stubber.add_response("detect_toxic_content", {})
    result = check_toxicity("hello there", ToxicitySettings(thresholds={"TOXICITY": 0.1, "INSULT": 0.1}), client)
    assert result.blocked is False
    assert result.reasons == ()
    assert result.scores == {}


def test_whitespace_only_text_makes_no_call_and_passes(comprehend):
    client, _ = comprehend  # no response queued: any call would fail
    result = check_toxicity("  \n\t  ", ToxicitySettings(thresholds={"TOXICITY": 0.1, "HATE_SPEECH": 0.1}), client)
    assert result.blocked is False
    assert result.reasons == ()
    assert result.scores == {}


def test_a_label_never_returned_does_not_block(comprehend):
    client, stubber = comprehend
    stubber.add_response("detect_toxic_content", {"ResultList": [{"Toxicity": 0.1, "Labels": []}]})
    result = check_toxicity("hello", ToxicitySettings(thresholds={"HATE_SPEECH": 0.01, "TOXICITY": 0.5}), client)
    assert result.blocked is False
    assert result.reasons == ()


def test_the_peak_over_segments_counts_not_the_last_one(comprehend):
    client, stubber = comprehend
    stubber.add_response(
        "detect_toxic_content",
        {
            "ResultList": [
                {"Toxicity": 0.9, "Labels": [{"Name": "INSULT", "Score": 0.85}]},
                {"Toxicity": 0.1, "Labels": [{"Name": "INSULT", "Score": 0.05}]},
            ]
        },
    )
    result = check_toxicity("a b", ToxicitySettings(thresholds={"TOXICITY": 0.8, "INSULT": 0.8}), client)
    assert result.reasons == ("INSULT", "TOXICITY")
    assert result.scores == {"INSULT": 0.85, "TOXICITY": 0.9}


def test_scores_are_rounded_to_four_decimals(comprehend):
    client, stubber = comprehend
    stubber.add_response(
        "detect_toxic_content",
        {"ResultList": [{"Toxicity": 0.123456, "Labels": [{"Name": "SEXUAL", "Score": 0.987654}]}]},
    )
    result = check_toxicity("x", ToxicitySettings(thresholds={"SEXUAL": 0.99}), client)
    assert result.scores == {"SEXUAL": 0.9877, "TOXICITY": 0.1235}
    assert not result.blocked  # the raw 0.987654 is compared, below 0.99


def test_leading_blank_segments_are_skipped_not_sent(comprehend):
    client, stubber = comprehend
    text = " " * 1024 + "you fool"  # first 1 KB segment is blank
    stubber.add_response("detect_toxic_content", {"ResultList": [{"Toxicity": 0.9}]}, _request("you fool"))
    assert check_toxicity(text, ToxicitySettings(thresholds={"TOXICITY": 0.7}), client).blocked


# The custom classifier endpoint (ClassifyDocument).

CUSTOM = ToxicitySettings(
    classifier_endpoint_arn=CLASSIFIER, classifier_block_labels=frozenset({"toxic", "threat"}), classifier_threshold=0.6
)


def test_custom_classifier_result_names_check_cause_and_rounded_scores(comprehend):
    client, stubber = comprehend
    stubber.add_response(
        "classify_document",
        {"Classes": [{"Name": "toxic", "Score": 0.654321}, {"Name": "ok", "Score": 0.345679}]},
        {"Text": "you are useless", "EndpointArn": CLASSIFIER},
    )
    result = check_custom_toxicity("you are useless", CUSTOM, client)
    assert (result.check, result.cause, result.blocked) == ("custom_toxicity", "toxicity", True)
    assert result.reasons == ("classifier:toxic",)
    assert result.scores == {"classifier:ok": 0.3457, "classifier:toxic": 0.6543}


def test_custom_classifier_below_threshold_passes_with_its_scores(comprehend):
    client, stubber = comprehend
    stubber.add_response("classify_document", {"Classes": [{"Name": "toxic", "Score": 0.2}]})
    result = check_custom_toxicity("fine", CUSTOM, client)
    assert (result.check, result.cause, result.blocked, result.reasons) == ("custom_toxicity", "toxicity", False, ())
    assert result.scores == {"classifier:toxic": 0.2}


def test_multi_label_classifier_reports_labels_not_classes(comprehend):
    """A multi-label endpoint answers with ``Labels`` only; each configured label blocks on its own."""
    client, stubber = comprehend
    stubber.add_response(
        "classify_document",
        {
            "Labels": [
                {"Name": "threat", "Score": 0.61},
                {"Name": "toxic", "Score": 0.59},
                {"Name": "spam", "Score": 0.9},
            ]
        },
    )
    result = check_custom_toxicity("I will find you", CUSTOM, client)
    assert result.blocked
    assert result.reasons == ("classifier:threat",)  # toxic is below 0.6, spam is not a block label
    assert result.scores == {"classifier:spam": 0.9, "classifier:threat": 0.61, "classifier:toxic": 0.59}


def test_custom_classifier_without_any_class_passes(comprehend):
    client, stubber = comprehend
    stubber.add_response("classify_document", {})
    result = check_custom_toxicity("hello", CUSTOM, client)
    assert result.blocked is False
    assert result.scores == {}


def test_custom_classifier_skips_blank_pieces_and_reads_the_rest(comprehend):
    client, stubber = comprehend
    text = " " * 10_000 + "you are useless"  # the first 10,000-byte piece is blank
    stubber.add_response(
        "classify_document",
        {"Classes": [{"Name": "toxic", "Score": 0.9}]},
        {"Text": "you are useless", "EndpointArn": CLASSIFIER},
    )
    assert check_custom_toxicity(text, CUSTOM, client).reasons == ("classifier:toxic",)


def test_custom_classifier_needs_its_endpoint():
    with pytest.raises(ValueError, match=r"^no custom classifier endpoint configured$"):
        check_custom_toxicity("x", ToxicitySettings(), None)
