"""The run metrics of the finalize step, as the EMF lines CloudWatch reads (the Observability dashboard's Data
section reads these names and dimensions)."""

from __future__ import annotations

import json

from aws_lambda_powertools import Metrics
from pipeline.finalize import PSI_METRIC, emit_metrics

REPORT = {
    "conservation": {"records_in": 10, "curated": 8, "quarantined": 2, "held": 0, "holds": True},
    "quarantine_rate": 0.2,
    "profile": {
        "status": "WARN",
        "pii": {"entities": {"EMAIL": 3}},
        "groups": {
            "region": {"psi": {"value": 0.125, "status": "WARN"}},
            "age_band": {"psi": {"value": 0.0, "status": "PASS"}},
            "empty": {"status": "WARN"},  # no records with a reference value: no PSI
        },
    },
}


def lines(capsys) -> list[dict]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]


def test_psi_is_published_per_group_with_the_service_dimension(capsys):
    sink = Metrics(namespace="journey-x-dev/data", service="data-finalize")
    emit_metrics(REPORT, sink)
    sink.flush_metrics()
    psi = {m["Group"]: m[PSI_METRIC] for m in lines(capsys) if PSI_METRIC in m}
    assert psi == {"region": [0.125], "age_band": [0.0]}


def test_psi_lines_carry_group_and_service_dimensions(capsys):
    sink = Metrics(namespace="journey-x-dev/data", service="data-finalize")
    emit_metrics(REPORT, sink)
    found = [m for m in lines(capsys) if PSI_METRIC in m]
    assert {tuple(sorted(m["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0])) for m in found} == {("Group", "service")}
    assert {m["_aws"]["CloudWatchMetrics"][0]["Namespace"] for m in found} == {"journey-x-dev/data"}


def test_a_profile_without_groups_publishes_no_psi(capsys):
    report = {**REPORT, "profile": {"status": "PASS", "pii": {"entities": {}}}}
    sink = Metrics(namespace="journey-x-dev/data", service="data-finalize")
    emit_metrics(report, sink)
    sink.flush_metrics()
    assert not [m for m in lines(capsys) if PSI_METRIC in m]
