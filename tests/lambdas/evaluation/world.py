"""Shared pieces of the evaluation tests: a small golden set, its settings, and the chat pipeline over the
model-checked Bedrock and Comprehend responders of the Api tests, answering each golden question from a table."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from evaluation.contract import EvaluationSettings, GoldenCase

from tests.lambdas.api.bedrock_fakes import Error
from tests.lambdas.api.chat_world import World, end_events, text_events, user_text, world

REGION = "eu-west-1"
BUCKET = "reports"

ANSWER_CASES = (
    GoldenCase(
        id="answer-001",
        variables={"question": "How long can a customer pause?", "context": "[1] Up to three months a year."},
        reference="Up to three months, once per year, with no charge during the pause [1].",
    ),
    GoldenCase(
        id="answer-002",
        variables={"question": "When does a downgrade apply?", "context": "[1] Next billing cycle."},
        reference="At the start of the next billing cycle [1].",
    ),
    GoldenCase(
        id="answer-003",
        variables={"question": "What credit after a 6-hour outage?", "context": "[1] One day per hour."},
        reference="Six days of credit: one day per hour of an outage longer than 4 hours [1].",
    ),
)
CLASSIFY_CASES = (
    GoldenCase(id="classify-001", variables={"notes": "Invoice shows two charges for May."}, reference="billing"),
    GoldenCase(id="classify-002", variables={"notes": "Broadband drops every evening."}, reference="outage"),
    GoldenCase(id="classify-003", variables={"notes": "Direct debit taken twice."}, reference="billing"),
)
GOLDEN = {"answer": ANSWER_CASES, "classify": CLASSIFY_CASES}

# What the model answers to each golden message: close to, not equal to, the references.
GOOD = {
    "How long can a customer pause?": "Up to three months once per year with no charge [1].",
    "When does a downgrade apply?": "At the start of the next billing cycle [1].",
    "What credit after a 6-hour outage?": "Six days of credit, one day per hour of outage [1].",
    "Invoice shows two charges for May.": "Billing.",
    "Broadband drops every evening.": "outage",
    "Direct debit taken twice.": "billing",
}
TOKENS = {"input_tokens": 40, "output_tokens": 12}


def evaluation_settings(**overrides: Any) -> EvaluationSettings:
    base: dict[str, Any] = {
        "usecase": "customer-retention",
        "golden": GOLDEN,
        "thresholds": {"BLEU": 10.0, "ROUGEL": 0.35, "WER": 0.9, "F1": 0.5},
        "margin": 0.05,
        "reports_bucket": BUCKET,
    }
    base.update(overrides)
    return EvaluationSettings.model_validate(base)


def answering(answers: Mapping[str, str | Error]) -> Any:
    """A ConverseStream answer: the table's answer to the golden message found in the request."""

    def answer(params: dict[str, Any]) -> Any:
        text = user_text(params)
        for message, reply in answers.items():
            if message in text:
                if isinstance(reply, Error):
                    return reply
                return [
                    *text_events(reply),
                    *end_events(input_tokens=TOKENS["input_tokens"], output_tokens=TOKENS["output_tokens"]),
                ]
        raise AssertionError(f"no golden message in {text!r}")

    return answer


def serving(answers: Mapping[str, str | Error] = GOOD, **world_options: Any) -> World:
    """The chat pipeline (direct architecture, the Api tests' settings) answering from ``answers``."""
    w = world(**world_options)
    w.runtime.on("ConverseStream", answering(answers))
    return w
