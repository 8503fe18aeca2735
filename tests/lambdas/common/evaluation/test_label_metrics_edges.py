"""Edges of the label and span metrics: exact error messages, token F1 where precision and recall differ, and
scikit-learn as the reference for per-label and macro F1."""

from __future__ import annotations

import pytest
from common.evaluation import label_metrics
from sklearn.metrics import f1_score, precision_score, recall_score  # type: ignore[import-untyped]

SCORERS = [label_metrics.exact_match, label_metrics.mean_token_f1, label_metrics.mean_squad_exact]


@pytest.mark.parametrize("score", SCORERS)
def test_no_pairs_is_refused_with_its_message(score):
    with pytest.raises(ValueError, match=r"^no \(prediction, reference\) pairs to score$"):
        score([], [])


@pytest.mark.parametrize("score", SCORERS)
def test_unpaired_lists_are_refused_with_their_counts(score):
    with pytest.raises(ValueError, match=r"^2 predictions for 1 references: they must pair up$"):
        score(["a", "b"], ["a"])


def test_per_label_f1_refuses_no_pairs_with_its_message():
    with pytest.raises(ValueError, match=r"^no \(prediction, reference\) pairs to score$"):
        label_metrics.per_label_f1([], [], ["billing"])


def test_macro_f1_without_labels_is_refused_with_its_message():
    with pytest.raises(ValueError, match=r"^macro-F1 needs at least one label$"):
        label_metrics.macro_f1(["billing"], ["billing"], [])


def test_token_f1_when_recall_is_below_precision():
    # prediction tokens {big, car}; reference "the big blue car" -> {big, blue, car}: P = 1, R = 2/3, F1 = 4/5
    assert label_metrics.token_f1("Big car", "the big blue car") == pytest.approx(0.8)


def test_token_f1_when_precision_is_below_recall():
    # prediction {red, big, car, now}, reference {big, car}: P = 1/2, R = 1, F1 = 2/3
    assert label_metrics.token_f1("red big car, now", "a big car") == pytest.approx(2 / 3)


def test_mean_token_f1_averages_pairs():
    # 0.8 (as above) and 0.0 (no overlap): mean 0.4
    assert label_metrics.mean_token_f1(["big car", "yes"], ["the big blue car", "no"]) == pytest.approx(0.4)


def test_mean_squad_exact_averages_pairs():
    assert label_metrics.mean_squad_exact(["The Car.", "a car", "car"], ["car", "big car", "car"]) == pytest.approx(
        2 / 3
    )


def test_per_label_f1_matches_scikit_learn():
    labels = ["billing", "refund", "other"]
    references = ["billing", "billing", "refund", "refund", "other", "billing"]
    predictions = ["Billing.", "refund", "refund", "unknown", "billing", "BILLING"]
    normalized = ["billing", "refund", "refund", "unknown", "billing", "billing"]
    expected = f1_score(references, normalized, labels=labels, average=None, zero_division=0)
    precision = precision_score(references, normalized, labels=labels, average=None, zero_division=0)
    recall = recall_score(references, normalized, labels=labels, average=None, zero_division=0)
    scores = label_metrics.per_label_f1(predictions, references, labels)
    assert list(scores) == labels
    for label, f1, p, r in zip(labels, expected, precision, recall, strict=True):
        assert scores[label] == pytest.approx(f1)
        assert scores[label] == pytest.approx(2 * p * r / (p + r) if p + r else 0.0)
    assert label_metrics.macro_f1(predictions, references, labels) == pytest.approx(
        f1_score(references, normalized, labels=labels, average="macro", zero_division=0)
    )
