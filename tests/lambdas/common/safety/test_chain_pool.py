"""The chain's own thread pool: its size and thread names, and timeouts that cost one check, not the others."""

from __future__ import annotations

import threading

from tests.lambdas.common.safety.chain_fakes import CLASSIFIER, RECOGNIZER, Bedrock, Comprehend, chain, settings

ALL_OUTPUT_CHECKS = {
    "toxicity": {"classifier_endpoint_arn": CLASSIFIER},
    "entities": {"endpoint_arn": RECOGNIZER},
    "guardrail": {"identifier": "abc123", "apply_on_output": True},
}


def test_the_pool_runs_at_most_four_checks_at_once():
    # Five output checks (toxicity, classifier, entities, PII, guardrail), each holding its worker until all five
    # run together or 0.3 s pass: a pool of four never has the fifth running alongside the others.
    lock, all_five = threading.Lock(), threading.Event()
    running = {"now": 0, "peak": 0}

    def hold(_operation: str) -> None:
        with lock:
            running["now"] += 1
            running["peak"] = max(running["peak"], running["now"])
            if running["now"] == 5:
                all_five.set()
        all_five.wait(timeout=0.3)
        with lock:
            running["now"] -= 1

    screen, _, _ = chain(settings(**ALL_OUTPUT_CHECKS), Comprehend(hook=hold), Bedrock(hook=hold), inline=False)
    decision = screen.screen_output("Your plan renews in May.")
    assert decision.allowed, decision.reasons
    assert [r.check for r in decision.checks] == ["entity_terms", "toxicity", "custom_toxicity", "entities", "pii",
                                                  "guardrail"]  # fmt: skip
    assert running["peak"] == 4


def test_checks_run_on_threads_named_for_the_chain():
    names: list[str] = []
    screen, _, _ = chain(settings(), Comprehend(hook=lambda _: names.append(threading.current_thread().name)),
                         inline=False)  # fmt: skip
    assert screen.screen_input({"text": "hello"}).allowed
    assert len(names) == 1
    assert names[0].startswith("safety_")


def test_a_timed_out_check_blocks_under_its_own_cause_and_the_others_still_report():
    release = threading.Event()

    def slow_toxicity(operation: str) -> None:
        if operation == "detect_toxic_content":
            release.wait(timeout=5)

    safety = settings(check_timeout_seconds=0.2, **{k: v for k, v in ALL_OUTPUT_CHECKS.items() if k != "toxicity"})
    screen, counter, _ = chain(safety, Comprehend(hook=slow_toxicity, entities=[]), Bedrock(), inline=False)
    try:
        decision = screen.screen_output("Your plan renews in May.")
    finally:
        release.set()
    assert (decision.allowed, decision.text) == (False, "")
    assert decision.causes == ("toxicity",)
    assert decision.reasons == ("toxicity:error:timeout",)
    assert [(r.check, r.error) for r in decision.checks] == [
        ("entity_terms", False),
        ("toxicity", True),
        ("entities", False),
        ("pii", False),
        ("guardrail", False),
    ]
    assert counter.events == [("SafetyBlocked", "toxicity", "output"), ("SafetyCheckErrors", "toxicity", "output")]
