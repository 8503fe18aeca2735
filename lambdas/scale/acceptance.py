"""Whether a cheaper or a customized model may replace the one it derives from: two pure decisions on metrics.

Both apply the kit's evaluation gate (`common.evaluation.gate`) on the golden set's metrics:

- `accept_quantized`: a quantized hosted model is accepted only when its metrics meet the use case's thresholds
  (usecase.yaml `evaluation`) **and** every quality metric is within the relative ``margin`` of the full-precision
  run of the same model on the same golden set (`Comparison.within`): "accept the accuracy loss as long as the
  evaluation metrics are still met".
- `promote_fine_tuned`: a customized model is promoted only when it meets the thresholds **and** beats the base
  model by the margin on every quality metric (`Comparison.beats`).

Only the quality metrics of the task's kind (`scoring.QUALITY_METRICS`) are compared: a quantized model is meant
to be faster, so its latency must not count against it, and latency is no reason to promote a fine-tuned one.
Two runs without a quality metric in common are never accepted (nothing was compared).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from common.evaluation import gate
from common.evaluation.kinds import QUALITY_METRICS

Values = Mapping[str, float | None]


@dataclass(frozen=True)
class Decision:
    accepted: bool
    reasons: tuple[str, ...]  # why not; empty when accepted
    verdict: gate.Verdict
    comparison: gate.Comparison

    def as_dict(self) -> dict[str, object]:
        """JSON for the workflow state and the report."""
        return {
            "accepted": self.accepted,
            "reasons": list(self.reasons),
            "not_available": list(self.verdict.not_available),
            "deltas": [
                {
                    "metric": d.metric,
                    "candidate": d.candidate,
                    "baseline": d.baseline,
                    "margin": d.margin,
                    "within": d.within,
                    "beats": d.beats,
                }
                for d in self.comparison.deltas
            ],
        }


def quality_values(values: Values, kind: str) -> dict[str, float | None]:
    """The quality metrics of ``kind`` in ``values`` (absent ones left out)."""
    return {metric: values[metric] for metric in QUALITY_METRICS[kind] if metric in values}


def _decide(
    candidate: Values,
    baseline: Values,
    thresholds: Mapping[str, float],
    margin: float,
    kind: str,
    *,
    must_beat: bool,
    baseline_name: str,
) -> Decision:
    verdict = gate.gate(candidate, thresholds)
    comparison = gate.compare(quality_values(candidate, kind), quality_values(baseline, kind), margin)
    reasons = [reason.message for reason in verdict.reasons]
    if not comparison.deltas:
        reasons.append(f"no quality metric in common with the {baseline_name} run: nothing to compare")
    for delta in comparison.deltas:
        if must_beat and not delta.beats:
            reasons.append(
                f"{delta.metric} {delta.candidate:.4g} does not beat the {baseline_name} {delta.baseline:.4g} "
                f"by the margin {delta.margin:.2%}"
            )
        elif not must_beat and not delta.within:
            reasons.append(
                f"{delta.metric} {delta.candidate:.4g} is not within {delta.margin:.2%} of the {baseline_name} "
                f"{delta.baseline:.4g} (worst allowed {delta.worst_allowed:.4g})"
            )
    return Decision(not reasons, tuple(reasons), verdict, comparison)


def accept_quantized(
    quantized: Values, full_precision: Values, thresholds: Mapping[str, float], margin: float, kind: str = "text"
) -> Decision:
    """Accept the quantized model: thresholds met and every quality metric within ``margin`` of full precision."""
    return _decide(quantized, full_precision, thresholds, margin, kind, must_beat=False, baseline_name="full-precision")


def promote_fine_tuned(
    custom: Values, base: Values, thresholds: Mapping[str, float], margin: float, kind: str = "text"
) -> Decision:
    """Promote the custom model: thresholds met and every quality metric better than the base by ``margin``."""
    return _decide(custom, base, thresholds, margin, kind, must_beat=True, baseline_name="base model")
