"""scoring gives the reference libraries' own values by task kind (sacrebleu, rouge-score, jiwer called directly
here, numpy for the percentile), and perplexity only with log-probabilities for every output."""

from __future__ import annotations

import math

import jiwer
import numpy as np
import pytest
import sacrebleu
from common.evaluation import scoring
from rouge_score import rouge_scorer

OUTPUTS = ["The duplicate charge was refunded.", "Engineer booked for Thursday.", "Steps sent by e-mail."]
REFERENCES = [
    "Duplicate charge refunded; resolved.",
    "An engineer visit is booked for Thursday.",
    "Cancellation steps sent by e-mail.",
]
LATENCIES = [120.0, 480.0, 300.0]


def cases(
    outputs: list[str] = OUTPUTS, references: list[str] = REFERENCES, logprobs: list[list[float] | None] | None = None
) -> list[scoring.Scored]:
    logprobs = logprobs or [None] * len(outputs)
    return [
        scoring.Scored(o, r, latency, 10 + i, 5 + i, lp)
        for i, (o, r, latency, lp) in enumerate(zip(outputs, references, LATENCIES, logprobs, strict=True))
    ]


def test_a_text_task_scores_bleu_rouge_and_wer_as_the_libraries_do():
    scores = scoring.score("text", cases())
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
    each = [scorer.score(r, o) for o, r in zip(OUTPUTS, REFERENCES, strict=True)]
    assert scores.quality == {
        "BLEU": sacrebleu.corpus_bleu(OUTPUTS, [REFERENCES]).score,
        "ROUGE1": pytest.approx(sum(s["rouge1"].fmeasure for s in each) / 3, rel=1e-12),
        "ROUGE2": pytest.approx(sum(s["rouge2"].fmeasure for s in each) / 3, rel=1e-12),
        "ROUGEL": pytest.approx(sum(s["rougeL"].fmeasure for s in each) / 3, rel=1e-12),
        "WER": jiwer.wer(REFERENCES, OUTPUTS),
    }
    assert list(scores.quality) == list(scoring.QUALITY_METRICS["text"])


def test_latency_percentiles_tokens_and_no_perplexity_without_log_probabilities():
    scores = scoring.score("text", cases())
    assert scores.latency_p50_ms == 300.0
    assert scores.latency_p90_ms == pytest.approx(float(np.percentile(LATENCIES, 90)))  # linear = inclusive
    assert (scores.input_tokens, scores.output_tokens) == (33, 18)
    assert scores.perplexity is None
    assert scores.values()["Perplexity"] is None
    assert scores.values()["LatencyP90"] == scores.latency_p90_ms


def test_perplexity_needs_log_probabilities_for_every_output():
    some = cases(logprobs=[[-0.1, -0.2], None, [-0.3]])
    assert scoring.score("text", some).perplexity is None
    every = cases(logprobs=[[-0.1, -0.2], [-0.5], [-0.3]])
    assert scoring.score("text", every).perplexity == pytest.approx(math.exp(1.1 / 4))


def test_label_and_span_tasks():
    label = scoring.score("label", cases(["Billing.", "outage", "billing"], ["billing", "billing", "billing"]))
    # macro over the references' labels only (billing): 2 hits, 1 miss -> F1 2*2/(2*2+0+1)
    assert label.quality == {"F1": pytest.approx(0.8), "ExactMatch": pytest.approx(2 / 3)}
    span = scoring.score("span", cases(["the 30 days", "a month", "x"], ["30 days", "one month", "x"]))
    # "a month" -> "month" against "one month": precision 1, recall 1/2, F1 2/3
    assert span.quality == {"F1": pytest.approx((1 + 2 / 3 + 1) / 3), "ExactMatch": pytest.approx(2 / 3)}


def test_kinds_by_task_name_and_refusals():
    assert [scoring.task_kind(t) for t in ("classify", "extract", "answer", "summarize")] == [
        "label",
        "span",
        "text",
        "text",
    ]
    with pytest.raises(ValueError, match="unknown task kind 'poem'"):
        scoring.score("poem", cases())
    with pytest.raises(ValueError, match="no cases"):
        scoring.score("text", [])
    assert scoring.p90([42.0]) == 42.0
