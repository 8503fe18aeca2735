"""The quality gate: does a run's metrics pass, and why not. Pure: plain numbers in, a verdict out.

Used by the observability stage's scheduled evaluation (lambdas/evaluation) and meant for the scale stage: a
quantized model is accepted when it is `compare`-d `within` a margin of the full-precision model; a fine-tuned
model is promoted when it `beats` the base model by a margin.

Every metric has a direction (`DIRECTIONS`): higher is better for BLEU, ROUGE, exact match and F1 (a threshold
on them is a minimum), lower is better for WER, perplexity and latency (a threshold is a maximum).

- `gate(values, thresholds, baseline=..., margin=...)`: fails for every metric that crosses its threshold, and
  for every metric that dropped from ``baseline`` (the last accepted run) by more than ``margin``; a `Verdict`
  lists each reason. A threshold on a metric the run has no value for (perplexity without log-probabilities) is
  "not available": reported, never a pass or a fail. A metric missing from ``values`` but thresholded is the
  same; one that is None in ``baseline`` is not compared.
- `compare(candidate, baseline, margin)`: a `Comparison` of the metrics both sides have: ``within`` (no metric
  worse than the baseline by more than the margin) and ``beats`` (every metric better by at least the margin).

A margin is **relative**, a fraction of the baseline's value (0.05: 5%), because one absolute number cannot
suit BLEU (0-100) and ROUGE (0-1) together; a mapping gives a margin per metric (others get ``DEFAULT_MARGIN``,
0). Against a baseline of 0 a relative margin allows nothing, which is right for WER (0 is perfect).

Boundaries: a value *at* a threshold passes; a drop of *exactly* the margin passes. Values equal within
``TOLERANCE`` (relative, 1e-9) count as equal, so float rounding (0.40 - 0.38 = 0.020000000000000018) never
decides a verdict.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

TOLERANCE = 1e-9
DEFAULT_MARGIN = 0.0


class Direction(StrEnum):
    HIGHER_IS_BETTER = "higher"
    LOWER_IS_BETTER = "lower"


# The metric names of the kit (the CloudWatch metric names of the quality dashboard).
DIRECTIONS: dict[str, Direction] = {
    "BLEU": Direction.HIGHER_IS_BETTER,
    "ROUGE1": Direction.HIGHER_IS_BETTER,
    "ROUGE2": Direction.HIGHER_IS_BETTER,
    "ROUGEL": Direction.HIGHER_IS_BETTER,
    "ExactMatch": Direction.HIGHER_IS_BETTER,
    "F1": Direction.HIGHER_IS_BETTER,
    "WER": Direction.LOWER_IS_BETTER,
    "Perplexity": Direction.LOWER_IS_BETTER,
    "LatencyP50": Direction.LOWER_IS_BETTER,
    "LatencyP90": Direction.LOWER_IS_BETTER,
}

Values = Mapping[str, float | None]
Margin = float | Mapping[str, float]
ReasonKind = Literal["threshold", "regression"]


def direction_of(metric: str) -> Direction:
    """The metric's direction; an unknown name is a KeyError that names the known ones."""
    try:
        return DIRECTIONS[metric]
    except KeyError:
        raise KeyError(f"unknown metric {metric!r}; known: {', '.join(DIRECTIONS)}") from None


def _at_least(value: float, bound: float) -> bool:
    return value >= bound or math.isclose(value, bound, rel_tol=TOLERANCE, abs_tol=TOLERANCE)


def _no_worse(metric: str, value: float, bound: float) -> bool:
    """``value`` is on the good side of ``bound`` or on it."""
    if direction_of(metric) is Direction.HIGHER_IS_BETTER:
        return _at_least(value, bound)
    return _at_least(-value, -bound)


def _margin_of(margin: Margin, metric: str) -> float:
    value = margin.get(metric, DEFAULT_MARGIN) if isinstance(margin, Mapping) else margin
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"margin of {metric} must be a finite fraction >= 0, got {value!r}")
    return value


def _shifted(metric: str, baseline: float, fraction: float) -> float:
    """``baseline`` moved by ``fraction`` of its size in the metric's *better* direction (negative: worse)."""
    step = fraction * abs(baseline)
    return baseline + step if direction_of(metric) is Direction.HIGHER_IS_BETTER else baseline - step


@dataclass(frozen=True)
class Reason:
    """Why a metric failed the gate: it crossed its threshold, or it regressed from the last accepted run."""

    metric: str
    kind: ReasonKind
    value: float
    limit: float  # the threshold, or the worst value the margin allows
    baseline: float | None = None

    @property
    def message(self) -> str:
        if self.kind == "threshold":
            side = "minimum" if direction_of(self.metric) is Direction.HIGHER_IS_BETTER else "maximum"
            return f"{self.metric} {self.value:.4g} is past its {side} {self.limit:.4g}"
        return (
            f"{self.metric} {self.value:.4g} regressed from the last accepted {self.baseline:.4g} "
            f"past the margin (worst allowed {self.limit:.4g})"
        )


@dataclass(frozen=True)
class Verdict:
    passed: bool
    reasons: tuple[Reason, ...]
    checked: tuple[str, ...]  # thresholded metrics with a value
    not_available: tuple[str, ...]  # thresholded metrics without one (never a pass, never a fail)


def gate(
    values: Values, thresholds: Mapping[str, float], *, baseline: Values | None = None, margin: Margin = 0.0
) -> Verdict:
    """The verdict on one run's ``values`` (see the module docstring)."""
    reasons: list[Reason] = []
    checked, missing = [], []
    for metric, limit in thresholds.items():
        value = values.get(metric)
        if value is None:
            missing.append(metric)
            continue
        checked.append(metric)
        if not _no_worse(metric, value, limit):
            reasons.append(Reason(metric, "threshold", value, limit))
    if baseline:
        comparison = compare(values, baseline, margin)
        reasons.extend(
            Reason(d.metric, "regression", d.candidate, d.worst_allowed, d.baseline) for d in comparison.regressions
        )
    return Verdict(not reasons, tuple(reasons), tuple(checked), tuple(missing))


@dataclass(frozen=True)
class Delta:
    """One metric of a candidate against its baseline."""

    metric: str
    candidate: float
    baseline: float
    margin: float  # the relative margin applied to this metric

    @property
    def improvement(self) -> float:
        """How much better the candidate is, in the metric's unit (negative: worse)."""
        change = self.candidate - self.baseline
        return change if direction_of(self.metric) is Direction.HIGHER_IS_BETTER else -change

    @property
    def worst_allowed(self) -> float:
        """The worst value within the margin of the baseline."""
        return _shifted(self.metric, self.baseline, -self.margin)

    @property
    def within(self) -> bool:
        """No worse than the baseline by more than the margin."""
        return _no_worse(self.metric, self.candidate, self.worst_allowed)

    @property
    def beats(self) -> bool:
        """Better than the baseline by at least the margin (with margin 0: at least as good)."""
        return _no_worse(self.metric, self.candidate, _shifted(self.metric, self.baseline, self.margin))


@dataclass(frozen=True)
class Comparison:
    deltas: tuple[Delta, ...]  # the metrics both sides have a value for, in the candidate's order

    @property
    def within(self) -> bool:
        """Every metric within the margin of the baseline ("quantized within 2% of full precision")."""
        return all(d.within for d in self.deltas)

    @property
    def beats(self) -> bool:
        """Every metric better by at least the margin ("fine-tuned beats the base by 5%")."""
        return bool(self.deltas) and all(d.beats for d in self.deltas)

    @property
    def regressions(self) -> tuple[Delta, ...]:
        return tuple(d for d in self.deltas if not d.within)


def compare(candidate: Values, baseline: Values, margin: Margin = 0.0) -> Comparison:
    """``candidate`` against ``baseline`` on the metrics both have a value for, with a relative ``margin``."""
    deltas = []
    for metric, value in candidate.items():
        base = baseline.get(metric)
        if value is None or base is None:
            continue
        deltas.append(Delta(metric, value, base, _margin_of(margin, metric)))
    return Comparison(tuple(deltas))
