"""Assess and finalize, pure parts: verdicts from counts, the conservation proof, the Markdown report."""

from __future__ import annotations

from collections import Counter

import pytest
from pipeline.profiling import OTHER, assess, count_groups, status_code
from pipeline.report import conservation, quarantine_rate, render_markdown

from tests.lambdas.pipeline.harness import profile_spec

SPEC = profile_spec()


def counts_for(groups: dict[str, dict[str, tuple[int, int]]], valid: int) -> Counter[str]:
    """Counters as the profile step writes them: {field: {value: (records, favourable)}}."""
    counts: Counter[str] = Counter({"valid|profiles": valid})
    for field, values in groups.items():
        for value, (total, positive) in values.items():
            counts[f"group|{field}|{value}"] = total
            counts[f"positive|{field}|{value}"] = positive
    return counts


BALANCED_AGE = {"18-24": (140, 100), "25-34": (220, 160), "35-44": (220, 160), "45-54": (200, 145), "55+": (220, 160)}
BALANCED_REGION = {"north": (250, 181), "south": (250, 181), "east": (250, 181), "west": (250, 182)}


def test_a_representative_dataset_passes():
    profile = assess(counts_for({"age_band": BALANCED_AGE, "region": BALANCED_REGION}, 1000), SPEC)
    assert profile["status"] == "PASS", profile["findings"]
    assert profile["findings"] == []


def test_a_large_outcome_gap_fails_the_gate():
    region = dict(BALANCED_REGION, west=(250, 100))  # 40% against 72%
    profile = assess(counts_for({"age_band": BALANCED_AGE, "region": region}, 1000), SPEC)
    outcome = profile["groups"]["region"]["outcome"]
    assert outcome["parity_difference"]["status"] == "FAIL"
    assert outcome["disparate_impact"]["status"] == "FAIL"
    assert profile["status"] == "FAIL"
    assert status_code(profile["status"]) == 2


def test_too_few_records_and_unknown_groups_warn():
    small = {value: (max(total // 100, 1), 1) for value, (total, _) in BALANCED_AGE.items()}
    counts = counts_for({"age_band": small, "region": BALANCED_REGION}, 1000)
    counts[f"group|region|{OTHER}"] = 3
    profile = assess(counts, SPEC)
    assert profile["groups"]["age_band"]["status"] == "WARN"
    assert any("min_records" in f for f in profile["findings"])
    assert any("3 records outside the reference groups" in f for f in profile["findings"])


def test_missing_values_are_rated_per_field():
    counts = counts_for({"age_band": BALANCED_AGE, "region": BALANCED_REGION}, 1000)
    counts["missing|profiles|phone"] = 300
    profile = assess(counts, SPEC)
    assert profile["missing"]["profiles"]["phone"] == {"count": 300, "rate": 0.3, "status": "FAIL"}
    assert profile["status"] == "FAIL"


def test_no_records_of_the_profiled_source_warns_instead_of_passing():
    assert assess(Counter({"valid|feedback": 3}), SPEC)["status"] == "WARN"


def test_groups_are_counted_with_other_and_missing_buckets():
    records = [{"age_band": "25-34", "region": "north", "retained": True}, {"age_band": "99+", "retained": False}]
    counts = count_groups(records, SPEC)
    assert counts["group|age_band|25-34"] == 1
    assert counts["positive|age_band|25-34"] == 1
    assert counts[f"group|age_band|{OTHER}"] == 1
    assert counts["group|region|(missing)"] == 1


@pytest.mark.parametrize(
    ("counts", "published", "holds"),
    [
        ({"records_in": 10, "passed": 8, "quarantined": 2, "curated": 8}, True, True),
        ({"records_in": 10, "passed": 8, "quarantined": 2, "curated": 7, "publish_quarantined": 1}, True, True),
        ({"records_in": 10, "passed": 8, "quarantined": 2, "curated": 7}, True, False),  # one record lost
        ({"records_in": 10, "passed": 8, "quarantined": 2, "curated": 9}, True, False),  # one counted twice
        ({"records_in": 10, "passed": 8, "quarantined": 2}, False, True),  # held back by the gate
        ({"records_in": 10, "passed": 8, "quarantined": 1}, False, False),
    ],
)
def test_conservation(counts, published, holds):
    balance = conservation(counts, published=published)
    assert balance["holds"] is holds
    if holds:
        assert balance["records_in"] == balance["curated"] + balance["quarantined"] + balance["held"]


def test_the_markdown_report_shows_the_balance_and_the_figures():
    counts = counts_for({"age_band": BALANCED_AGE, "region": BALANCED_REGION}, 1000) + Counter({"pii|EMAIL": 7})
    balance = conservation({"records_in": 1002, "passed": 1000, "quarantined": 2, "curated": 1000}, published=True)
    report = {
        "dataset": "d",
        "run_id": "r",
        "published": True,
        "conservation": balance,
        "quarantine_rate": quarantine_rate(balance),
        "profile": assess(counts, SPEC),
    }
    markdown = render_markdown(report)
    assert "| 1002 | 1000 | 2 | 0 | yes |" in markdown
    assert "| 55+ | 220 | 22.0% | 22.0% | 72.7% |" in markdown
    assert "| EMAIL | 7 |" in markdown
