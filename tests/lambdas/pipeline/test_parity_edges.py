"""`parity_intervals` at its edges: which groups take part, a group of one record, a group of one positive, groups
absent from the positives, and the errors. Expected intervals from statsmodels (`confint_proportions_2indep`:
Newcombe difference, Katz log ratio); with two groups there is one pair, so no Bonferroni adjustment."""

from __future__ import annotations

import pytest
from pipeline.stats import parity_intervals
from statsmodels.stats.proportion import confint_proportions_2indep  # type: ignore[import-untyped]


def test_a_group_of_one_record_with_one_positive_holds_the_minimum_ratio():
    """3 of 10 against 1 of 1: the ratio 0.3 and the difference 0.7 come from the pair whose second group has a
    single record and a single positive; both orders of the pair are considered."""
    result = parity_intervals({"i": 3, "j": 1}, {"i": 10, "j": 1}, 0.95)
    low, high = confint_proportions_2indep(3, 10, 1, 1, compare="ratio", method="log")
    assert high < 1  # so the minimum over both orders is this one, not j over i
    assert result.ratio == pytest.approx((low, high), rel=1e-9)
    low, high = confint_proportions_2indep(1, 1, 3, 10, compare="diff", method="newcomb")
    assert result.difference == pytest.approx((max(low, -high), max(high, -low)), rel=1e-9)
    assert set(result.rates) == {"i", "j"}


def test_a_group_without_records_takes_no_part():
    with_empty = parity_intervals({"a": 3, "b": 5, "c": 0}, {"a": 10, "b": 10, "c": 0}, 0.95)
    assert with_empty == parity_intervals({"a": 3, "b": 5}, {"a": 10, "b": 10}, 0.95)
    assert set(with_empty.rates) == {"a", "b"}


def test_a_group_missing_from_the_positives_has_none():
    assert parity_intervals({"a": 4}, {"a": 10, "b": 10}, 0.95) == parity_intervals(
        {"a": 4, "b": 0}, {"a": 10, "b": 10}, 0.95
    )


def test_the_errors_say_what_is_missing():
    with pytest.raises(ValueError, match=r"^parity needs at least two groups with records$"):
        parity_intervals({"a": 1, "b": 1}, {"a": 5, "b": 0}, 0.95)
    with pytest.raises(ValueError, match=r"^parity intervals need some positive outcome$"):
        parity_intervals({}, {"a": 5, "b": 5}, 0.95)
