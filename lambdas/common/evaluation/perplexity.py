"""Perplexity from the token log-probabilities a model returned, and nothing else.

Perplexity is ``exp(-mean(log p(token)))`` over the generated tokens, natural logarithms. It exists only where
the model returns per-token log-probabilities (Bedrock's Converse API returns none; some hosted models do).
Without them the value is `None`, shown as "unavailable": it is never estimated from another model or from
the text.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

UNAVAILABLE = "unavailable"


def perplexity(logprobs: Sequence[float] | None) -> float | None:
    """Perplexity of one output from its tokens' natural-log probabilities; None without any."""
    if not logprobs:
        return None
    for value in logprobs:
        if not math.isfinite(value) or value > 0:
            raise ValueError(f"a log-probability must be finite and <= 0, got {value!r}")
    return math.exp(-math.fsum(logprobs) / len(logprobs))


def corpus_perplexity(outputs: Iterable[Sequence[float] | None]) -> float | None:
    """Perplexity over every token of every output (token-weighted); None unless every output has log-probs."""
    tokens: list[float] = []
    for logprobs in outputs:
        if not logprobs:
            return None
        tokens.extend(logprobs)
    return perplexity(tokens)


def describe(value: float | None) -> str:
    """A perplexity for a table: two decimals, or "unavailable"."""
    return UNAVAILABLE if value is None else f"{value:.2f}"
