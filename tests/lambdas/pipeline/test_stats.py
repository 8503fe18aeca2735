"""Bias figures against reference implementations on the same data: scipy and fairlearn (test-only)."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest
from fairlearn.metrics import demographic_parity_difference, demographic_parity_ratio  # type: ignore[import-untyped]
from hypothesis import given, settings
from hypothesis import strategies as st
from pipeline.profiling import assess, count_groups
from pipeline.stats import chi2_sf, chi_square_goodness_of_fit, outcome_parity, population_stability_index
from scipy import stats as scipy_stats  # type: ignore[import-untyped]
from scipy.special import rel_entr  # type: ignore[import-untyped]

from tests.lambdas.pipeline.harness import profile_spec
from tools.generate_sample_data import generate

SPEC = profile_spec()


@pytest.fixture(scope="module")
def profiles() -> list[dict]:
    """The sample's valid profiles (one per customer), as the pipeline profiles them."""
    files = generate()
    rows = [
        json.loads(line)
        for name in ("profiles/part-000.jsonl", "profiles/part-001.jsonl")
        for line in files[name].decode().splitlines()
    ]
    unique = {r["customer_id"]: r for r in rows if not str(r["customer_id"]).startswith("C09")}
    return list(unique.values())


@settings(max_examples=200, deadline=None)
@given(st.floats(0, 2000, allow_nan=False), st.integers(1, 200))
def test_chi_square_survival_matches_scipy(statistic, dof):
    assert chi2_sf(statistic, dof) == pytest.approx(scipy_stats.chi2.sf(statistic, dof), rel=1e-9, abs=1e-300)


@pytest.mark.parametrize("group", ["age_band", "region"])
def test_representation_figures_match_scipy_on_the_sample(profiles, group):
    reference = SPEC.groups[group]
    counts = Counter(p[group] for p in profiles)
    observed = [counts[value] for value in reference]
    shares = np.array(list(reference.values()))
    ours = chi_square_goodness_of_fit(observed, list(reference.values()))
    theirs = scipy_stats.chisquare(observed, shares * sum(observed))
    assert ours.statistic == pytest.approx(theirs.statistic, rel=1e-12)
    assert ours.p_value == pytest.approx(theirs.pvalue, rel=1e-9)
    actual = np.array(observed) / sum(observed)
    # PSI is the symmetric Kullback-Leibler divergence: KL(a||e) + KL(e||a).
    reference_psi = float(np.sum(rel_entr(actual, shares) + rel_entr(shares, actual)))
    assert population_stability_index(observed, list(reference.values())) == pytest.approx(reference_psi, rel=1e-12)


@pytest.mark.parametrize("group", ["age_band", "region"])
def test_outcome_parity_matches_fairlearn_on_the_sample(profiles, group):
    y = np.array([1 if p["retained"] else 0 for p in profiles])
    groups = np.array([p[group] for p in profiles])
    positives = Counter(p[group] for p in profiles if p["retained"])
    totals = Counter(p[group] for p in profiles)
    ours = outcome_parity(positives, totals)
    assert ours.difference == pytest.approx(demographic_parity_difference(y, y, sensitive_features=groups), rel=1e-12)
    assert ours.ratio == pytest.approx(demographic_parity_ratio(y, y, sensitive_features=groups), rel=1e-12)


def test_the_profile_of_the_sample_finds_the_planted_imbalance(profiles):
    counts = count_groups(profiles, SPEC) + Counter({"valid|profiles": len(profiles)})
    profile = assess(counts, SPEC)
    age = profile["groups"]["age_band"]
    assert age["psi"]["status"] == "WARN"  # 55+ is 8% of the sample against 22% of the customer base
    assert age["chi_square"]["status"] == "WARN"  # significance only warns (data.yaml)
    assert age["outcome"]["parity_difference"]["status"] == "PASS"  # retention does not depend on age
    region = profile["groups"]["region"]
    assert region["psi"]["status"] == "PASS"
    assert region["outcome"]["parity_difference"]["value"] == pytest.approx(0.16)
    assert region["outcome"]["parity_difference"]["status"] == "WARN"
    assert profile["status"] == "WARN"


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(1, 500), min_size=2, max_size=8), st.data())
def test_psi_matches_symmetric_kl_on_any_distribution(observed, data):
    weights = data.draw(st.lists(st.floats(0.01, 1), min_size=len(observed), max_size=len(observed)))
    shares = np.array(weights) / sum(weights)
    actual = np.array(observed) / sum(observed)
    expected = float(np.sum(rel_entr(actual, shares) + rel_entr(shares, actual)))
    assert population_stability_index(observed, list(shares)) == pytest.approx(expected, rel=1e-9, abs=1e-12)
