"""The learned scorer's details: word-pair features, the weights file's fields, the clamp on z, and the
per-token cache (bounded, and actually used).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from common.safety import injection_model
from common.safety.injection_model import LinearModel, load, word_features


def _write(tmp_path: Path, **data: Any) -> Path:
    path = tmp_path / "weights.json"
    path.write_text(json.dumps({"bias": 0.0, "char_sizes": [3], "words": {}, "chars": {}, **data}), encoding="utf-8")
    return path


def test_word_features_are_words_and_adjacent_pairs_joined_by_a_space():
    assert word_features("ignore all rules") == {"ignore", "all", "rules", "ignore all", "all rules"}


def test_a_word_pair_weight_counts(tmp_path):
    model = load(_write(tmp_path, words={"all rules": 50.0}))
    assert model.score("all rules") > 0.99
    assert model.score("rules all") == 0.5  # bias 0, no weighted feature


def test_load_reads_every_field(tmp_path):
    model = load(_write(tmp_path, bias=-1.5, char_sizes=[3, 5], words={"ignore": 2}, chars={" ig": 0.25}, version="v7"))
    assert model == LinearModel(bias=-1.5, char_sizes=(3, 5), words={"ignore": 2.0}, chars={" ig": 0.25}, version="v7")
    assert isinstance(model.words["ignore"], float)


def test_a_weights_file_without_a_version_loads_with_an_empty_one(tmp_path):
    assert load(_write(tmp_path)).version == ""


def test_non_ascii_features_load_as_written(tmp_path):
    model = load(_write(tmp_path, words={"\u00fcberschreibe": 1.0}, chars={"\u00fcbe": 0.5}))
    assert model.words == {"\u00fcberschreibe": 1.0}
    assert model.chars == {"\u00fcbe": 0.5}


def test_a_very_negative_z_is_clamped_at_minus_fifty(tmp_path):
    model = load(_write(tmp_path, bias=-1000.0))
    # 1 / (1 + e**50), the floor of the score
    assert model.score("hello") == pytest.approx(1.9287498479639178e-22, rel=1e-9, abs=0.0)


def test_each_token_is_split_into_ngrams_once(monkeypatch, tmp_path):
    model = load(_write(tmp_path))
    calls: list[str] = []
    real = injection_model.token_ngrams

    def counting(token, char_sizes):
        calls.append(token)
        return real(token, char_sizes)

    monkeypatch.setattr(injection_model, "token_ngrams", counting)
    model.score("reset my password")
    model.score("password reset please")
    assert sorted(calls) == ["my", "password", "please", "reset"]


def test_the_cache_holds_each_tokens_ngram_sum_and_count(tmp_path):
    model = load(_write(tmp_path, chars={" he": 1.0}))
    first = model.score("hello")
    assert model._tokens == {"hello": (1.0, 5)}  # 3-grams of " hello ": " he", "hel", "ell", "llo", "lo "
    assert model.score("hello") == first


def test_the_token_cache_is_cleared_only_past_its_bound(tmp_path):
    model = load(_write(tmp_path))
    model._tokens.update({f"t{i}": (0.0, 1) for i in range(injection_model._MAX_CACHED)})
    model.score("hello")  # exactly at the bound: kept, one more token added
    assert len(model._tokens) == injection_model._MAX_CACHED + 1
    model.score("world")  # past the bound: cleared first
    assert model._tokens == {"world": (0.0, 5)}
