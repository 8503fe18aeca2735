"""The quality gate: thresholds at, just above and just below their limit, for higher- and lower-is-better metrics;
regressions against the last accepted run at and around the relative margin; `compare` within / beats."""

from __future__ import annotations

import pytest
from common.evaluation import gate

EPS = 1e-6  # far above the gate's float tolerance (1e-9), far below any real difference


# ------------------------------------------------------------------ thresholds


@pytest.mark.parametrize("metric", ["BLEU", "ROUGE1", "ROUGE2", "ROUGEL", "ExactMatch", "F1"])
@pytest.mark.parametrize(("offset", "passed"), [(0.0, True), (EPS, True), (-EPS, False)])
def test_a_minimum_passes_at_and_above_and_fails_just_below(metric, offset, passed):
    limit = 20.0 if metric == "BLEU" else 0.35
    verdict = gate.gate({metric: limit + offset}, {metric: limit})
    assert verdict.passed is passed
    assert verdict.checked == (metric,)
    if not passed:
        (reason,) = verdict.reasons
        assert (reason.metric, reason.kind, reason.limit) == (metric, "threshold", limit)
        assert "minimum" in reason.message


@pytest.mark.parametrize("metric", ["WER", "Perplexity", "LatencyP50", "LatencyP90"])
@pytest.mark.parametrize(("offset", "passed"), [(0.0, True), (-EPS, True), (EPS, False)])
def test_a_maximum_passes_at_and_below_and_fails_just_above(metric, offset, passed):
    limit = 0.6
    verdict = gate.gate({metric: limit + offset}, {metric: limit})
    assert verdict.passed is passed
    if not passed:
        (reason,) = verdict.reasons
        assert "maximum" in reason.message


def test_every_crossed_threshold_is_a_reason():
    verdict = gate.gate(
        {"BLEU": 10.0, "ROUGEL": 0.2, "WER": 0.9, "ROUGE1": 0.9},
        {"BLEU": 20, "ROUGEL": 0.35, "WER": 0.6, "ROUGE1": 0.5},
    )
    assert not verdict.passed
    assert [r.metric for r in verdict.reasons] == ["BLEU", "ROUGEL", "WER"]


def test_a_metric_without_a_value_is_not_available_never_a_pass_or_a_fail():
    verdict = gate.gate({"BLEU": 30.0, "Perplexity": None}, {"BLEU": 20, "Perplexity": 8, "F1": 0.7})
    assert verdict.passed
    assert verdict.checked == ("BLEU",)
    assert verdict.not_available == ("Perplexity", "F1")


def test_an_unknown_metric_is_refused_by_name():
    with pytest.raises(KeyError, match="unknown metric 'Bleu'"):
        gate.gate({"Bleu": 1.0}, {"Bleu": 0.5})


# ------------------------------------------------------------------ regressions from the last accepted run


@pytest.mark.parametrize(
    ("value", "passed"),
    [(0.38, True), (0.38 + EPS, True), (0.38 - EPS, False), (0.45, True)],  # 0.40 - 5% of 0.40 = 0.38
)
def test_a_drop_of_exactly_the_margin_passes_and_a_hair_more_fails(value, passed):
    verdict = gate.gate({"ROUGEL": value}, {"ROUGEL": 0.1}, baseline={"ROUGEL": 0.40}, margin=0.05)
    assert verdict.passed is passed
    if not passed:
        (reason,) = verdict.reasons
        assert reason.kind == "regression"
        assert reason.baseline == 0.40
        assert reason.limit == pytest.approx(0.38)
        assert "regressed" in reason.message


@pytest.mark.parametrize(("value", "passed"), [(0.42, True), (0.42 - EPS, True), (0.42 + EPS, False)])
def test_a_lower_is_better_metric_regresses_upwards(value, passed):
    """WER 0.40 with a 5% margin allows 0.42, not more."""
    verdict = gate.gate({"WER": value}, {}, baseline={"WER": 0.40}, margin=0.05)
    assert verdict.passed is passed


def test_both_kinds_of_reason_are_listed_together():
    verdict = gate.gate({"BLEU": 15.0, "WER": 0.5}, {"BLEU": 20}, baseline={"BLEU": 30.0, "WER": 0.3}, margin=0.1)
    assert [(r.metric, r.kind) for r in verdict.reasons] == [
        ("BLEU", "threshold"),
        ("BLEU", "regression"),
        ("WER", "regression"),
    ]


def test_a_perfect_baseline_of_zero_allows_no_increase():
    assert gate.gate({"WER": 0.0}, {}, baseline={"WER": 0.0}, margin=0.5).passed
    assert not gate.gate({"WER": 0.01}, {}, baseline={"WER": 0.0}, margin=0.5).passed


def test_without_a_baseline_only_thresholds_count():
    assert gate.gate({"BLEU": 1.0}, {}, baseline=None, margin=0.0).passed


def test_a_metric_the_baseline_lacks_is_not_compared():
    assert gate.gate({"BLEU": 1.0, "WER": 0.9}, {}, baseline={"BLEU": 1.0, "WER": None}).passed


# ------------------------------------------------------------------ compare


def test_within_the_margin_of_full_precision():
    full = {"ROUGEL": 0.50, "BLEU": 30.0, "WER": 0.40}
    quantized = {"ROUGEL": 0.49, "BLEU": 29.4, "WER": 0.408}  # each exactly 2% worse
    assert gate.compare(quantized, full, 0.02).within
    assert not gate.compare({**quantized, "BLEU": 29.39}, full, 0.02).within
    assert not gate.compare({**quantized, "WER": 0.4081}, full, 0.02).within


def test_beats_the_base_by_the_margin_on_every_metric():
    base = {"ROUGEL": 0.40, "WER": 0.50}
    assert gate.compare({"ROUGEL": 0.42, "WER": 0.475}, base, 0.05).beats  # exactly 5% better each
    assert not gate.compare({"ROUGEL": 0.42 - EPS, "WER": 0.475}, base, 0.05).beats
    assert not gate.compare({"ROUGEL": 0.50, "WER": 0.475 + EPS}, base, 0.05).beats


def test_a_margin_per_metric_and_the_improvement_sign():
    comparison = gate.compare({"BLEU": 28.0, "WER": 0.45}, {"BLEU": 30.0, "WER": 0.40}, {"BLEU": 0.1})
    bleu, wer = comparison.deltas
    assert (bleu.margin, bleu.improvement, bleu.within) == (0.1, -2.0, True)
    assert wer.margin == 0.0  # DEFAULT_MARGIN for a metric the mapping does not name
    assert wer.improvement == pytest.approx(-0.05)
    assert [d.metric for d in comparison.regressions] == ["WER"]


def test_nothing_in_common_is_within_but_never_beats():
    comparison = gate.compare({"BLEU": 1.0}, {"WER": 0.1}, 0.05)
    assert comparison.deltas == ()
    assert comparison.within
    assert not comparison.beats


@pytest.mark.parametrize("margin", [-0.01, float("nan"), float("inf")])
def test_a_margin_must_be_a_finite_fraction(margin):
    with pytest.raises(ValueError, match="margin of BLEU"):
        gate.compare({"BLEU": 1.0}, {"BLEU": 1.0}, margin)
