"""The runtime limits behind the documented maxima of data.yaml and usecase.yaml, measured on the real code.

- One object adds at most `ledger_counters(source)` counters to the run ledger, exactly what synth checks
  against the ledger's 250 per update.
- At the maxima (8 sources of 100 optional fields, every name 63 characters), the run's assessment with the
  rest of the execution state still fits the 256 KB Step Functions passes between states.
"""

from __future__ import annotations

import json
import typing
from collections.abc import Iterator
from typing import Any

from pipeline import profile
from pipeline.ledger import MAX_COUNTERS
from pipeline.models import Redacted
from pipeline.profiling import MISSING, OTHER, assess

from stacks.config import MAX_SOURCE_NAME, MAX_SOURCES
from stacks.config.comprehend_types import PiiEntityType
from stacks.data.settings import MAX_FIELDS_PER_SOURCE, MAX_LEDGER_COUNTERS, DataSettings
from tests.lambdas.pipeline.harness import data_settings, profile_spec

STATE_BYTES = 256 * 1024  # Step Functions: the largest input or output of a state
PII_TYPES = list(typing.get_args(PiiEntityType))


class Records:
    """Storage whose staged object holds one record per reference value of every group, plus one outside
    the reference and one without the field: every group counter an object can produce."""

    def __init__(self, groups: dict[str, dict[str, float]], outcome: str | None) -> None:
        self.records: list[dict[str, Any]] = []
        for field, reference in groups.items():
            for value in [*reference, "not-in-reference", None]:
                record: dict[str, Any] = {field: value} if value is not None else {}
                if outcome:
                    record[outcome] = True
                self.records.append({"r": record})

    def read_jsonl(self, bucket: str, key: str) -> Iterator[dict[str, Any]]:
        return iter(self.records)


def worst_object(source: str, settings: DataSettings) -> Redacted:
    """An object of ``source`` that misses every optional field and holds every PII type."""
    optional = [name for name, spec in settings.sources[source].fields.items() if not spec.required]
    run = {"id": "r", "dataset": "d", "bucket": "b", "prefix": "p", "valid_prefix": "v", "redacted_prefix": "x"}
    return Redacted.model_validate(
        {
            "key": f"datasets/d/{source}/a.jsonl",
            "run": {**run, "started_at": "2026-01-01T00:00:00+00:00"},
            "source": source,
            "records_in": 3,
            "rejected": 1,
            "valid": 2,
            "redacted": 2,
            "redact_rejected": 1,
            "whole_object_rejected": False,
            "missing": dict.fromkeys(optional, 1),
            "entities": dict.fromkeys(PII_TYPES, 1),
            "records_with_pii": 1,
        }
    )


def test_synth_counts_exactly_the_counters_an_object_adds_to_the_ledger():
    assert MAX_LEDGER_COUNTERS == MAX_COUNTERS
    settings = data_settings()
    spec = profile_spec()
    storage = Records({g: dict(r) for g, r in spec.groups.items()}, spec.outcome_field)
    counted = {
        source: profile.object_counts(worst_object(source, settings), spec, storage)  # type: ignore[arg-type]
        for source in settings.sources
    }
    assert {source: len(counts) for source, counts in counted.items()} == {
        source: settings.ledger_counters(source) for source in settings.sources
    }
    # The profiled source's object produced every kind of counter: groups outside the reference and missing too.
    profiled = counted[spec.source]
    assert {f"group|region|{OTHER}", f"positive|region|{MISSING}", f"pii|{PII_TYPES[-1]}"} <= set(profiled)


def test_at_the_documented_maxima_the_assessment_fits_the_step_functions_state():
    spec = profile_spec()
    counts: dict[str, int] = {}
    for s in range(MAX_SOURCES):
        source = f"s{s}_".ljust(MAX_SOURCE_NAME, "s")
        counts[f"valid|{source}"] = 9_876_543_217
        counts[f"pii_records|{source}"] = 1_234_567_891
        for f in range(MAX_FIELDS_PER_SOURCE):
            # Every field missing in a third of the records: a long rate, a WARN and a finding each.
            counts[f"missing|{source}|{f'f{f}_'.ljust(63, 'f')}"] = 3_292_181_072
    counts.update({f"pii|{kind}": 1_234_567_891 for kind in PII_TYPES})
    counts["valid|profiles"] = 1000
    counts.update({f"group|{g}|{v}": 123_456_789 for g, ref in spec.groups.items() for v in [*ref, OTHER, MISSING]})
    assessment = assess(counts, spec)
    assert len(assessment["missing"]) == MAX_SOURCES
    assert len(assessment["findings"]) >= MAX_SOURCES * MAX_FIELDS_PER_SOURCE
    long = "d" * 200
    state = {
        "run": {
            "id": "r" * 80,
            "dataset": long,
            "bucket": "b" * 63,
            "prefix": f"datasets/{long}/",
            "valid_prefix": f"staging/{'r' * 80}/valid/",
            "redacted_prefix": f"staging/{'r' * 80}/redacted/",
            "started_at": "2026-01-01T00:00:00+00:00",
        },
        "assessment": assessment,
        "final": {"summary": {"usecase": "u" * 30, "dataset": long, "report": {"json": long, "markdown": long}}},
    }
    size = len(json.dumps(state).encode())
    assert size <= STATE_BYTES, f"{size:,} bytes"
    assert size > STATE_BYTES * 0.8  # the maxima are not arbitrary: they use most of it
