"""The outcome-parity part of the bias profile at its edges: the level it is computed at, the values left out as too
small (named with their counts), and an outcome every compared record has, which leaves parity undefined with the
reason on both figures. Counters as the profile step writes them."""

from __future__ import annotations

from collections import Counter

import pytest
from pipeline.contract import Band
from pipeline.profiling import _band, assess
from pipeline.stats import katz_ratio, wilson, z_value
from statsmodels.stats.proportion import proportion_confint  # type: ignore[import-untyped]

from tests.lambdas.pipeline.harness import profile_spec

SPEC = profile_spec()  # customer-retention: retained = True, min_records_per_value 30, confidence 0.95
AGE = {"18-24": (140, 100), "25-34": (220, 160), "35-44": (220, 160), "45-54": (200, 145), "55+": (220, 160)}


def counts_for(region: dict[str, tuple[int, int]]) -> Counter[str]:
    counts: Counter[str] = Counter({"valid|profiles": 1000})
    for field, values in {"age_band": AGE, "region": region}.items():
        for value, (total, positive) in values.items():
            counts[f"group|{field}|{value}"] = total
            counts[f"positive|{field}|{value}"] = positive
    return counts


def test_the_outcome_names_its_level_and_the_values_left_out():
    region = {"north": (300, 200), "south": (300, 210), "east": (3, 1), "west": (29, 20)}
    profile = assess(counts_for(region), SPEC)
    outcome = profile["groups"]["region"]["outcome"]
    assert outcome["confidence"] == SPEC.confidence == 0.95
    assert outcome["too_small"] == {"east": 3, "west": 29}  # 29 is one under the limit of 30
    listed = "region: 2 values under min_records_per_value 30, left out of parity: east (3), west (29)"
    assert listed in profile["findings"]
    # Each compared value's rate with its Wilson interval at the stated confidence (statsmodels, not the module).
    expected = {
        value: list(proportion_confint(positives, total, alpha=1 - SPEC.confidence, method="wilson"))
        for value, (total, positives) in region.items()
        if value in ("north", "south")
    }
    assert outcome["rate_intervals"].keys() == expected.keys()
    for value, interval in expected.items():
        assert outcome["rate_intervals"][value] == pytest.approx(interval, rel=1e-9)


def test_an_outcome_every_compared_record_has_leaves_both_figures_undefined_with_the_reason():
    region = {"north": (300, 300), "south": (300, 300), "east": (300, 300), "west": (300, 300)}
    outcome = assess(counts_for(region), SPEC)["groups"]["region"]["outcome"]
    reason = "undefined: every compared record has retained = True (check profile.outcome.positive)"
    assert outcome["undefined"] == reason
    assert outcome["parity_difference"]["value"] is None
    assert (outcome["parity_difference"]["reason"], outcome["disparate_impact"]["reason"]) == (reason, reason)
    assert (outcome["parity_difference"]["status"], outcome["disparate_impact"]["status"]) == ("WARN", "WARN")


def test_intervals_refuse_what_they_cannot_estimate_with_the_reason():
    with pytest.raises(ValueError, match=r"^a proportion needs at least one record$"):
        wilson(0, 0, z_value(0.95))
    with pytest.raises(ValueError, match=r"^the ratio needs a positive count in the denominator$"):
        katz_ratio(3, 10, 0, 10, z_value(0.95))


def test_a_figure_names_its_fail_rule_only_when_it_is_the_interval_and_an_undefined_one_its_reason():
    """`_band` whole: the figure of an estimate-decided band has no `fail_on`; an interval-decided one has it, and an
    estimate past FAIL whose interval still reaches the limit says why it is only WARN."""
    estimate = Band(warn=0.1, fail=0.2, below=False)
    assert _band(0.15, estimate) == {"value": 0.15, "warn": 0.1, "fail": 0.2, "status": "WARN"}
    interval = Band(warn=0.1, fail=0.2, below=False, fail_on="interval")
    assert _band(0.25, interval, (0.15, 0.3)) == {
        "value": 0.25,
        "warn": 0.1,
        "fail": 0.2,
        "fail_on": "interval",
        "status": "WARN",
        "interval": [0.15, 0.3],
        "reason": "the estimate is past fail_above 0.2, but its interval [0.15, 0.3] reaches it: "
        "not enough evidence to FAIL",
    }
    # No interval to judge by (a single record): past fail_below, yet only WARN, and the reason says so.
    assert _band(0.5, Band(warn=0.8, fail=0.7, below=True, fail_on="interval")) == {
        "value": 0.5,
        "warn": 0.8,
        "fail": 0.7,
        "fail_on": "interval",
        "status": "WARN",
        "reason": "the estimate is past fail_below 0.7, but it has no interval: not enough evidence to FAIL",
    }
    assert _band(None, estimate) == {
        "value": None,
        "warn": 0.1,
        "fail": 0.2,
        "status": "WARN",
        "interval": None,
        "reason": "",
    }


@pytest.mark.parametrize(("records", "has_interval"), [(1, False), (2, True)])
def test_the_psi_interval_needs_two_records(records, has_interval):
    counts = Counter({"valid|profiles": records, "group|age_band|18-24": records, "group|region|north": records})
    psi = assess(counts, SPEC)["groups"]["age_band"]["psi"]
    assert ("interval" in psi) is has_interval
