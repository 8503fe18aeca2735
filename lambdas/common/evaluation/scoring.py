"""Every metric of one task's predictions on its golden set, by task kind, under the kit's metric names.

Shared by `make prompts-eval` (tools/prompt_eval.py), `python -m tools.evaluate` and the scheduled evaluation
(lambdas/evaluation), so a number means the same wherever it is printed or alarmed on.

Task kinds (`kinds.task_kind`, re-exported here): ``classify`` is a **label** task, ``extract`` a **span** task,
any other a **text** task. Quality metrics per kind (names as in `gate.DIRECTIONS`, the CloudWatch metric names):

- text: ``BLEU`` (0-100), ``ROUGE1``, ``ROUGE2``, ``ROUGEL`` (0-1), ``WER`` (`text_metrics`);
- label: ``F1`` (macro-F1 over the references' labels) and ``ExactMatch`` (`label_metrics`);
- span: ``F1`` (SQuAD token F1) and ``ExactMatch`` (SQuAD exact).

Beside them (`Scores`): latency p50 and p90 (ms, ``statistics.quantiles`` inclusive method, the p90 of one
value is that value), tokens in and out (sums), and ``Perplexity`` only when every output has token
log-probabilities (`perplexity.corpus_perplexity`); otherwise None, shown "unavailable".
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from common.evaluation import label_metrics, perplexity, text_metrics
from common.evaluation.kinds import LABEL, QUALITY_METRICS, SPAN, TASK_KINDS, TEXT, task_kind

__all__ = [
    "LABEL",
    "QUALITY_METRICS",
    "SPAN",
    "TASK_KINDS",
    "TEXT",
    "Scored",
    "Scores",
    "p90",
    "quality",
    "score",
    "task_kind",
]


@dataclass(frozen=True)
class Scored:
    """One golden case's prediction, with what the model call cost."""

    output: str
    reference: str
    latency_ms: float
    input_tokens: int
    output_tokens: int
    logprobs: Sequence[float] | None = None


@dataclass(frozen=True)
class Scores:
    kind: str
    count: int
    quality: dict[str, float]  # `QUALITY_METRICS[kind]`, in that order
    latency_p50_ms: float
    latency_p90_ms: float
    input_tokens: int
    output_tokens: int
    perplexity: float | None

    def values(self) -> dict[str, float | None]:
        """Every gated metric by name: the quality metrics, ``Perplexity``, ``LatencyP50`` and ``LatencyP90``."""
        return {
            **self.quality,
            "Perplexity": self.perplexity,
            "LatencyP50": self.latency_p50_ms,
            "LatencyP90": self.latency_p90_ms,
        }


def quality(kind: str, outputs: Sequence[str], references: Sequence[str]) -> dict[str, float]:
    """The quality metrics of ``kind`` (see the module docstring)."""
    if kind == LABEL:
        labels = sorted({label_metrics.normalize_label(r) for r in references})
        return {
            "F1": label_metrics.macro_f1(outputs, references, labels),
            "ExactMatch": label_metrics.exact_match(outputs, references),
        }
    if kind == SPAN:
        return {
            "F1": label_metrics.mean_token_f1(outputs, references),
            "ExactMatch": label_metrics.mean_squad_exact(outputs, references),
        }
    if kind != TEXT:
        raise ValueError(f"unknown task kind {kind!r}; known: {', '.join(QUALITY_METRICS)}")
    text = text_metrics.score_text(outputs, references)
    return {
        "BLEU": text.bleu,
        "ROUGE1": text.rouge.rouge1,
        "ROUGE2": text.rouge.rouge2,
        "ROUGEL": text.rouge.rouge_l,
        "WER": text.wer,
    }


def p90(values: Sequence[float]) -> float:
    """The 90th percentile (``statistics.quantiles``, inclusive method; one value is its own p90)."""
    if len(values) == 1:
        return float(values[0])
    return statistics.quantiles(values, n=10, method="inclusive")[-1]


def score(kind: str, cases: Sequence[Scored]) -> Scores:
    """Every metric of one task's cases."""
    if not cases:
        raise ValueError("no cases to score")
    latencies = [case.latency_ms for case in cases]
    return Scores(
        kind=kind,
        count=len(cases),
        quality=quality(kind, [c.output for c in cases], [c.reference for c in cases]),
        latency_p50_ms=statistics.median(latencies),
        latency_p90_ms=p90(latencies),
        input_tokens=sum(c.input_tokens for c in cases),
        output_tokens=sum(c.output_tokens for c in cases),
        perplexity=perplexity.corpus_perplexity(c.logprobs for c in cases),
    )
