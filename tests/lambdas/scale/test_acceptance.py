"""The acceptance decisions on fixed metric sets, at their exact boundaries (relative margins, as the gate defines)."""

from __future__ import annotations

import pytest
from scale.acceptance import accept_quantized, promote_fine_tuned

THRESHOLDS = {"BLEU": 20.0, "ROUGEL": 0.35, "WER": 0.6}
FULL = {"BLEU": 30.0, "ROUGE1": 0.5, "ROUGE2": 0.3, "ROUGEL": 0.45, "WER": 0.40, "LatencyP50": 900.0}


def test_quantized_within_the_margin_of_full_precision_and_above_the_thresholds_is_accepted():
    # 5% margin: BLEU down to 28.5, ROUGE-L down to 0.4275, WER up to 0.42 are allowed; exactly at each bound.
    quantized = {"BLEU": 28.5, "ROUGE1": 0.475, "ROUGE2": 0.285, "ROUGEL": 0.4275, "WER": 0.42, "LatencyP50": 2000.0}
    decision = accept_quantized(quantized, FULL, THRESHOLDS, 0.05)
    assert decision.accepted, decision.reasons
    assert decision.reasons == ()
    # latency is not compared: a slower quantized run is judged on quality only
    assert {d.metric for d in decision.comparison.deltas} == {"BLEU", "ROUGE1", "ROUGE2", "ROUGEL", "WER"}


def test_quantized_just_past_the_margin_is_refused_with_the_metric_named():
    quantized = {**FULL, "BLEU": 28.49}
    decision = accept_quantized(quantized, FULL, THRESHOLDS, 0.05)
    assert not decision.accepted
    assert len(decision.reasons) == 1
    assert decision.reasons[0].startswith("BLEU 28.49 is not within 5.00% of the full-precision 30")


def test_quantized_within_the_margin_but_below_a_threshold_is_refused():
    full = {"BLEU": 20.5, "ROUGEL": 0.45, "WER": 0.4}
    quantized = {"BLEU": 19.9, "ROUGEL": 0.45, "WER": 0.4}  # 2.9% below full precision, but under bleu_min 20
    decision = accept_quantized(quantized, full, THRESHOLDS, 0.05)
    assert not decision.accepted
    assert decision.comparison.within
    assert decision.reasons == ("BLEU 19.9 is past its minimum 20",)


def test_wer_is_lower_is_better_in_both_directions():
    assert not accept_quantized({**FULL, "WER": 0.4201}, FULL, THRESHOLDS, 0.05).accepted
    assert accept_quantized({**FULL, "WER": 0.30}, FULL, THRESHOLDS, 0.05).accepted  # better is always fine


def test_no_metric_in_common_is_never_accepted():
    decision = accept_quantized({"BLEU": 30.0}, {"F1": 0.9}, {}, 0.05)
    assert not decision.accepted
    assert decision.reasons == ("no quality metric in common with the full-precision run: nothing to compare",)


def test_fine_tuned_that_beats_the_base_by_the_margin_on_every_metric_is_promoted():
    base = {"BLEU": 25.0, "ROUGEL": 0.40, "WER": 0.50}
    custom = {"BLEU": 25.5, "ROUGEL": 0.408, "WER": 0.49}  # exactly 2% better on each
    decision = promote_fine_tuned(custom, base, THRESHOLDS, 0.02)
    assert decision.accepted, decision.reasons
    assert decision.as_dict()["accepted"] is True


def test_fine_tuned_that_is_better_but_not_by_the_margin_is_not_promoted():
    base = {"BLEU": 25.0, "ROUGEL": 0.40, "WER": 0.50}
    custom = {"BLEU": 25.49, "ROUGEL": 0.5, "WER": 0.3}
    decision = promote_fine_tuned(custom, base, THRESHOLDS, 0.02)
    assert not decision.accepted
    assert decision.reasons == ("BLEU 25.49 does not beat the base model 25 by the margin 2.00%",)


def test_fine_tuned_that_beats_the_base_but_misses_a_threshold_is_not_promoted():
    base = {"BLEU": 15.0, "ROUGEL": 0.40, "WER": 0.50}
    custom = {"BLEU": 19.0, "ROUGEL": 0.5, "WER": 0.3}
    decision = promote_fine_tuned(custom, base, THRESHOLDS, 0.02)
    assert not decision.accepted
    assert decision.comparison.beats
    assert decision.reasons == ("BLEU 19 is past its minimum 20",)


@pytest.mark.parametrize("kind", ["label", "span"])
def test_label_and_span_tasks_compare_f1_and_exact_match(kind):
    base = {"F1": 0.70, "ExactMatch": 0.60}
    decision = promote_fine_tuned({"F1": 0.80, "ExactMatch": 0.55}, base, {"F1": 0.5}, 0.0, kind)
    assert not decision.accepted
    assert [d.metric for d in decision.comparison.deltas] == ["F1", "ExactMatch"]
    assert decision.reasons == ("ExactMatch 0.55 does not beat the base model 0.6 by the margin 0.00%",)
