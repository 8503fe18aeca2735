"""Bias statistics, edges: argument checks, two groups, unnormalized shares, empty and tiny groups."""

from __future__ import annotations

import math

import pytest
from pipeline.stats import (
    chi_square_goodness_of_fit,
    outcome_parity,
    population_stability_index,
    regularized_gamma_q,
)
from scipy import stats as scipy_stats  # type: ignore[import-untyped]


@pytest.mark.parametrize("a", [0.0, -1.0])
def test_gamma_q_needs_a_positive_shape(a):
    with pytest.raises(ValueError, match=r"^a must be positive$"):
        regularized_gamma_q(a, 1.0)


@pytest.mark.parametrize(("observed", "reference"), [([1, 2, 3], [0.5, 0.5]), ([5], [1.0])])
def test_chi_square_needs_two_groups_with_a_share_each(observed, reference):
    with pytest.raises(ValueError, match=r"^need at least two groups, with one reference share each$"):
        chi_square_goodness_of_fit(observed, reference)


@pytest.mark.parametrize(
    ("observed", "reference"),
    [
        ([30, 70], [0.5, 0.5]),  # two groups: one degree of freedom
        ([10, 20, 30], [1, 1, 2]),  # shares that do not sum to 1 are normalized
        ([1, 0], [0.5, 0.5]),  # expected counts below 1 still count
    ],
)
def test_chi_square_matches_scipy_on_edges(observed, reference):
    n = sum(observed)
    expected = [n * share / sum(reference) for share in reference]
    ref = scipy_stats.chisquare(observed, expected)
    chi = chi_square_goodness_of_fit(observed, reference)
    assert chi.dof == len(observed) - 1
    assert chi.statistic == pytest.approx(ref.statistic)
    assert chi.p_value == pytest.approx(ref.pvalue)


def test_chi_square_skips_groups_with_a_zero_share():
    chi = chi_square_goodness_of_fit([10, 20, 0], [0.5, 0.5, 0.0])
    assert chi.statistic == pytest.approx(10 / 3)  # (10 - 15)^2 / 15 + (20 - 15)^2 / 15
    assert chi.dof == 2


def test_psi_normalizes_the_reference_shares():
    # shares 0.25 / 0.75 given as 1 / 3; observed 0.5 / 0.5
    expected = (0.5 - 0.25) * math.log(0.5 / 0.25) + (0.5 - 0.75) * math.log(0.5 / 0.75)
    assert population_stability_index([5, 5], [1, 3]) == pytest.approx(expected)


def test_psi_of_no_records_uses_the_epsilon_share():
    expected = 2 * (1e-4 - 0.5) * math.log(1e-4 / 0.5)
    assert population_stability_index([0, 0], [0.5, 0.5]) == pytest.approx(expected)


def test_parity_counts_a_group_without_a_positive_counter_as_zero():
    parity = outcome_parity({"a": 3}, {"a": 4, "b": 1, "c": 0})
    assert parity.rates == {"a": 0.75, "b": 0.0}
    assert parity.difference == 0.75
    assert parity.ratio == 0.0


def test_parity_of_all_zero_rates_is_a_ratio_of_one():
    parity = outcome_parity({}, {"a": 2, "b": 3})
    assert parity.rates == {"a": 0.0, "b": 0.0}
    assert parity.difference == 0.0
    assert parity.ratio == 1.0


def test_parity_needs_two_groups_with_records():
    with pytest.raises(ValueError, match=r"^parity needs at least two groups with records$"):
        outcome_parity({"a": 1}, {"a": 2, "b": 0})
