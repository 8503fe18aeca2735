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
    region = dict(BALANCED_REGION, west=(250, 60))  # 24% against 72%: both intervals past the fail limits
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


# --------------------------------------------------------------------------------------------
# Values exactly at a threshold: "past" the limit is strict, so the limit itself stays in the milder band.
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("missing", "status"),
    [
        (49, "PASS"),
        (50, "PASS"),  # 0.05 = warn_above: not past it
        (51, "WARN"),
        (199, "WARN"),
        (200, "WARN"),  # 0.20 = fail_above: not past it
        (201, "FAIL"),
    ],
)
def test_missing_rate_exactly_at_the_warn_and_fail_limits(missing, status):
    counts = counts_for({"age_band": BALANCED_AGE, "region": BALANCED_REGION}, 1000)
    counts["missing|profiles|phone"] = missing
    profile = assess(counts, SPEC)
    assert profile["missing"]["profiles"]["phone"]["status"] == status
    assert profile["status"] == status
    assert any("profiles.phone" in f for f in profile["findings"]) is (status != "PASS")


def _band_status(band_name: str, value: float) -> str:
    """The status of an estimate with no uncertainty (its interval is the point itself)."""
    status: str = getattr(SPEC.thresholds, band_name).status(value, (value, value))
    return status


@pytest.mark.parametrize(
    ("band", "value", "status"),
    [
        # above-bands of customer-retention/data.yaml (warn_above, fail_above)
        ("psi", 0.1, "PASS"),
        ("psi", 0.10001, "WARN"),
        ("psi", 0.25, "WARN"),
        ("psi", 0.25001, "FAIL"),
        ("parity_difference", 0.1, "PASS"),
        ("parity_difference", 0.2, "WARN"),
        ("parity_difference", 0.20001, "FAIL"),
        ("missing_rate", 0.05, "PASS"),
        ("missing_rate", 0.2, "WARN"),
        # below-bands (warn_below, fail_below)
        ("disparate_impact", 0.8, "PASS"),
        ("disparate_impact", 0.79999, "WARN"),
        ("disparate_impact", 0.6, "WARN"),
        ("disparate_impact", 0.59999, "FAIL"),
        ("chi_square_p", 0.01, "PASS"),
        ("chi_square_p", 0.00999, "WARN"),
        ("chi_square_p", 0.0, "WARN"),  # no fail_below: significance never fails the gate
    ],
)
def test_bands_exactly_at_their_limits(band, value, status):
    assert _band_status(band, value) == status


def _outcome(others: int, west: int) -> tuple[dict, dict]:
    """Region outcome figures: 250 records per region, `others` favourable in north, south and east."""
    region = {"north": (250, others), "south": (250, others), "east": (250, others), "west": (250, west)}
    profile = assess(counts_for({"age_band": BALANCED_AGE, "region": region}, 1000), SPEC)
    return profile, profile["groups"]["region"]["outcome"]


@pytest.mark.parametrize(
    ("others", "west", "difference", "ratio", "statuses"),
    [
        # 0.8 against 0.72: difference 0.08, ratio 0.9 -> both PASS
        (200, 180, 0.08, 0.9, ("PASS", "PASS")),
        # 0.45 against 0.25: difference exactly 0.2 in floating point (= fail_above: WARN), ratio 0.556 is past
        # fail_below but its interval reaches 0.6: WARN. (0.8 - 0.6 would be 0.20000000000000007, past the
        # limit: a float artefact, not a boundary test.)
        (112, 62, 0.2, 62 / 112, ("WARN", "WARN")),
        # 0.8 against 0.48: difference 0.32 -> FAIL, ratio exactly 0.6 (= fail_below: WARN)
        (200, 120, 0.32, 0.6, ("FAIL", "WARN")),
        # 1.0 against 0.8: ratio exactly 0.8 (= warn_below: PASS), difference 0.2 less a rounding -> WARN
        (250, 200, 0.2, 0.8, ("WARN", "PASS")),
    ],
)
def test_outcome_figures_at_the_gate_limits(others, west, difference, ratio, statuses):
    profile, outcome = _outcome(others, west)
    assert outcome["parity_difference"]["value"] == pytest.approx(difference)
    assert outcome["disparate_impact"]["value"] == pytest.approx(ratio)
    assert (outcome["parity_difference"]["status"], outcome["disparate_impact"]["status"]) == statuses
    assert outcome["parity_difference"]["warn"] == 0.1
    assert outcome["parity_difference"]["fail"] == 0.2
    assert outcome["disparate_impact"]["warn"] == 0.8
    assert outcome["disparate_impact"]["fail"] == 0.6
    expected = "FAIL" if "FAIL" in statuses else "WARN" if "WARN" in statuses else "PASS"
    assert profile["groups"]["region"]["status"] == expected


@pytest.mark.parametrize(("records", "gated"), [(29, False), (30, True)])
def test_min_records_is_inclusive(records, gated):
    """A group with exactly min_records (30) records is gated; one fewer only warns."""
    per_band = {"18-24": 0, "25-34": 0, "35-44": 0, "45-54": 0, "55+": 0}
    per_band["25-34"] = records  # all in one band: the figures FAIL when gated
    age = {value: (n, n // 2) for value, n in per_band.items()}
    profile = assess(counts_for({"age_band": age, "region": BALANCED_REGION}, 1000), SPEC)
    figures = profile["groups"]["age_band"]
    assert figures["records"] == records
    assert figures["status"] == ("FAIL" if gated else "WARN")
    assert any("min_records 30" in f for f in profile["findings"]) is not gated
