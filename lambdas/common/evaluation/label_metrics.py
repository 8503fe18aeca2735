"""Metrics for tasks whose answer is a label (classify) or a short span (extract).

- `normalize_label`: how a model's label is compared with the reference: Unicode NFKC, case-folded, surrounding
  whitespace, quotes, backticks and final punctuation (``. , ; : ! ?``) removed, inner whitespace collapsed to
  one space. "Billing." and " billing" are both ``billing``; "bill ing" is not.
- `exact_match`: the share of pairs equal after `normalize_label` (0-1).
- `macro_f1`: per-label F1 over the task's labels, unweighted mean (0-1). A label never predicted nor referenced
  counts F1 0 (scikit-learn's ``average="macro", zero_division=0`` over the same label list); a prediction
  outside the labels is a miss for its reference's label and a false positive for none.
- `token_f1`: SQuAD v1.1's F1 of one span: both sides lowercased, punctuation and the articles a/an/the
  removed, whitespace-split, F1 of the bag-of-tokens overlap; `squad_exact` its exact match. Corpus values are
  means (as the official evaluate-v1.1.py script reports them).
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence

_EDGE = " \t\r\n\"'`.,;:!?“”‘’"  # noqa: RUF001 - typographic quotes are meant


def normalize_label(text: str) -> str:
    """The comparable form of a label (see the module docstring)."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(folded.strip(_EDGE).split())


def _check(predictions: Sequence[str], references: Sequence[str]) -> None:
    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions for {len(references)} references: they must pair up")
    if not predictions:
        raise ValueError("no (prediction, reference) pairs to score")


def exact_match(predictions: Sequence[str], references: Sequence[str]) -> float:
    """Share of pairs whose labels are equal after `normalize_label`."""
    _check(predictions, references)
    hits = sum(normalize_label(p) == normalize_label(r) for p, r in zip(predictions, references, strict=True))
    return hits / len(predictions)


def per_label_f1(predictions: Sequence[str], references: Sequence[str], labels: Iterable[str]) -> dict[str, float]:
    """F1 of each label (normalized), 0 where it has no true positive."""
    _check(predictions, references)
    predicted = [normalize_label(p) for p in predictions]
    expected = [normalize_label(r) for r in references]
    scores = {}
    for label in dict.fromkeys(normalize_label(label) for label in labels):
        true_positive = sum(p == label and r == label for p, r in zip(predicted, expected, strict=True))
        false_positive = sum(p == label and r != label for p, r in zip(predicted, expected, strict=True))
        false_negative = sum(p != label and r == label for p, r in zip(predicted, expected, strict=True))
        denominator = 2 * true_positive + false_positive + false_negative
        scores[label] = 2 * true_positive / denominator if denominator else 0.0
    return scores


def macro_f1(predictions: Sequence[str], references: Sequence[str], labels: Iterable[str]) -> float:
    """Unweighted mean of `per_label_f1` over ``labels``."""
    scores = per_label_f1(predictions, references, labels)
    if not scores:
        raise ValueError("macro-F1 needs at least one label")
    return sum(scores.values()) / len(scores)


_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = frozenset(string.punctuation)


def squad_normalize(text: str) -> str:
    """SQuAD v1.1's normalize_answer: lower, drop punctuation, drop articles, collapse whitespace."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def token_f1(prediction: str, reference: str) -> float:
    """SQuAD v1.1's F1 of one span (0 when either side has no tokens left, as the official script does)."""
    predicted, expected = squad_normalize(prediction).split(), squad_normalize(reference).split()
    common = Counter(predicted) & Counter(expected)
    overlap = sum(common.values())
    if overlap == 0:
        return 0.0
    precision, recall = overlap / len(predicted), overlap / len(expected)
    return 2 * precision * recall / (precision + recall)


def squad_exact(prediction: str, reference: str) -> float:
    """SQuAD v1.1's exact match of one span (1.0 or 0.0)."""
    return float(squad_normalize(prediction) == squad_normalize(reference))


def mean_token_f1(predictions: Sequence[str], references: Sequence[str]) -> float:
    """Mean `token_f1` over pairs."""
    _check(predictions, references)
    return sum(token_f1(p, r) for p, r in zip(predictions, references, strict=True)) / len(predictions)


def mean_squad_exact(predictions: Sequence[str], references: Sequence[str]) -> float:
    """Mean `squad_exact` over pairs."""
    _check(predictions, references)
    return sum(squad_exact(p, r) for p, r in zip(predictions, references, strict=True)) / len(predictions)
