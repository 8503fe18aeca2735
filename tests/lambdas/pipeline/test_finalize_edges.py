"""Finalize step, field by field: the report's keys and times, the run metrics as the EMF lines CloudWatch reads
(names, units, namespace, values), the report objects and the summary the state machine returns, and the
conservation error's message. Expected values are written by hand."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from aws_lambda_powertools import Metrics
from pipeline import finalize
from pipeline.models import FinalizeRequest
from pipeline.report import ConservationError

from tests.lambdas.pipeline.test_dedupe import RUN
from tests.lambdas.pipeline.test_publish_edges import MemoryStorage

NAMESPACE = "journey-test/data"  # not the tests' POWERTOOLS_METRICS_NAMESPACE: a metric that drops it shows
ASSESSMENT: dict[str, Any] = {
    "status": "WARN",
    "groups": {},
    "missing": {},
    "pii": {"entities": {"EMAIL": 3, "PHONE": 1}, "records_with_pii": {}},
    "findings": [],
}
# 12 rows: 10 records and 2 blank rows; 8 curated, 2 quarantined, none held.
HOLDING = {"rows_in": 12, "records_in": 10, "skipped_blank": 2, "passed": 8, "quarantined": 2, "curated": 8}
# One passed record neither curated nor quarantined: three checks fail.
LOSING = HOLDING | {"passed": 9, "curated": 7}


@pytest.fixture(autouse=True)
def unflushed_metrics_cleared() -> Iterator[None]:
    """Powertools keeps added metrics in a set shared by every `Metrics`, and `process` leaves flushing to the
    handler's decorator: start from an empty set, and leave none behind for another test."""
    Metrics(namespace=NAMESPACE).clear_metrics()
    yield
    Metrics(namespace=NAMESPACE).clear_metrics()


class CountingLedger:
    def __init__(self, counts: dict[str, int]) -> None:
        self._counts = counts

    def counts(self, run_id: str) -> dict[str, int]:
        assert run_id == "r1"
        return dict(self._counts)


def request(published: bool = True) -> FinalizeRequest:
    return FinalizeRequest(run=RUN, assessment=ASSESSMENT, published=published)


# Per metric name, (unit, namespace, values, dimensions) of every EMF line that holds it.
Emitted = dict[str, list[tuple[Any, str, list[float], dict[str, str]]]]


def emf(capsys: pytest.CaptureFixture[str]) -> Emitted:
    """The EMF lines printed since the last read."""
    found: Emitted = {}
    for line in capsys.readouterr().out.splitlines():
        if not line.startswith('{"_aws"'):
            continue
        entry = json.loads(line)
        (directive,) = entry["_aws"]["CloudWatchMetrics"]
        dimensions = {name: entry[name] for names in directive["Dimensions"] for name in names}
        for metric in directive["Metrics"]:
            name = metric["Name"]
            found.setdefault(name, []).append((metric["Unit"], directive["Namespace"], entry[name], dimensions))
    return found


def run_metrics(report: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> Emitted:
    capsys.readouterr()
    sink = Metrics(namespace=NAMESPACE, service="data-finalize")
    finalize.emit_metrics(report, sink)
    sink.flush_metrics()
    return emf(capsys)


def report_of(counts: dict[str, int], profile: dict[str, Any]) -> dict[str, Any]:
    return finalize.build_report(
        FinalizeRequest(run=RUN, assessment=profile, published=True), counts, datetime(2026, 1, 2, tzinfo=UTC)
    )


# ------------------------------------------------------------------------------------------------- report


def test_the_report_names_its_run_times_and_ingestion():
    counts = HOLDING | {"encoding|people|utf-8": 2, "encoding|people|latin-1": 1, "dedupe|people|key": 3}
    report = finalize.build_report(request(), counts, datetime(2026, 1, 2, 3, 4, 5, 678, tzinfo=UTC))
    assert sorted(report) == [
        "conservation",
        "dataset",
        "finished_at",
        "ingestion",
        "profile",
        "published",
        "quarantine_rate",
        "run_id",
        "started_at",
    ]
    assert (report["dataset"], report["run_id"], report["published"]) == ("ds", "r1", True)
    assert report["started_at"] == "2025-01-01T00:00:00+00:00"
    assert report["finished_at"] == "2026-01-02T03:04:05+00:00"
    assert report["ingestion"] == {
        "people": {"dedupe": "key", "encodings": {"latin-1": 1, "utf-8": 2}, "repeated_records": 0}
    }
    assert report["quarantine_rate"] == 0.2


# ------------------------------------------------------------------------------------------------ metrics


def test_the_run_metrics_have_their_names_units_and_values(capsys):
    found = run_metrics(report_of(HOLDING, ASSESSMENT), capsys)
    run = {name: (unit, ns, values) for name, lines in found.items() for unit, ns, values, _ in lines}
    assert {name: run[name] for name in run if name != "PiiEntities"} == {
        "RecordsIn": ("Count", NAMESPACE, [10.0]),
        "RecordsCurated": ("Count", NAMESPACE, [8.0]),
        "RecordsQuarantined": ("Count", NAMESPACE, [2.0]),
        "RecordsHeld": ("Count", NAMESPACE, [0.0]),
        "QuarantineRate": ("Percent", NAMESPACE, [20.0]),
        "BiasStatus": ("Count", NAMESPACE, [1.0]),
        "ConservationViolated": ("Count", NAMESPACE, [0.0]),
    }
    pii = sorted((dims["EntityType"], unit, ns, values) for unit, ns, values, dims in found["PiiEntities"])
    assert pii == [("EMAIL", "Count", NAMESPACE, [3.0]), ("PHONE", "Count", NAMESPACE, [1.0])]


def test_a_run_that_does_not_add_up_publishes_conservation_violated_as_one(capsys):
    found = run_metrics(report_of(LOSING, ASSESSMENT), capsys)
    assert [(unit, values) for unit, _, values, _ in found["ConservationViolated"]] == [("Count", [1.0])]


def test_psi_is_published_for_every_group_that_has_one_whatever_comes_before_it(capsys):
    groups = {
        "empty": {"status": "WARN"},  # no PSI: skipped, the groups after it still published
        "undefined": {"psi": {"value": None}},
        "region": {"psi": {"value": 0.125}},
    }
    found = run_metrics(report_of(HOLDING, ASSESSMENT | {"groups": groups}), capsys)
    psi = [(dims["Group"], unit, ns, values) for unit, ns, values, dims in found[finalize.PSI_METRIC]]
    assert psi == [("region", "None", NAMESPACE, [0.125])]


# ------------------------------------------------------------------------------------------------ process


def finalize_run(counts: dict[str, int]) -> tuple[dict[str, Any], MemoryStorage]:
    storage = MemoryStorage({})
    out = finalize.process(
        request(),
        ledger=CountingLedger(counts),  # type: ignore[arg-type]
        storage=storage,  # type: ignore[arg-type]
        reports_bucket="reports",
        curated_bucket="curated",
        usecase="uc",
        sink=Metrics(namespace=NAMESPACE, service="data-finalize"),
    )
    return out, storage


def test_process_writes_both_reports_and_returns_the_summary():
    before = datetime.now(UTC).replace(microsecond=0)
    out, storage = finalize_run(HOLDING)
    after = datetime.now(UTC)
    assert out == {
        "summary": {
            "usecase": "uc",
            "dataset": "ds",
            "run_id": "r1",
            "bias_status": "WARN",
            "published": True,
            "rows_in": 12,
            "records_in": 10,
            "records_skipped_blank": 2,
            "records_curated": 8,
            "records_quarantined": 2,
            "curated": {"bucket": "curated", "records_prefix": "records/ds/", "documents_prefix": "documents/ds/"},
            "report": {"bucket": "reports", "json": "reports/ds/r1/report.json", "markdown": "reports/ds/r1/report.md"},
        }
    }
    assert sorted(storage.written) == [("reports", "reports/ds/r1/report.json"), ("reports", "reports/ds/r1/report.md")]
    report = storage.written[("reports", "reports/ds/r1/report.json")]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", report["finished_at"])
    assert before <= datetime.fromisoformat(report["finished_at"]) <= after
    body, content_type = storage.written[("reports", "reports/ds/r1/report.md")]
    assert content_type == "text/markdown"
    assert body.startswith(b"# Data evaluation report: ds\n\n- Run: `r1`\n- Bias status: **WARN**\n")


def test_process_fails_naming_every_failed_check_after_writing_the_report():
    with pytest.raises(ConservationError) as failed:
        finalize_run(LOSING)
    assert str(failed.value) == (
        "run r1: phase 1: records_in = passed + quarantined before publish; "
        "records_in = curated + quarantined + held; "
        "rows_in = curated + quarantined + skipped_blank + held "
        "(report: s3://reports/reports/ds/r1/report.json)"
    )
