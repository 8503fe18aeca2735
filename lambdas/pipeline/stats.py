"""Bias statistics in pure Python (the Lambda runtime has no scipy): chi-square goodness of fit with its
p-value, population stability index, demographic-parity difference and disparate-impact ratio, and the
confidence intervals that keep the gate from failing on sampling noise (`wilson`, `newcombe_difference`,
`katz_ratio`, `parity_intervals`, `psi_interval`).

tests/lambdas/pipeline/test_stats.py checks every figure against scipy and fairlearn on the same data;
tests/lambdas/pipeline/test_intervals.py checks the intervals against statsmodels and scipy.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from statistics import NormalDist

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


# --------------------------------------------------------------------------------------------------------
# Confidence intervals. A group's figures come from a sample of the population the model will serve, so a
# point estimate just past a threshold can be noise (a PSI of 0.2526 on 244 rows is 0.2477 on a resample).
# --------------------------------------------------------------------------------------------------------

Interval = tuple[float, float]
_NORMAL = NormalDist()
BOOTSTRAP_REPLICATES = 2000  # resamples of the PSI bootstrap: a few ms per group field, once per run
BOOTSTRAP_SEED = 16  # fixed: the same counts always give the same interval (re-runs agree, tests are exact)


def z_value(confidence: float, comparisons: int = 1) -> float:
    """The two-sided normal quantile for ``confidence``, Bonferroni-adjusted over ``comparisons``."""
    return _NORMAL.inv_cdf(1 - (1 - confidence) / (2 * comparisons))


def wilson(successes: int, total: int, z: float) -> Interval:
    """Wilson score interval of a proportion (Wilson 1927, JASA 22:209; Newcombe 1998, Stat Med 17:857,
    method 3): unlike the Wald interval it stays inside [0, 1] and keeps its coverage near 0 and 1, where
    small groups and rare outcomes put the rates."""
    if total <= 0:
        raise ValueError("a proportion needs at least one record")
    p = successes / total
    denominator = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denominator
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def newcombe_difference(x1: int, n1: int, x2: int, n2: int, z: float) -> Interval:
    """Interval of p1 - p2 for two independent proportions: Newcombe's hybrid score interval (Newcombe 1998,
    Stat Med 17:873, method 10), built from the two Wilson intervals; good coverage down to small groups
    and zero counts, where the Wald difference interval fails."""
    p1, p2 = x1 / n1, x2 / n2
    low1, high1 = wilson(x1, n1, z)
    low2, high2 = wilson(x2, n2, z)
    difference = p1 - p2
    return (
        difference - math.sqrt((p1 - low1) ** 2 + (high2 - p2) ** 2),
        difference + math.sqrt((high1 - p1) ** 2 + (p2 - low2) ** 2),
    )


def katz_ratio(x1: int, n1: int, x2: int, n2: int, z: float) -> Interval:
    """Interval of p1 / p2 (needs x2 > 0): the Katz log interval (Katz, Baptista, Azen and Pike 1978,
    Biometrics 34:469), exp(ln(p1/p2) +- z sqrt(1/x1 - 1/n1 + 1/x2 - 1/n2)). With x1 = 0 the ratio is 0 and
    the log undefined: the lower bound is then 0 and the upper one is the interval with 0.5 added to each
    count and total (the usual adjustment; statsmodels' "log-adjusted")."""
    if x2 <= 0:
        raise ValueError("the ratio needs a positive count in the denominator")
    if x1 == 0:
        a1, m1, a2, m2 = x1 + 0.5, n1 + 0.5, x2 + 0.5, n2 + 0.5
        return 0.0, (a1 / m1) / (a2 / m2) * math.exp(z * math.sqrt(1 / a1 - 1 / m1 + 1 / a2 - 1 / m2))
    log_ratio = math.log((x1 / n1) / (x2 / n2))
    spread = z * math.sqrt(1 / x1 - 1 / n1 + 1 / x2 - 1 / n2)
    return math.exp(log_ratio - spread), math.exp(log_ratio + spread)


@dataclass(frozen=True)
class ParityIntervals:
    rates: dict[str, Interval]  # Wilson interval per group's rate, at the confidence level
    difference: Interval  # of max rate - min rate, simultaneous over all pairs
    ratio: Interval  # of min rate / max rate, simultaneous over all pairs


def parity_intervals(positives: Mapping[str, int], totals: Mapping[str, int], confidence: float) -> ParityIntervals:
    """Intervals for the parity figures of k >= 2 groups, every group with records and some positives.

    The parity difference is D = max over pairs (p_i - p_j) and the disparate impact R = min over pairs
    (p_i / p_j). Each of the m = k(k-1)/2 pairs gets a Newcombe (difference) and a Katz (ratio) interval at
    the Bonferroni-adjusted level 1 - (1 - confidence) / m, so with at least the stated confidence every
    pair's interval holds at once, and then D lies in [max_ij low_ij, max_ij high_ij] and R in
    [min_ij low_ij, min_ij high_ij]. With two groups this is the plain two-sample interval. Testing only the
    observed extreme pair would ignore that it was picked for being extreme (the estimate is biased away
    from parity), which is the noise this is meant to stop. Pairs whose denominator has no positives give
    no ratio interval: they cannot hold the minimum ratio unless every rate is zero (then parity is
    undefined and no interval is asked for).
    """
    groups = [g for g, total in totals.items() if total > 0]
    if len(groups) < 2:
        raise ValueError("parity needs at least two groups with records")
    if not any(positives.get(g, 0) for g in groups):
        raise ValueError("parity intervals need some positive outcome")
    z_rate = z_value(confidence)
    z_pair = z_value(confidence, len(groups) * (len(groups) - 1) // 2)
    rates = {g: wilson(positives.get(g, 0), totals[g], z_rate) for g in groups}
    differences: list[Interval] = []
    ratios: list[Interval] = []
    for a, b in combinations(groups, 2):
        for i, j in ((a, b), (b, a)):
            xi, ni, xj, nj = positives.get(i, 0), totals[i], positives.get(j, 0), totals[j]
            differences.append(newcombe_difference(xi, ni, xj, nj, z_pair))
            if xj > 0:
                ratios.append(katz_ratio(xi, ni, xj, nj, z_pair))
    return ParityIntervals(
        rates=rates,
        difference=(max(d[0] for d in differences), max(d[1] for d in differences)),
        ratio=(min(r[0] for r in ratios), min(r[1] for r in ratios)),
    )


def binomial_sample(rng: random.Random, n: int, p: float) -> int:
    """One Binomial(n, p) draw with the stdlib's uniform generator (Python 3.11 has no binomialvariate).

    Devroye's geometric method for n * p < 10 (Devroye 1986, Non-Uniform Random Variate Generation, X.4.3);
    otherwise Hörmann's BTRS transformed rejection with squeeze (Hörmann 1993, J. Stat. Comput. Simul.
    46:101), the algorithm of CPython 3.12's `random.binomialvariate`: O(1) per draw whatever n.
    """
    if p <= 0.0 or n <= 0:
        return 0
    if p >= 1.0:
        return n
    if p > 0.5:
        return n - binomial_sample(rng, n, 1.0 - p)
    if n * p < 10.0:
        c = math.log(1.0 - p)
        x = y = 0
        while True:
            y += math.floor(math.log(1.0 - rng.random()) / c) + 1
            if y > n:
                return x
            x += 1
    spq = math.sqrt(n * p * (1.0 - p))
    b = 1.15 + 2.53 * spq
    a = -0.0873 + 0.0248 * b + 0.01 * p
    c = n * p + 0.5
    vr = 0.92 - 4.2 / b
    alpha = (2.83 + 5.1 / b) * spq
    lpq = math.log(p / (1.0 - p))
    m = math.floor((n + 1) * p)
    h = math.lgamma(m + 1) + math.lgamma(n - m + 1)
    while True:
        u = rng.random() - 0.5
        us = 0.5 - abs(u)
        k = math.floor((2.0 * a / us + b) * u + c)
        if k < 0 or k > n:
            continue
        v = rng.random()
        if us >= 0.07 and v <= vr:
            return k
        v *= alpha / (a / (us * us) + b)
        if v > 0 and math.log(v) <= h - math.lgamma(k + 1) - math.lgamma(n - k + 1) + (k - m) * lpq:
            return k


def multinomial_sample(rng: random.Random, n: int, shares: Sequence[float]) -> list[int]:
    """One Multinomial(n, shares) draw as conditional binomials."""
    counts: list[int] = []
    left, remaining = n, 1.0
    for share in shares[:-1]:
        draw = binomial_sample(rng, left, min(1.0, share / remaining)) if left and remaining > 0 else 0
        counts.append(draw)
        left -= draw
        remaining -= share
    return [*counts, left]


def _percentile(ordered: Sequence[float], q: float) -> float:
    """Linear interpolation between order statistics (numpy's default method)."""
    position = q * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def psi_interval(
    observed: Sequence[int],
    reference: Sequence[float],
    confidence: float,
    *,
    replicates: int = BOOTSTRAP_REPLICATES,
    seed: int = BOOTSTRAP_SEED,
) -> Interval:
    """Bias-corrected and accelerated (BCa) bootstrap interval of the PSI (Efron 1987, JASA 82:171; Efron
    and Tibshirani 1993, An Introduction to the Bootstrap, ch. 14), resampling the observed counts as a
    multinomial (the same as resampling the records) with a fixed seed.

    PSI has no usable closed-form interval: it is biased upwards by about (k - 1) / n and skewed, most at
    the small sizes where the gate flipped. The plain percentile interval would add that bias a second
    time; BCa corrects the median bias (z0, from the share of replicates below the estimate) and the
    skewness (acceleration, from the jackknife, here exact and cheap: deleting one record of value i gives
    one of k distinct values, weighted by its count). A share of 0 or 1 below the estimate (every replicate
    on one side, e.g. an estimate of 0) is clamped to 1 / (2B) so the interval stays finite.
    """
    n = sum(observed)
    if n <= 1:
        raise ValueError("a PSI interval needs at least two records")
    estimate = population_stability_index(observed, reference)
    rng = random.Random(seed)  # noqa: S311 - a seeded statistical resample, not a secret
    shares = [count / n for count in observed]
    replicas = sorted(
        population_stability_index(multinomial_sample(rng, n, shares), reference) for _ in range(replicates)
    )
    below = sum(1 for value in replicas if value < estimate) / replicates
    below = min(max(below, 1 / (2 * replicates)), 1 - 1 / (2 * replicates))
    z0 = _NORMAL.inv_cdf(below)
    jackknife = [
        (count, population_stability_index([c - (i == j) for j, c in enumerate(observed)], reference))
        for i, count in enumerate(observed)
        if count
    ]
    mean = sum(count * value for count, value in jackknife) / n
    spread = sum(count * (mean - value) ** 2 for count, value in jackknife)
    skew = sum(count * (mean - value) ** 3 for count, value in jackknife)
    acceleration = skew / (6 * spread**1.5) if spread > 0 else 0.0

    def adjusted(z_alpha: float) -> float:
        return _NORMAL.cdf(z0 + (z0 + z_alpha) / (1 - acceleration * (z0 + z_alpha)))

    z = z_value(confidence)
    return _percentile(replicas, adjusted(-z)), _percentile(replicas, adjusted(z))
