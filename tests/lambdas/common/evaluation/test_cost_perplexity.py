"""Cost from the pinned price table; perplexity from log-probabilities only."""

from __future__ import annotations

import math

import pytest
import yaml
from common.evaluation import cost, perplexity

from stacks.config import USECASES_DIR


def test_prices_per_1k_tokens_of_the_table():
    haiku = cost.price_of("global.anthropic.claude-haiku-4-5-20251001-v1:0")
    assert haiku == cost.Price(0.001, 0.005)  # $1 / $5 per 1M tokens
    assert cost.price_of("eu.anthropic.claude-haiku-4-5-20251001-v1:0") == cost.Price(0.0011, 0.0055)  # Geo: +10%
    assert cost.price_of("amazon.nova-micro-v1:0") == cost.Price(0.035 / 1000, 0.14 / 1000)
    assert cost.price_of("global.amazon.nova-micro-v1:0") is None  # not a profile the table prices
    assert cost.price_of("mistral.unknown-model") is None
    assert cost.cost(2000, 500, haiku) == pytest.approx(0.002 + 0.0025)
    assert cost.cost(0, 0, haiku) == 0.0
    assert cost.cost(10, 10, None) is None
    assert cost.describe(None) == "unknown"
    assert cost.describe(0.0045) == "$0.004500"
    with pytest.raises(ValueError, match="negative"):
        cost.cost(-1, 0, haiku)
    assert cost.SOURCE.startswith("https://aws.amazon.com/bedrock/pricing/")


def test_every_use_cases_text_model_has_a_price():
    for path in sorted(USECASES_DIR.glob("*/usecase.yaml")):
        model = (yaml.safe_load(path.read_text()).get("models") or {}).get("text")
        if model:
            assert cost.price_of(model) is not None, f"{path}: no price for {model} in common/evaluation/cost.py"


def test_perplexity_from_logprobs_only():
    assert perplexity.perplexity(None) is None
    assert perplexity.perplexity([]) is None
    assert perplexity.perplexity([0.0, 0.0]) == 1.0
    assert perplexity.perplexity([math.log(0.5)] * 4) == pytest.approx(2.0)
    assert perplexity.perplexity([math.log(0.5), math.log(0.25)]) == pytest.approx(math.exp(-(math.log(0.125)) / 2))
    assert perplexity.corpus_perplexity([[math.log(0.5)], [math.log(0.5)] * 3]) == pytest.approx(2.0)
    assert perplexity.corpus_perplexity([[math.log(0.5)], None]) is None  # one output without: unavailable
    assert perplexity.describe(None) == "unavailable"
    assert perplexity.describe(2.0) == "2.00"
    with pytest.raises(ValueError, match="<= 0"):
        perplexity.perplexity([0.1])
    with pytest.raises(ValueError, match="finite"):
        perplexity.perplexity([float("nan")])
