"""`make mutate-sample`: the interval it reports with a sampled mutation score."""

from __future__ import annotations

import pytest
from statsmodels.stats.proportion import proportion_confint  # type: ignore[import-untyped]

from tools.mutate_sample import wilson_interval


@pytest.mark.parametrize(("killed", "total"), [(0, 30), (1, 30), (16, 30), (27, 30), (30, 30), (1, 1), (950, 1000)])
def test_the_wilson_interval_equals_statsmodels(killed, total):
    low, high = proportion_confint(killed, total, alpha=0.05, method="wilson")
    assert wilson_interval(killed, total) == pytest.approx((low, high), abs=1e-12)


def test_no_trials_say_nothing():
    assert wilson_interval(0, 0) == (0.0, 1.0)
