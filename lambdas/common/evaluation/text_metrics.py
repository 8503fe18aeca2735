"""Text-overlap metrics of generated text against references, as the reference libraries compute them.

Every value here is the library's own, with its documented defaults, so a figure from the kit can be compared
with any other report that used the same library:

- BLEU: ``sacrebleu`` (BLEU with the ``13a`` tokenizer, case-sensitive, ``exp`` smoothing for sentence BLEU;
  sacrebleu's defaults). Corpus BLEU pools n-gram counts over all pairs (it is not the mean of sentence
  BLEUs). 0-100.
- ROUGE-1, ROUGE-2, ROUGE-L: ``rouge_score.rouge_scorer.RougeScorer`` F-measure **with the Porter stemmer**
  (``use_stemmer=True``, the setting of the ROUGE-1.5.5 ``-m`` flag most papers report). rouge-score's
  tokenizer lowercases and keeps ``[a-z0-9]`` only: text in other scripts scores 0, by the library's design.
  ROUGE-L is the sentence-level LCS (``rougeL``), not the summary-level ``rougeLsum``. The corpus value is the
  mean of the per-pair F-measures. 0-1.
- WER: ``jiwer.wer`` (word edits / reference words, after jiwer's default transform: whitespace split). Pooled
  over all pairs, as jiwer computes a list. 0 is perfect; it can exceed 1.

A corpus is a sequence of (hypothesis, reference) pairs of equal length; an empty corpus is a ValueError (the
libraries either crash or answer 0 on it, which would read as a score).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import jiwer
import sacrebleu
from rouge_score import rouge_scorer

ROUGE_TYPES = ("rouge1", "rouge2", "rougeL")
USE_STEMMER = True
_SCORER = rouge_scorer.RougeScorer(list(ROUGE_TYPES), use_stemmer=USE_STEMMER)


@dataclass(frozen=True)
class Rouge:
    """ROUGE F-measures (0-1) of one pair, or their means over a corpus."""

    rouge1: float
    rouge2: float
    rouge_l: float


@dataclass(frozen=True)
class TextScores:
    """Every text metric of one corpus."""

    bleu: float
    rouge: Rouge
    wer: float


def _pairs(hypotheses: Sequence[str], references: Sequence[str]) -> None:
    if len(hypotheses) != len(references):
        raise ValueError(f"{len(hypotheses)} hypotheses for {len(references)} references: they must pair up")
    if not hypotheses:
        raise ValueError("no (hypothesis, reference) pairs to score")


def corpus_bleu(hypotheses: Sequence[str], references: Sequence[str]) -> float:
    """sacrebleu's corpus BLEU (0-100) of ``hypotheses`` against one reference each."""
    _pairs(hypotheses, references)
    return float(sacrebleu.corpus_bleu(list(hypotheses), [list(references)]).score)


def sentence_bleu(hypothesis: str, reference: str) -> float:
    """sacrebleu's sentence BLEU (0-100, ``exp`` smoothing) of one pair."""
    return float(sacrebleu.sentence_bleu(hypothesis, [reference]).score)


def rouge(hypothesis: str, reference: str) -> Rouge:
    """rouge-score's ROUGE-1/2/L F-measures of one pair (stemmed)."""
    scores = _SCORER.score(reference, hypothesis)  # rouge-score takes (target, prediction)
    return Rouge(
        rouge1=float(scores["rouge1"].fmeasure),
        rouge2=float(scores["rouge2"].fmeasure),
        rouge_l=float(scores["rougeL"].fmeasure),
    )


def corpus_rouge(hypotheses: Sequence[str], references: Sequence[str]) -> Rouge:
    """The mean of the per-pair ROUGE F-measures."""
    _pairs(hypotheses, references)
    each = [rouge(h, r) for h, r in zip(hypotheses, references, strict=True)]
    count = len(each)
    return Rouge(
        rouge1=sum(s.rouge1 for s in each) / count,
        rouge2=sum(s.rouge2 for s in each) / count,
        rouge_l=sum(s.rouge_l for s in each) / count,
    )


def corpus_wer(hypotheses: Sequence[str], references: Sequence[str]) -> float:
    """jiwer's word error rate over all pairs (edits / reference words)."""
    _pairs(hypotheses, references)
    if not any(reference.split() for reference in references):
        raise ValueError("every reference is empty: WER divides by the reference words")
    return float(jiwer.wer(list(references), list(hypotheses)))


def score_text(hypotheses: Sequence[str], references: Sequence[str]) -> TextScores:
    """BLEU, ROUGE and WER of one corpus."""
    return TextScores(
        bleu=corpus_bleu(hypotheses, references),
        rouge=corpus_rouge(hypotheses, references),
        wer=corpus_wer(hypotheses, references),
    )
