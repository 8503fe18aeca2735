"""text_metrics gives the reference libraries' own values: sacrebleu, rouge_score and jiwer are called directly
here, independently of the module, on fixed inputs (multibyte and empty edge cases included)."""

from __future__ import annotations

import math

import jiwer
import pytest
import sacrebleu
from common.evaluation import text_metrics
from rouge_score import rouge_scorer

HYPOTHESES = [
    "The customer was credited for the duplicate charge and the case is resolved.",
    "Engineer visit booked for Thursday after the line test passed.",
    "Cancellation steps were sent by e-mail.",
    "Le client a reçu un avoir — café offert ☕ et excuses.",
    "",
]
REFERENCES = [
    "Duplicate charge credited to the customer; resolved.",
    "Line test passed and an engineer visit is booked for Thursday.",
    "Cancellation steps sent by e-mail; not yet resolved.",
    "Le client a reçu un avoir et des excuses — café offert.",
    "Nothing was recorded.",
]


def test_corpus_bleu_is_sacrebleus_corpus_bleu():
    expected = sacrebleu.corpus_bleu(HYPOTHESES, [REFERENCES]).score
    assert text_metrics.corpus_bleu(HYPOTHESES, REFERENCES) == expected
    assert 0 < expected < 100


def test_sentence_bleu_is_sacrebleus_sentence_bleu_including_multibyte_and_empty():
    for hypothesis, reference in zip(HYPOTHESES, REFERENCES, strict=True):
        expected = sacrebleu.sentence_bleu(hypothesis, [reference]).score
        assert text_metrics.sentence_bleu(hypothesis, reference) == expected
    assert text_metrics.sentence_bleu("", "") == 0.0
    assert text_metrics.sentence_bleu(REFERENCES[3], REFERENCES[3]) == pytest.approx(100.0)


def test_corpus_bleu_pools_counts_and_is_not_the_mean_of_sentence_bleus():
    pooled = text_metrics.corpus_bleu(HYPOTHESES[:3], REFERENCES[:3])
    mean = sum(text_metrics.sentence_bleu(h, r) for h, r in zip(HYPOTHESES[:3], REFERENCES[:3], strict=True)) / 3
    assert pooled != pytest.approx(mean)


def test_rouge_is_rouge_scores_stemmed_f_measure_of_each_pair():
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
    for hypothesis, reference in zip(HYPOTHESES, REFERENCES, strict=True):
        expected = scorer.score(reference, hypothesis)
        got = text_metrics.rouge(hypothesis, reference)
        assert got.rouge1 == expected["rouge1"].fmeasure
        assert got.rouge2 == expected["rouge2"].fmeasure
        assert got.rouge_l == expected["rougeL"].fmeasure


def test_rouge_stems_as_stated():
    """ "credited"/"credit" and "booked"/"book" match only with the Porter stemmer: the module uses it."""
    stemmed = rouge_scorer.RougeScorer(["rouge1"], use_stemmer=True).score("credit booking", "credited booked")
    plain = rouge_scorer.RougeScorer(["rouge1"], use_stemmer=False).score("credit booking", "credited booked")
    assert text_metrics.USE_STEMMER is True
    assert text_metrics.rouge("credited booked", "credit booking").rouge1 == stemmed["rouge1"].fmeasure == 1.0
    assert plain["rouge1"].fmeasure == 0.0


def test_rouge_of_other_scripts_is_what_rouge_score_says_zero():
    """rouge-score keeps [a-z0-9] only: Japanese text has no tokens and scores 0, exactly as the library does."""
    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
    assert (
        text_metrics.rouge("解約の手続き", "解約の手続き").rouge_l
        == scorer.score("解約の手続き", "解約の手続き")["rougeL"].fmeasure
    )
    assert text_metrics.rouge("解約の手続き", "解約の手続き").rouge_l == 0.0


def test_corpus_rouge_is_the_mean_of_the_pairs():
    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
    expected = sum(scorer.score(r, h)["rougeL"].fmeasure for h, r in zip(HYPOTHESES, REFERENCES, strict=True)) / 5
    assert text_metrics.corpus_rouge(HYPOTHESES, REFERENCES).rouge_l == pytest.approx(expected, abs=1e-15)


def test_wer_is_jiwers_pooled_wer_reference_first():
    assert text_metrics.corpus_wer(HYPOTHESES, REFERENCES) == jiwer.wer(REFERENCES, HYPOTHESES)
    assert text_metrics.corpus_wer(["a b c d"], ["a b x d"]) == 0.25  # one substitution in four words
    assert text_metrics.corpus_wer(["a b"], ["a b c d"]) == 0.5  # two deletions
    assert text_metrics.corpus_wer(["a b c d e f"], ["a b"]) == 2.0  # insertions: WER exceeds 1
    assert text_metrics.corpus_wer(["héllo wörld"], ["héllo world"]) == jiwer.wer("héllo world", "héllo wörld") == 0.5


def test_score_text_holds_all_three():
    scores = text_metrics.score_text(HYPOTHESES, REFERENCES)
    assert scores.bleu == text_metrics.corpus_bleu(HYPOTHESES, REFERENCES)
    assert scores.rouge == text_metrics.corpus_rouge(HYPOTHESES, REFERENCES)
    assert scores.wer == text_metrics.corpus_wer(HYPOTHESES, REFERENCES)
    assert all(math.isfinite(v) for v in (scores.bleu, scores.wer, scores.rouge.rouge_l))


@pytest.mark.parametrize(
    ("function", "hypotheses", "references", "message"),
    [
        (text_metrics.corpus_bleu, [], [], r"no \(hypothesis, reference\) pairs"),
        (text_metrics.corpus_rouge, ["a"], [], "1 hypotheses for 0 references"),
        (text_metrics.corpus_wer, ["a"], [" "], "every reference is empty"),
    ],
)
def test_empty_or_unpaired_corpora_are_errors_not_scores(function, hypotheses, references, message):
    with pytest.raises(ValueError, match=message):
        function(hypotheses, references)
