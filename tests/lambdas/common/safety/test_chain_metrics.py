"""`PowertoolsMetricsSink`: the EMF line each count writes (namespace, metric, unit, value, dimensions)."""

from __future__ import annotations

import json

import pytest
from common.safety.chain import PowertoolsMetricsSink, SafetyChain, SafetyClients

from tests.lambdas.common.safety.chain_fakes import Comprehend, InlineExecutor, Lines, settings


@pytest.fixture
def powertools_env(monkeypatch):
    """What the function's environment would give Powertools, distinct from every value passed in the tests."""
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "EnvNamespace")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "env-service")


def _emf_lines(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def _metric(emf: dict) -> tuple[str, list[dict], set[str], dict[str, str]]:
    """(namespace, metrics, dimension names, dimension values) of a single-directive EMF line."""
    [directive] = emf["_aws"]["CloudWatchMetrics"]
    [dimensions] = directive["Dimensions"]
    return directive["Namespace"], directive["Metrics"], set(dimensions), {name: emf[name] for name in dimensions}


def test_a_count_is_one_emf_metric_with_cause_stage_and_service_dimensions(powertools_env, capsys):
    PowertoolsMetricsSink(namespace="JourneyKitSafety", service="chat-api").count(
        "SafetyBlocked", cause="toxicity", stage="input"
    )
    [emf] = _emf_lines(capsys.readouterr().out)
    namespace, metrics, names, values = _metric(emf)
    assert namespace == "JourneyKitSafety"
    assert metrics == [{"Name": "SafetyBlocked", "Unit": "Count"}]
    assert names == {"service", "cause", "stage"}
    assert values == {"service": "chat-api", "cause": "toxicity", "stage": "input"}
    assert emf["SafetyBlocked"] == [1.0]
    assert set(emf) == {"_aws", "service", "cause", "stage", "SafetyBlocked"}


def test_each_count_is_its_own_line_with_its_own_dimensions(powertools_env, capsys):
    sink = PowertoolsMetricsSink(namespace="JourneyKitSafety", service="chat-api")
    sink.count("SafetyRedacted", cause="pii", stage="output")
    sink.count("SafetyCheckErrors", cause="guardrail", stage="output")
    lines = _emf_lines(capsys.readouterr().out)
    assert [_metric(emf)[1] for emf in lines] == [
        [{"Name": "SafetyRedacted", "Unit": "Count"}],
        [{"Name": "SafetyCheckErrors", "Unit": "Count"}],
    ]
    assert [_metric(emf)[3] for emf in lines] == [
        {"service": "chat-api", "cause": "pii", "stage": "output"},
        {"service": "chat-api", "cause": "guardrail", "stage": "output"},
    ]
    assert [(emf.get("SafetyRedacted"), emf.get("SafetyCheckErrors")) for emf in lines] == [
        ([1.0], None),
        (None, [1.0]),
    ]


def test_without_a_namespace_or_service_the_function_environment_names_them(powertools_env, capsys):
    PowertoolsMetricsSink().count("SafetyBlocked", cause="prefilter", stage="input")
    [emf] = _emf_lines(capsys.readouterr().out)
    namespace, _, names, values = _metric(emf)
    assert namespace == "EnvNamespace"
    assert names == {"service", "cause", "stage"}
    assert values == {"service": "env-service", "cause": "prefilter", "stage": "input"}


def test_the_chain_counts_through_the_sink(powertools_env, capsys):
    chain = SafetyChain(
        settings(),
        SafetyClients(Comprehend(toxic=0.9)),
        logger=Lines(),
        metrics=PowertoolsMetricsSink(namespace="JourneyKitSafety", service="chat-api"),
        executor=InlineExecutor(),
    )
    assert not chain.screen_output("some hateful answer").allowed
    [emf] = _emf_lines(capsys.readouterr().out)
    namespace, metrics, _, values = _metric(emf)
    assert (namespace, metrics) == ("JourneyKitSafety", [{"Name": "SafetyBlocked", "Unit": "Count"}])
    assert values == {"service": "chat-api", "cause": "toxicity", "stage": "output"}
