"""Safety chain benchmark: local CPU overhead, and concurrency of the remote checks.

1. Overhead: screen_input + screen_output of a 2 KB prompt with every AWS call stubbed to answer
   at once (toxicity, custom classifier, entity recognizer, ApplyGuardrail, PII). What remains is
   the library's own CPU time: validation, prefilter, term matching, thread-pool dispatch, result
   merging, the decision log line and the EMF metrics. Target: median < 5 ms.
2. Concurrency: four stubbed remote checks of 50 ms each on input (toxicity, custom classifier,
   entity recognizer, ApplyGuardrail). Target: the chain takes <= 65 ms (the sum would be 200 ms).

Run: `python -m bench.safety_bench [--runs 300]`. Prints a markdown table for bench/results.md.
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import platform
import statistics
import sys
import time
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lambdas"))

from common.safety.chain import PowertoolsMetricsSink, SafetyChain, SafetyClients
from common.safety.policy import SafetySettings

CLASSIFIER = "arn:aws:comprehend:eu-west-1:111111111111:document-classifier-endpoint/toxicity"
RECOGNIZER = "arn:aws:comprehend:eu-west-1:111111111111:entity-recognizer-endpoint/entities"

PROMPT = (
    "Hello, I have been a customer for five years and my plan renews next month. I noticed the price went "
    "up by 12% and I would like to understand which services are included, whether the streaming add-on is "
    "still part of it, and if there is a loyalty discount for long-standing customers like me. Last year I "
    "called support twice about the router and both times the agent was helpful. "
) * 6
PROMPT = PROMPT[:2048]
ANSWER = (
    "Thanks for being with us for five years. Your plan renews on the 14th; the streaming add-on stays included. "
    "Long-standing customers can get 10% off for twelve months. "
) * 8


class StubComprehend:
    def __init__(self, delay: float) -> None:
        self.delay = delay

    def _wait(self) -> None:
        if self.delay:
            time.sleep(self.delay)

    def detect_toxic_content(self, **kwargs: Any) -> dict[str, Any]:
        self._wait()
        segments = kwargs["TextSegments"]
        return {"ResultList": [{"Toxicity": 0.01, "Labels": [{"Name": "INSULT", "Score": 0.01}]} for _ in segments]}

    def classify_document(self, **kwargs: Any) -> dict[str, Any]:
        self._wait()
        return {"Classes": [{"Name": "ok", "Score": 0.99}, {"Name": "toxic", "Score": 0.01}]}

    def detect_entities(self, **kwargs: Any) -> dict[str, Any]:
        self._wait()
        return {"Entities": [{"Type": "PRODUCT", "Score": 0.9, "Text": "router", "BeginOffset": 0, "EndOffset": 6}]}

    def detect_pii_entities(self, **kwargs: Any) -> dict[str, Any]:
        self._wait()
        return {"Entities": []}


class StubBedrock:
    def __init__(self, delay: float) -> None:
        self.delay = delay

    def apply_guardrail(self, **kwargs: Any) -> dict[str, Any]:
        if self.delay:
            time.sleep(self.delay)
        return {"action": "NONE", "outputs": [], "assessments": []}


def _settings() -> SafetySettings:
    return SafetySettings.model_validate(
        {
            "toxicity": {"thresholds": {"TOXICITY": 0.8}, "classifier_endpoint_arn": CLASSIFIER},
            "entities": {"endpoint_arn": RECOGNIZER, "deny_types": ["COMPETITOR"], "deny_terms": ["project bluebird"]},
            "guardrail": {"identifier": "abc123", "version": "1", "apply_on_input": True, "apply_on_output": True},
        }
    )


def _chain(delay: float) -> SafetyChain:
    from aws_lambda_powertools import Logger  # noqa: PLC0415

    # Log lines are formatted and written as in Lambda (their cost counts), to a discarding stream.
    devnull = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the benchmark
    return SafetyChain(
        _settings(),
        SafetyClients(StubComprehend(delay), StubBedrock(delay)),
        logger=Logger(service="bench", level=logging.INFO, stream=devnull),
        metrics=PowertoolsMetricsSink(namespace="Bench", service="bench"),
    )


def _timed(fn: Any, runs: int) -> list[float]:
    samples = []
    sink = io.StringIO()
    with redirect_stdout(sink):  # log lines and EMF are written (their cost counts), then discarded
        for _ in range(runs):
            started = time.perf_counter()
            fn()
            samples.append((time.perf_counter() - started) * 1000)
            sink.seek(0)
            sink.truncate()
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300)
    args = parser.parse_args()

    fast = _chain(0.0)
    payload = {"text": PROMPT}
    for _ in range(20):  # warm-up: thread pool, confusables table, regex caches
        with redirect_stdout(io.StringIO()):
            assert fast.screen_input(payload).allowed
            assert fast.screen_output(ANSWER).allowed
    both = _timed(lambda: (fast.screen_input(payload), fast.screen_output(ANSWER)), args.runs)
    inputs = _timed(lambda: fast.screen_input(payload), args.runs)

    slow = _chain(0.050)
    with redirect_stdout(io.StringIO()):
        assert len([r for r in slow.screen_input(payload).checks if r.elapsed_ms]) == 4
    concurrent = _timed(lambda: slow.screen_input(payload), max(20, args.runs // 10))

    def row(name: str, samples: list[float], target: str) -> str:
        p95 = statistics.quantiles(samples, n=20)[-1]
        return f"| {name} | {statistics.median(samples):.2f} | {p95:.2f} | {len(samples)} | {target} |"

    print(f"Python {platform.python_version()} on {platform.machine()}, {len(PROMPT)}-character prompt")
    print()
    print("| measurement | median ms | p95 ms | runs | target |")
    print("|---|---|---|---|---|")
    print(row("input + output chain, stubbed AWS answering at once (CPU overhead)", both, "< 5 ms median"))
    print(row("input chain only, stubbed AWS answering at once", inputs, "-"))
    print(row("input chain, four remote checks of 50 ms each", concurrent, "<= 65 ms (sum: 200 ms)"))


if __name__ == "__main__":
    main()
