"""Bias statistics in pure Python (the Lambda runtime has no scipy): chi-square goodness of fit with its
p-value, population stability index, demographic-parity difference and disparate-impact ratio.

tests/lambdas/pipeline/test_stats.py checks every figure against scipy and fairlearn on the same data.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

PSI_EPSILON = 1e-4  # share used for a group with no records, so ln() stays finite (common PSI practice)
_EPS = 1e-15
_MAX_ITERATIONS = 10_000


def regularized_gamma_q(a: float, x: float) -> float:
    """Q(a, x) = Γ(a, x) / Γ(a), the upper regularized incomplete gamma function."""
    if a <= 0:
        raise ValueError("a must be positive")
    if x <= 0:
        return 1.0
    log_prefactor = a * math.log(x) - x - math.lgamma(a)
    if x < a + 1:  # the series for P converges fast here
        term = total = 1.0 / a
        n = a
        for _ in range(_MAX_ITERATIONS):
            n += 1
            term *= x / n
            total += term
            if abs(term) < abs(total) * _EPS:
                break
        return max(0.0, 1.0 - total * math.exp(log_prefactor))
    # Continued fraction for Q (modified Lentz).
    tiny = 1e-300
    b = x + 1 - a
    c = 1 / tiny
    d = 1 / b
    h = d
    for i in range(1, _MAX_ITERATIONS):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1 / d
        delta = d * c
        h *= delta
        if abs(delta - 1) < _EPS:
            break
    return min(1.0, math.exp(log_prefactor) * h)


def chi2_sf(statistic: float, dof: int) -> float:
    """P(X >= statistic) for X ~ chi-square with ``dof`` degrees of freedom."""
    return regularized_gamma_q(dof / 2, statistic / 2)


@dataclass(frozen=True)
class ChiSquare:
    statistic: float
    dof: int
    p_value: float


def chi_square_goodness_of_fit(observed: Sequence[int], reference: Sequence[float]) -> ChiSquare:
    """Pearson's test of observed counts against reference shares (expected = n * share)."""
    if len(observed) != len(reference) or len(observed) < 2:
        raise ValueError("need at least two groups, with one reference share each")
    n = sum(observed)
    total_share = sum(reference)
    expected = [n * share / total_share for share in reference]
    statistic = sum((o - e) ** 2 / e for o, e in zip(observed, expected, strict=True) if e > 0)
    dof = len(observed) - 1
    return ChiSquare(statistic, dof, chi2_sf(statistic, dof))


def population_stability_index(observed: Sequence[int], reference: Sequence[float]) -> float:
    """PSI = sum((a - e) * ln(a / e)) over groups, with observed shares a and reference shares e."""
    n = sum(observed)
    total_share = sum(reference)
    psi = 0.0
    for count, share in zip(observed, reference, strict=True):
        actual = max(count / n if n else 0.0, PSI_EPSILON)
        expected = max(share / total_share, PSI_EPSILON)
        psi += (actual - expected) * math.log(actual / expected)
    return psi


@dataclass(frozen=True)
class Parity:
    rates: dict[str, float]  # favourable-outcome rate per group with records
    difference: float  # max rate - min rate (demographic-parity difference)
    ratio: float  # min rate / max rate (disparate-impact ratio); 1.0 when every rate is 0


def outcome_parity(positives: Mapping[str, int], totals: Mapping[str, int]) -> Parity:
    """Rates of the favourable outcome per group, and their spread; groups without records are skipped."""
    rates = {group: positives.get(group, 0) / total for group, total in totals.items() if total > 0}
    if len(rates) < 2:
        raise ValueError("parity needs at least two groups with records")
    high, low = max(rates.values()), min(rates.values())
    return Parity(rates=rates, difference=high - low, ratio=low / high if high > 0 else 1.0)
