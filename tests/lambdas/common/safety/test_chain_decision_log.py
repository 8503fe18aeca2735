"""The decision log line: its exact fields, the size it reports, and latencies in milliseconds (a scripted clock)."""

from __future__ import annotations

import pytest
from common.safety import chain as chain_module

from tests.lambdas.common.safety.chain_fakes import Clock, Comprehend, chain, settings


def _passed(check: str, cause: str, *, scores: dict | None = None, ms: float | None = None) -> dict:
    return {
        "check": check,
        "cause": cause,
        "blocked": False,
        "error": False,
        "reasons": [],
        "scores": scores or {},
        "ms": ms,
    }


def test_an_allowed_input_logs_one_line_with_every_check_and_its_timing(monkeypatch):
    # Clock reads: the decision starts at 100 s, the toxicity call runs from 100.5 s to 100.5123456 s, and the
    # decision is taken at 100.7504567 s: 12.346 ms for the check, 750.457 ms in all (rounded to microseconds).
    clock = Clock(100.0, 100.5, 100.5123456, 100.7504567)
    monkeypatch.setattr(chain_module, "time", clock)
    screen, _, lines = chain(settings(), Comprehend(toxic=0.1))

    decision = screen.screen_input({"text": "When does my plan renew?"})

    assert decision.allowed
    assert decision.latency_ms == 750.457
    assert clock.unread == 0
    [(msg, args, kwargs)] = lines.calls
    assert (msg, args, list(kwargs)) == ("safety decision", (), ["extra"])
    assert list(kwargs["extra"]) == ["safety"]
    record = kwargs["extra"]["safety"]
    prefilter_score = record["checks"][1]["scores"]["score"]  # the prefilter's own number, checked in its tests
    assert 0.0 <= prefilter_score < 0.5
    assert record == {
        "stage": "input",
        "allowed": True,
        "causes": [],
        "latency_ms": 750.457,
        "chars": 24,
        "checks": [
            _passed("validation", "validation"),
            _passed("prefilter", "prefilter", scores={"score": prefilter_score}),
            _passed("entity_terms", "entity"),
            _passed("toxicity", "toxicity", scores={"HATE_SPEECH": 0.1, "TOXICITY": 0.1}, ms=12.346),
        ],
    }


def test_a_blocked_output_logs_the_cause_and_the_failing_check(monkeypatch):
    # Reads: start 5 s; toxicity 5.25-5.2512346 s (1.235 ms); PII starts at 5.4 s and fails (no reading after
    # its start); decided at 5.5 s.
    clock = Clock(5.0, 5.25, 5.2512346, 5.4, 5.5)
    monkeypatch.setattr(chain_module, "time", clock)
    screen, _, lines = chain(settings(), Comprehend(toxic=0.75, fail=["detect_pii_entities"]))

    decision = screen.screen_output("Some answer.")

    assert not decision.allowed
    assert clock.unread == 0
    assert lines.decisions == [
        {
            "stage": "output",
            "allowed": False,
            "causes": ["toxicity", "pii"],
            "latency_ms": 500.0,
            "chars": 12,
            "checks": [
                _passed("entity_terms", "entity"),
                {
                    "check": "toxicity",
                    "cause": "toxicity",
                    "blocked": True,
                    "error": False,
                    "reasons": ["HATE_SPEECH"],
                    "scores": {"HATE_SPEECH": 0.75, "TOXICITY": 0.75},
                    "ms": 1.235,
                },
                {
                    "check": "pii",
                    "cause": "pii",
                    "blocked": True,
                    "error": True,
                    "reasons": ["error:RuntimeError"],
                    "scores": {},
                    "ms": None,
                },
            ],
        }
    ]


@pytest.mark.parametrize(
    ("payload", "chars"),
    [
        ({"text": "a\x00b"}, 3),  # rejected: the size of the text as it arrived
        ({"text": "x" * 4001}, 4001),
        ({"text": 123}, 0),
        ("not an object", 0),
        ({"text": "first\r\nsecond"}, 12),  # accepted: the size of the normalized text ("\r\n" became "\n")
    ],
)
def test_the_input_log_line_reports_the_size_of_the_text_never_the_text(payload, chars):
    screen, _, lines = chain(settings())
    screen.screen_input(payload)
    [record] = lines.decisions
    assert record["chars"] == chars
    assert record["stage"] == "input"


@pytest.mark.parametrize(
    ("answer", "chars"),
    [
        ("Your plan renews in May.", 24),
        ("Project Bluebird ships in May.", 30),  # blocked by a denied term before any call
        ("   ", 0),  # blank: nothing to report
        (None, 0),
    ],
)
def test_the_output_log_line_reports_the_size_of_the_answer(answer, chars):
    screen, _, lines = chain(settings(entities={"deny_terms": ["project bluebird"]}))
    screen.screen_output(answer)
    [record] = lines.decisions
    assert record["chars"] == chars
    assert record["stage"] == "output"
