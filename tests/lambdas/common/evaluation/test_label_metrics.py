"""Exact match, macro-F1 (against scikit-learn, called directly) and SQuAD token F1 (the official script's
definition, worked by hand)."""

from __future__ import annotations

import pytest
from common.evaluation import label_metrics
from sklearn.metrics import f1_score  # type: ignore[import-untyped]  # fairlearn's dependency (requirements-dev)

LABELS = ["billing", "outage", "cancellation", "upgrade", "other"]


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("Billing.", "billing"),
        ("  OUTAGE\n", "outage"),
        ('"upgrade"', "upgrade"),
        ("`other`!", "other"),
        ("ＢＩＬＬＩＮＧ", "billing"),  # noqa: RUF001 - full-width letters: NFKC folds them
        ("Straße", "strasse"),  # casefold, not lower
        ("device   setup", "device setup"),
        ("bill ing", "bill ing"),
        ("", ""),
    ],
)
def test_normalize_label(raw, normalized):
    assert label_metrics.normalize_label(raw) == normalized


def test_exact_match_after_normalization():
    assert label_metrics.exact_match(["Billing.", "outage", "upgrade"], ["billing", "Outage", "other"]) == 2 / 3
    assert label_metrics.exact_match(["x"], ["x"]) == 1.0


PREDICTED = ["billing", "billing", "outage", "Cancellation.", "upgrade", "other", "outage", "refund", "billing"]
EXPECTED = ["billing", "outage", "outage", "cancellation", "cancellation", "other", "outage", "billing", "billing"]


def test_macro_f1_is_scikit_learns_macro_f1_over_the_labels():
    normalized = [label_metrics.normalize_label(p) for p in PREDICTED]
    expected = f1_score(EXPECTED, normalized, labels=LABELS, average="macro", zero_division=0)
    assert label_metrics.macro_f1(PREDICTED, EXPECTED, LABELS) == pytest.approx(expected, abs=1e-12)
    per_label = f1_score(EXPECTED, normalized, labels=LABELS, average=None, zero_division=0)
    assert list(label_metrics.per_label_f1(PREDICTED, EXPECTED, LABELS).values()) == pytest.approx(list(per_label))


def test_macro_f1_exact_values():
    # billing: tp 2 fp 1 fn 1 -> 4/6; outage: tp 2 fp 0 fn 1 -> 4/5; a label nobody uses counts 0.
    scores = label_metrics.per_label_f1(PREDICTED, EXPECTED, ["billing", "outage", "unused"])
    assert scores == {"billing": pytest.approx(4 / 6), "outage": pytest.approx(4 / 5), "unused": 0.0}
    assert label_metrics.macro_f1(["a", "b"], ["a", "b"], ["a", "b"]) == 1.0
    with pytest.raises(ValueError, match="at least one label"):
        label_metrics.macro_f1(["a"], ["a"], [])
    with pytest.raises(ValueError, match="must pair up"):
        label_metrics.exact_match(["a"], [])


def test_token_f1_is_squads():
    # SQuAD normalization drops case, punctuation and articles: "The 1 TB plan." -> "1 tb plan".
    assert label_metrics.squad_normalize("The 1 TB plan, for an upgrade!") == "1 tb plan for upgrade"
    assert label_metrics.token_f1("the 1 TB plan", "1 TB") == pytest.approx(2 * (2 / 3) * 1 / (2 / 3 + 1))
    assert label_metrics.token_f1("30 days' notice", "30 days notice") == 1.0
    assert label_metrics.token_f1("a", "the") == 0.0  # nothing left on either side
    assert label_metrics.token_f1("10 EUR 10 EUR", "10 EUR") == pytest.approx(2 * 0.5 * 1 / 1.5)  # bag overlap
    assert label_metrics.squad_exact("The north region.", "north region") == 1.0
    assert label_metrics.mean_token_f1(["north", "south"], ["north", "north"]) == 0.5
    assert label_metrics.mean_squad_exact(["north", "south"], ["North", "north"]) == 0.5
