"""Confidence intervals of the bias figures against independent implementations, and the gate they drive.

References: statsmodels (`proportion_confint` Wilson, `confint_proportions_2indep` Newcombe and Katz log) and
scipy (`stats.bootstrap` BCa, `stats.binom`). The public dataset is statsmodels' own `anes96` (American
National Election Studies 1996, 944 respondents; read from the package, no network): education level as the
group, the expected vote as the outcome. Its "1-8 grades" level has 13 respondents, the kind of group that
alone drove disparate impact to 0.48.
"""

from __future__ import annotations

import random
from collections import Counter
from itertools import combinations
from typing import Any

import numpy as np
import pytest
import statsmodels.api as sm  # type: ignore[import-untyped]
from pipeline.contract import Band, ProfileSpec
from pipeline.profiling import assess
from pipeline.stats import (
    binomial_sample,
    katz_ratio,
    newcombe_difference,
    parity_intervals,
    psi_interval,
    wilson,
    z_value,
)
from scipy import stats as scipy_stats  # type: ignore[import-untyped]
from statsmodels.stats.proportion import (  # type: ignore[import-untyped]
    confint_proportions_2indep,
    proportion_confint,
)

from tests.lambdas.pipeline.harness import profile_spec

EDUCATION = {1: "grades_1_8", 2: "some_high_school", 3: "high_school", 4: "some_college", 5: "college",
             6: "masters", 7: "phd"}  # fmt: skip
# Illustrative adult shares by education (census-style, for the test only); they sum to 1.
EDUCATION_SHARES = {"grades_1_8": 0.08, "some_high_school": 0.10, "high_school": 0.34, "some_college": 0.25,
                    "college": 0.15, "masters": 0.06, "phd": 0.02}  # fmt: skip


@pytest.fixture(scope="module")
def anes96() -> list[dict]:
    data = sm.datasets.anes96.load_pandas().data
    return [{"educ": EDUCATION[int(e)], "vote": int(v)} for e, v in zip(data["educ"], data["vote"], strict=True)]


def education_spec(**update: Any) -> ProfileSpec:
    """customer-retention's profile, re-pointed at anes96: group educ, outcome vote = 1 (Dole)."""
    base = profile_spec()
    fields = {
        "source": "anes",
        "groups": {"educ": EDUCATION_SHARES},
        "outcome_field": "vote",
        "outcome_positive": 1,
        **update,
    }
    return base.model_copy(update=fields)


def counts_of(records: list[dict]) -> Counter[str]:
    counts: Counter[str] = Counter({"valid|anes": len(records)})
    for r in records:
        counts[f"group|educ|{r['educ']}"] += 1
        counts[f"positive|educ|{r['educ']}"] += r["vote"] == 1
    return counts


# ------------------------------------------------------------------------------ intervals against statsmodels


@pytest.mark.parametrize(("x", "n"), [(0, 13), (13, 13), (3, 13), (95, 248), (1, 1), (0, 1), (500, 1000)])
@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
def test_wilson_matches_statsmodels(x, n, confidence):
    low, high = proportion_confint(x, n, alpha=1 - confidence, method="wilson")
    assert wilson(x, n, z_value(confidence)) == pytest.approx((low, high), rel=1e-9, abs=1e-12)


@pytest.mark.parametrize(
    ("x1", "n1", "x2", "n2"), [(3, 13, 108, 227), (0, 30, 5, 30), (30, 30, 0, 30), (81, 187, 37, 90)]
)
def test_newcombe_difference_matches_statsmodels(x1, n1, x2, n2):
    low, high = confint_proportions_2indep(x1, n1, x2, n2, method="newcomb", compare="diff", alpha=0.05)
    assert newcombe_difference(x1, n1, x2, n2, z_value(0.95)) == pytest.approx((low, high), rel=1e-9, abs=1e-12)


@pytest.mark.parametrize(("x1", "n1", "x2", "n2"), [(3, 13, 108, 227), (30, 30, 5, 30), (81, 187, 37, 90)])
def test_katz_ratio_matches_statsmodels_log(x1, n1, x2, n2):
    low, high = confint_proportions_2indep(x1, n1, x2, n2, method="log", compare="ratio", alpha=0.05)
    assert katz_ratio(x1, n1, x2, n2, z_value(0.95)) == pytest.approx((low, high), rel=1e-9)


def test_katz_ratio_of_a_zero_count_is_zero_to_the_adjusted_upper_bound():
    _, high = confint_proportions_2indep(0, 40, 12, 50, method="log-adjusted", compare="ratio", alpha=0.05)
    assert katz_ratio(0, 40, 12, 50, z_value(0.95)) == pytest.approx((0.0, high), rel=1e-9)
    with pytest.raises(ValueError, match="positive count in the denominator"):
        katz_ratio(3, 40, 0, 50, 1.96)


def test_parity_intervals_on_anes96_are_the_bonferroni_pairwise_extremes(anes96):
    counts = counts_of(anes96)
    values = [v for v in EDUCATION_SHARES if counts[f"group|educ|{v}"] >= 30]  # grades_1_8 (13) left out
    totals = {v: counts[f"group|educ|{v}"] for v in values}
    positives = {v: counts[f"positive|educ|{v}"] for v in values}
    alpha = 0.05 / (len(values) * (len(values) - 1) // 2)
    diffs, ratios = [], []
    for a, b in combinations(values, 2):
        for i, j in ((a, b), (b, a)):
            args = (positives[i], totals[i], positives[j], totals[j])
            diffs.append(confint_proportions_2indep(*args, method="newcomb", compare="diff", alpha=alpha))
            ratios.append(confint_proportions_2indep(*args, method="log", compare="ratio", alpha=alpha))
    ours = parity_intervals(positives, totals, 0.95)
    assert ours.difference == pytest.approx((max(d[0] for d in diffs), max(d[1] for d in diffs)), rel=1e-9)
    assert ours.ratio == pytest.approx((min(r[0] for r in ratios), min(r[1] for r in ratios)), rel=1e-9)
    for v in values:
        assert ours.rates[v] == pytest.approx(proportion_confint(positives[v], totals[v], method="wilson"), rel=1e-9)


# ------------------------------------------------------------------------------ PSI bootstrap against scipy


def _scipy_bca_psi(observed: list[int], shares: list[float], confidence: float = 0.95) -> tuple[float, float]:
    labels = np.repeat(np.arange(len(observed)), observed)
    expected = np.maximum(np.array(shares) / sum(shares), 1e-4)

    def psi(x, axis=-1):
        counts = np.stack([(x == i).sum(axis=axis) for i in range(len(observed))], axis=-1)
        actual = np.maximum(counts / x.shape[axis], 1e-4)
        return ((actual - expected) * np.log(actual / expected)).sum(axis=-1)

    result = scipy_stats.bootstrap(
        (labels,), psi, method="BCa", n_resamples=20_000, confidence_level=confidence, rng=np.random.default_rng(7)
    )
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


@pytest.mark.parametrize(
    ("observed", "shares"),
    [
        ([62, 19, 87, 76], [0.25] * 4),  # tips' days against an even week: PSI 0.252 on 244 rows
        ([120, 60, 70, 50], [0.25] * 4),
        ([13, 52, 248, 187, 90, 227, 127], list(EDUCATION_SHARES.values())),  # anes96 education
    ],
)
def test_psi_interval_matches_scipys_bca_bootstrap(observed, shares):
    # Both are Monte Carlo (2,000 resamples here, 20,000 in scipy): equal up to resampling error.
    assert psi_interval(observed, shares, 0.95) == pytest.approx(_scipy_bca_psi(observed, shares), rel=0.05, abs=0.006)


def test_psi_interval_is_deterministic_and_needs_two_records():
    assert psi_interval([62, 19, 87, 76], [0.25] * 4, 0.95) == psi_interval([62, 19, 87, 76], [0.25] * 4, 0.95)
    with pytest.raises(ValueError, match="at least two records"):
        psi_interval([1, 0], [0.5, 0.5], 0.95)


@pytest.mark.parametrize(("n", "p"), [(20, 0.2), (50, 0.3), (400, 0.9), (10_000, 0.45)])
def test_binomial_draws_follow_the_binomial_distribution(n, p):
    rng = random.Random(3)
    draws = Counter(binomial_sample(rng, n, p) for _ in range(20_000))
    support = np.arange(n + 1)
    expected = scipy_stats.binom.pmf(support, n, p) * 20_000
    keep = expected >= 5  # pool the tails so every cell expects at least 5
    observed = [draws[k] for k in support[keep]] + [sum(draws[k] for k in support[~keep])]
    expect = [*expected[keep], expected[~keep].sum()]
    if expect[-1] < 5:
        observed[-2] += observed.pop()
        expect[-2] += expect.pop()
    assert scipy_stats.chisquare(observed, np.array(expect) * sum(observed) / sum(expect)).pvalue > 1e-3


# ------------------------------------------------------------------------------ the gate


ABOVE = Band(warn=0.1, fail=0.2, below=False, fail_on="interval")
BELOW = Band(warn=0.8, fail=0.6, below=True, fail_on="interval")


@pytest.mark.parametrize(
    ("band", "value", "interval", "status"),
    [
        (ABOVE, 0.3, (0.2, 0.4), "WARN"),  # lower bound exactly at fail_above: not past it
        (ABOVE, 0.3, (0.2000001, 0.4), "FAIL"),  # both past
        (ABOVE, 0.25, (0.15, 0.35), "WARN"),  # estimate past, interval not
        (ABOVE, 0.2, (0.19, 0.21), "WARN"),  # estimate exactly at fail_above
        (ABOVE, 0.1, (0.05, 0.15), "PASS"),  # estimate exactly at warn_above
        (ABOVE, 0.3, None, "WARN"),  # no interval: never FAIL on the interval
        (BELOW, 0.5, (0.4, 0.6), "WARN"),  # upper bound exactly at fail_below
        (BELOW, 0.5, (0.4, 0.5999999), "FAIL"),
        (BELOW, 0.55, (0.45, 0.7), "WARN"),
        (BELOW, 0.8, (0.7, 0.9), "PASS"),
        (ABOVE.model_copy(update={"fail_on": "estimate"}), 0.25, (0.15, 0.35), "FAIL"),
        (BELOW.model_copy(update={"fail_on": "estimate"}), 0.55, (0.45, 0.7), "FAIL"),
    ],
)
def test_a_fail_needs_the_interval_past_the_limit(band, value, interval, status):
    assert band.status(value, interval) == status


def test_anes96_without_a_minimum_per_value_the_13_respondents_drive_disparate_impact_to_048(anes96):
    profile = assess(counts_of(anes96), education_spec(min_records_per_value=1))
    outcome = profile["groups"]["educ"]["outcome"]
    assert outcome["too_small"] == {}
    assert outcome["disparate_impact"]["value"] == pytest.approx((3 / 13) / (108 / 227))
    assert outcome["disparate_impact"]["value"] < 0.49


def test_anes96_the_small_value_is_left_out_and_counted(anes96):
    profile = assess(counts_of(anes96), education_spec())
    figures = profile["groups"]["educ"]
    outcome = figures["outcome"]
    assert outcome["too_small"] == {"grades_1_8": 13}
    assert "grades_1_8" not in outcome["rates"]
    rates = [95 / 248, 37 / 90, 14 / 52, 81 / 187, 108 / 227, 55 / 127]
    assert outcome["disparate_impact"]["value"] == pytest.approx(min(rates) / max(rates))
    assert outcome["parity_difference"]["value"] == pytest.approx(max(rates) - min(rates))
    assert "educ: 1 values under min_records_per_value 30, left out of parity: grades_1_8 (13)" in profile["findings"]
    # representation keeps every value: being small is what representation measures
    assert [r["count"] for r in figures["representation"]] == [13, 52, 248, 187, 90, 227, 127]


@pytest.mark.parametrize(("records", "compared"), [(29, False), (30, True)])
def test_min_records_per_value_is_inclusive(records, compared):
    counts = Counter({"valid|anes": 400})
    for value, (total, positive) in {"high_school": (200, 80), "college": (records, 10)}.items():
        counts[f"group|educ|{value}"] = total
        counts[f"positive|educ|{value}"] = positive
    outcome = assess(counts, education_spec())["groups"]["educ"]["outcome"]
    assert ("college" in outcome["rates"]) is compared
    assert ("college" in outcome["too_small"]) is not compared
    assert ("parity_difference" in outcome) is compared


@pytest.mark.parametrize(("positives", "which"), [((0, 0), "no"), ((200, 100), "every")])
def test_parity_is_undefined_when_no_record_or_every_record_is_positive(positives, which):
    counts = Counter({"valid|anes": 300})
    for value, total, positive in (("high_school", 200, positives[0]), ("college", 100, positives[1])):
        counts[f"group|educ|{value}"] = total
        counts[f"positive|educ|{value}"] = positive
    profile = assess(counts, education_spec(outcome_positive=True))
    outcome = profile["groups"]["educ"]["outcome"]
    reason = f"undefined: {which} compared record has vote = True (check profile.outcome.positive)"
    assert outcome["undefined"] == reason
    for name in ("parity_difference", "disparate_impact"):
        assert outcome[name]["value"] is None
        assert outcome[name]["interval"] is None
        assert outcome[name]["status"] == "WARN"
    assert f"educ: outcome parity {reason}" in profile["findings"]
    assert profile["groups"]["educ"]["status"] != "PASS"
    assert profile["status"] != "PASS"


def test_the_psi_gate_does_not_flip_on_noise():
    """tips' days on 244 rows (PSI 0.2522 against an even week) and a resample (0.2477): both WARN."""
    spec = education_spec(groups={"day": {"thu": 0.25, "fri": 0.25, "sat": 0.25, "sun": 0.25}}, outcome_field=None)
    for days in ((62, 19, 87, 76), (63, 20, 86, 75)):
        counts = Counter({"valid|anes": 244})
        counts.update({f"group|day|{d}": n for d, n in zip(("thu", "fri", "sat", "sun"), days, strict=True)})
        psi = assess(counts, spec)["groups"]["day"]["psi"]
        assert psi["status"] == "WARN"
        assert psi["interval"][0] < 0.25 < psi["interval"][1]
    counts = Counter({"valid|anes": 244, "group|day|thu": 62, "group|day|fri": 19, "group|day|sat": 87})
    counts["group|day|sun"] = 76
    psi = assess(counts, spec)["groups"]["day"]["psi"]
    assert psi["value"] > 0.25
    assert psi["reason"].startswith("the estimate is past fail_above 0.25, but its interval [")


def test_a_psi_whose_whole_interval_is_past_the_limit_fails():
    spec = education_spec(groups={"day": {"thu": 0.25, "fri": 0.25, "sat": 0.25, "sun": 0.25}}, outcome_field=None)
    counts = Counter({"valid|anes": 1000, "group|day|thu": 600, "group|day|fri": 50, "group|day|sat": 300})
    counts["group|day|sun"] = 50
    psi = assess(counts, spec)["groups"]["day"]["psi"]
    assert psi["interval"][0] > 0.25
    assert psi["status"] == "FAIL"
    assert "reason" not in psi
