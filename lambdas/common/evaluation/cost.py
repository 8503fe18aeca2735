"""What model calls cost: tokens x the on-demand price per 1,000 tokens of a small pinned table.

Where the prices come from: the Amazon Bedrock pricing page (https://aws.amazon.com/bedrock/pricing/),
on-demand text-generation rates in USD per 1M tokens, divided by 1,000 here, as read on `CHECKED`. They are
not fetched at run time (the evaluation runs offline) and AWS changes them: a figure is an estimate for
comparing variants of one model, not a bill. Not modelled: prompt caching, batch (half price), provisioned
throughput, taxes. Claude 4.5 models cost 10% more through a Geo (`us.`, `eu.`, `apac.`, `jp.`, `au.`)
profile or In-Region than through the `global.` profile; both rates are listed. A model id missing from the
table has no cost (`None`, shown "unknown"): a price is never guessed.

stacks/config/models.yaml (the model catalogue) holds ids, Regions and lifecycle, not prices, so the table
lives here, beside the one function that uses it.
"""

from __future__ import annotations

from dataclasses import dataclass

SOURCE = "https://aws.amazon.com/bedrock/pricing/ (on-demand, USD)"
CHECKED = "2026-12-02"
UNKNOWN = "unknown"


@dataclass(frozen=True)
class Price:
    """USD per 1,000 input and output tokens."""

    input_per_1k: float
    output_per_1k: float


_GEO_PREFIXES = ("us.", "eu.", "apac.", "jp.", "au.", "ca.", "us-gov.")
# Base rates (global profile) per 1M tokens: (input, output).
_PER_MILLION_GLOBAL = {
    "anthropic.claude-haiku-4-5-20251001-v1:0": (1.00, 5.00),
    "anthropic.claude-sonnet-4-5-20250929-v1:0": (3.00, 15.00),
    "anthropic.claude-sonnet-4-6": (3.00, 15.00),
}
_GEO_PREMIUM = 1.10  # Claude 4.5+ through a Geo profile or In-Region
# Models priced the same whichever way they are called (In-Region or Geo profile).
_PER_MILLION_FLAT = {
    "amazon.nova-micro-v1:0": (0.035, 0.14),
    "amazon.nova-lite-v1:0": (0.06, 0.24),
    "amazon.nova-pro-v1:0": (0.80, 3.20),
}


def price_of(model_id: str) -> Price | None:
    """The price of ``model_id`` (a foundation model or an inference profile id), None if the table lacks it."""
    if model_id.startswith("global."):
        base, premium = model_id.removeprefix("global."), 1.0
    else:
        base = next((model_id.removeprefix(p) for p in _GEO_PREFIXES if model_id.startswith(p)), model_id)
        premium = _GEO_PREMIUM
    if base in _PER_MILLION_GLOBAL:
        per_input, per_output = _PER_MILLION_GLOBAL[base]
        return Price(round(per_input * premium / 1000, 10), round(per_output * premium / 1000, 10))
    if base in _PER_MILLION_FLAT and not model_id.startswith("global."):
        per_input, per_output = _PER_MILLION_FLAT[base]
        return Price(per_input / 1000, per_output / 1000)
    return None


def cost(input_tokens: int, output_tokens: int, price: Price | None) -> float | None:
    """USD for one call (or a sum of calls); None when the price is unknown."""
    if input_tokens < 0 or output_tokens < 0:
        raise ValueError("token counts cannot be negative")
    if price is None:
        return None
    return input_tokens / 1000 * price.input_per_1k + output_tokens / 1000 * price.output_per_1k


def describe(value: float | None) -> str:
    """A cost for a table: dollars to six decimals, or "unknown"."""
    return UNKNOWN if value is None else f"${value:.6f}"
