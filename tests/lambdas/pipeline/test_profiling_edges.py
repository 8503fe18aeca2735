"""Assess, edge paths: exact findings and statuses where a group is empty, small, has two groups, or no spec."""

from __future__ import annotations

import math
from collections import Counter

from pipeline.profiling import assess, worst
from scipy import stats as scipy_stats  # type: ignore[import-untyped]

from tests.lambdas.pipeline.harness import profile_spec

SPEC = profile_spec()
BALANCED_AGE = {"18-24": (140, 100), "25-34": (220, 160), "35-44": (220, 160), "45-54": (200, 145), "55+": (220, 160)}
AGE_SHARES = {"18-24": 0.14, "25-34": 0.22, "35-44": 0.22, "45-54": 0.2, "55+": 0.22}


def counts_of(region: dict[str, tuple[int, int]], age: dict[str, tuple[int, int]] | None = None) -> Counter[str]:
    """Counters as the profile step writes them; a value left out has no counter at all (not a zero one)."""
    counts: Counter[str] = Counter({"valid|profiles": 1000})
    for field, values in (("age_band", BALANCED_AGE if age is None else age), ("region", region)):
        for value, (total, positive) in values.items():
            counts[f"group|{field}|{value}"] = total
            counts[f"positive|{field}|{value}"] = positive
    return counts


def test_worst_of_nothing_is_pass():
    assert worst([]) == "PASS"
    assert worst(["PASS", "FAIL", "WARN"]) == "FAIL"


def test_without_a_spec_and_without_counts_the_profile_is_empty_and_passes():
    assert assess(Counter(), None) == {
        "groups": {},
        "findings": [],
        "missing": {},
        "pii": {"entities": {}, "records_with_pii": {}},
        "status": "PASS",
    }


def test_no_valid_records_of_the_profiled_source_is_one_finding_and_no_groups():
    profile = assess(Counter({"valid|feedback": 3}), SPEC)
    assert profile["source"] == "profiles"
    assert profile["groups"] == {}
    assert profile["findings"] == ["no valid records of source 'profiles' to profile"]
    assert profile["status"] == "WARN"


def test_a_missing_rate_without_a_valid_counter_is_zero():
    assert assess(Counter({"missing|feedback|email": 4}), None)["missing"] == {
        "feedback": {"email": {"count": 4, "rate": 0.0}}
    }


def test_pii_counts_and_rates_per_source():
    counts = Counter(
        {
            "valid|profiles": 10,
            "valid|feedback": 5,
            "valid|tickets": 0,
            "pii|EMAIL": 4,
            "pii|PHONE": 2,
            "pii_records|profiles": 3,
        }
    )
    assert assess(counts, None)["pii"] == {
        "entities": {"EMAIL": 4, "PHONE": 2},
        "records_with_pii": {
            "feedback": {"count": 0, "rate": 0.0},
            "profiles": {"count": 3, "rate": 0.3},
            "tickets": {"count": 0, "rate": 0.0},
        },
    }


def test_a_group_without_reference_values_warns_and_reports_zero_shares():
    counts = counts_of({"north": (250, 180), "south": (250, 180), "east": (250, 180), "west": (250, 180)}, age={})
    counts["group|age_band|(other)"] = 40
    counts["group|age_band|(missing)"] = 10
    profile = assess(counts, SPEC)
    assert profile["groups"]["age_band"] == {
        "records": 0,
        "representation": [
            {"group": value, "count": 0, "share": 0.0, "reference": share} for value, share in AGE_SHARES.items()
        ],
        "unexpected": {"(other)": 40, "(missing)": 10},
        "status": "WARN",
    }
    assert profile["findings"] == ["age_band: no records with a reference value"]
    assert profile["status"] == "WARN"


def test_a_single_record_warns_for_parity_and_min_records_only():
    counts = counts_of({"north": (250, 180), "south": (250, 180), "east": (250, 180), "west": (250, 180)}, age={})
    counts["group|age_band|25-34"] = 1
    counts["positive|age_band|25-34"] = 1
    profile = assess(counts, SPEC)
    figures = profile["groups"]["age_band"]
    assert figures["records"] == 1
    assert figures["unexpected"] == {"(other)": 0, "(missing)": 0}
    assert figures["status"] == "WARN"
    assert "parity_difference" not in figures["outcome"]
    assert figures["outcome"]["too_small"] == {"25-34": 1}
    assert figures["outcome"]["rates"] == {}
    assert profile["findings"] == [
        "age_band: 1 values under min_records_per_value 30, left out of parity: 25-34 (1)",
        "age_band: outcome parity needs two values with at least 30 records",
        "age_band: only 1 records (min_records 30); figures not gated",
    ]


def test_exactly_two_groups_with_records_get_outcome_figures():
    # east and west have no counter at all: they count as 0 records, not as 1
    profile = assess(counts_of({"north": (100, 80), "south": (100, 40)}), SPEC)
    figures = profile["groups"]["region"]
    assert figures["records"] == 200
    assert [r["count"] for r in figures["representation"]] == [100, 100, 0, 0]
    outcome = figures["outcome"]
    assert outcome["field"] == "retained"
    assert outcome["rates"] == {"north": 0.8, "south": 0.4}
    assert outcome["parity_difference"]["value"] == 0.4
    assert outcome["disparate_impact"]["value"] == 0.5
    # The whole difference interval is past fail_above 0.2; the ratio's reaches fail_below 0.6: WARN only.
    difference, ratio = outcome["parity_difference"], outcome["disparate_impact"]
    assert (difference["status"], ratio["status"]) == ("FAIL", "WARN")
    assert difference["interval"][0] > 0.2
    assert ratio["interval"][1] >= 0.6
    low, high = difference["interval"]
    assert f"region: parity difference 0.4 [{low:.4g}, {high:.4g}] (FAIL)" in profile["findings"]
    low, high = ratio["interval"]
    assert (
        f"region: disparate impact 0.5 [{low:.4g}, {high:.4g}] (WARN: the estimate is past fail_below 0.6, but "
        f"its interval [{low:.4g}, {high:.4g}] reaches it: not enough evidence to FAIL)"
    ) in profile["findings"]
    assert not any("needs two values" in f for f in profile["findings"])
    assert figures["status"] == "FAIL"


def test_skewed_representation_with_equal_outcome_rates_keeps_the_representation_status():
    region = {"north": (400, 200), "south": (200, 100), "east": (200, 100), "west": (200, 100)}
    profile = assess(counts_of(region), SPEC)
    figures = profile["groups"]["region"]
    # Independent figures: scipy's chi-square test, PSI by its definition sum((a - e) * ln(a / e)).
    p_value = scipy_stats.chisquare([400, 200, 200, 200], [250, 250, 250, 250]).pvalue
    psi = (0.4 - 0.25) * math.log(0.4 / 0.25) + 3 * (0.2 - 0.25) * math.log(0.2 / 0.25)
    assert figures["chi_square"]["status"] == "WARN"
    assert figures["psi"]["status"] == "WARN"
    assert figures["outcome"]["parity_difference"]["status"] == "PASS"
    assert figures["outcome"]["disparate_impact"]["status"] == "PASS"
    assert figures["status"] == "WARN"
    low, high = figures["psi"]["interval"]
    assert low < psi < high
    assert profile["findings"] == [
        f"region: chi-square p {p_value:.4g} (WARN)",
        f"region: PSI {psi:.4g} [{low:.4g}, {high:.4g}] (WARN)",
    ]
    assert profile["status"] == "WARN"


def test_outcome_findings_name_the_figure_with_spaces():
    region = {"north": (250, 200), "south": (250, 200), "east": (250, 200), "west": (250, 150)}
    profile = assess(counts_of(region), SPEC)
    # 0.8 against 0.6: difference 0.2 (+ float rounding: past fail_above, but not its interval: WARN), ratio 0.75
    outcome = profile["groups"]["region"]["outcome"]
    (dl, dh), (rl, rh) = outcome["parity_difference"]["interval"], outcome["disparate_impact"]["interval"]
    assert profile["findings"] == [
        f"region: parity difference 0.2 [{dl:.4g}, {dh:.4g}] (WARN: the estimate is past fail_above 0.2, but its "
        f"interval [{dl:.4g}, {dh:.4g}] reaches it: not enough evidence to FAIL)",
        f"region: disparate impact 0.75 [{rl:.4g}, {rh:.4g}] (WARN)",
    ]


def test_a_group_with_records_but_no_positive_counter_has_a_zero_rate():
    # count_groups writes a positive counter only for a favourable record: none at all for north here
    counts = counts_of({"south": (100, 50)})
    counts["group|region|north"] = 100
    outcome = assess(counts, SPEC)["groups"]["region"]["outcome"]
    assert outcome["rates"] == {"north": 0.0, "south": 0.5}
    assert outcome["parity_difference"]["value"] == 0.5


def test_a_missing_counter_of_a_field_name_with_a_bar_keeps_the_whole_name():
    # field names are not restricted by the contract; the source is the part before the first bar
    counts = Counter({"valid|profiles": 10, "missing|profiles|notes|extra": 1})
    assert assess(counts, None)["missing"] == {"profiles": {"notes|extra": {"count": 1, "rate": 0.1}}}
