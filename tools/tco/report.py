"""The one page a reviewer reads: the workload, the cost table now and at the horizon, the break-even volumes, the
charts and every assumption with its source (reports/<usecase>/tco.md)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from tools.tco import capacity
from tools.tco.breakeven import BreakEven, break_even
from tools.tco.inputs import SCALE_FILE, Tco
from tools.tco.options import Option, options
from tools.tco.prices import HOURS_PER_MONTH, PriceBook

REPORT_FILE = "tco.md"
CURVES_FILE = "tco-cost-curves.png"
BREAKDOWN_FILE = "tco-breakdown.png"
SEARCH_FACTOR = 100  # the break-even search runs to 100 times the horizon's volume (at least a million a day)


@dataclass(frozen=True)
class Pair:
    api: Option
    hosted: Option
    result: BreakEven


@dataclass(frozen=True)
class Analysis:
    tco: Tco
    options: list[Option]
    pairs: list[Pair]
    search_high: int

    @property
    def priced(self) -> list[Option]:
        return [o for o in self.options if o.monthly is not None]


def analyse(tco: Tco, book: PriceBook) -> Analysis:
    """Every option, and the break-even of each API option billed per token against each hosted precision."""
    found = options(tco, book)
    high = max(SEARCH_FACTOR * tco.horizon_requests_per_day, 1_000_000)
    api = [o for o in found if o.kind in ("on-demand", "batch") and o.monthly is not None]
    hosted = [o for o in found if o.kind == "hosted" and o.monthly is not None]
    pairs = []
    for a in api:
        for h in hosted:
            assert a.monthly is not None
            assert h.monthly is not None
            pairs.append(Pair(a, h, break_even(a.monthly, h.monthly, 1, high)))
    return Analysis(tco, found, pairs, high)


def usd(value: float) -> str:
    return f"${value:,.2f}"


def _cheapest(analysis: Analysis, volume: int) -> str | None:
    priced = analysis.priced
    if not priced:
        return None
    return min(priced, key=lambda o: o.monthly(volume).breakdown.total if o.monthly else 0.0).name


def cost_table(analysis: Analysis) -> str:
    """The Markdown table of monthly cost per option, now and at the horizon; the cheapest of each column in bold."""
    tco = analysis.tco
    now, later = tco.requests_per_day, tco.horizon_requests_per_day
    best_now, best_later = _cheapest(analysis, now), _cheapest(analysis, later)
    lines = [
        f"| option | now ({now:,}/day): buys | now: USD a month | horizon ({later:,}/day): buys "
        "| horizon: USD a month |",
        "|---|---|---:|---|---:|",
    ]
    for option in analysis.options:
        if option.monthly is None:
            lines.append(f"| {option.name} | {option.unavailable} | n/a | | n/a |")
            continue
        a, b = option.monthly(now), option.monthly(later)
        first = f"**{usd(a.breakdown.total)}**" if option.name == best_now else usd(a.breakdown.total)
        second = f"**{usd(b.breakdown.total)}**" if option.name == best_later else usd(b.breakdown.total)
        lines.append(f"| {option.name} | {a.detail} | {first} | {b.detail} | {second} |")
    return "\n".join(lines)


def breakdown_table(analysis: Analysis, volume: int) -> str:
    lines = [
        "| option | model | storage | data transfer | maintenance | total |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for option in analysis.priced:
        assert option.monthly is not None
        c = option.monthly(volume).breakdown
        cells = (c.model, c.storage, c.data_transfer, c.maintenance, c.total)
        lines.append(f"| {option.name} | " + " | ".join(usd(x) for x in cells) + " |")
    return "\n".join(lines)


def break_even_lines(analysis: Analysis) -> list[str]:
    high = f"{analysis.search_high:,}"
    lines = []
    for pair in analysis.pairs:
        first, stays = pair.result.first, pair.result.stays
        if first is None:
            text = f"the API stays cheaper up to {high} requests a day (the end of the search)"
        elif first == stays:
            text = f"hosting is cheaper from **{first:,}** requests a day on"
        else:
            later = f"for good from {stays:,}" if stays is not None else f"not for good below {high}"
            text = (
                f"hosting is first cheaper at **{first:,}** requests a day; each added instance can tip it back, "
                f"{later}"
            )
        lines.append(f"- {pair.api.name} vs {pair.hosted.name}: {text}")
    return lines


def _eligibility(tco: Tco, book: PriceBook) -> list[str]:
    lines = []
    for precision in tco.hosted_model.precisions:
        reasons = [
            r for t in tco.hosted_model.instance_types if (r := capacity.why_ineligible(tco, book, precision, t))
        ]
        if reasons:
            lines.append(f"- {precision}: not eligible: " + "; ".join(reasons))
    return lines


def markdown(
    analysis: Analysis, book: PriceBook, *, usecase_id: str, title: str, generated: date, refreshed: bool
) -> str:
    tco = analysis.tco
    model, throughput, tokens = tco.hosted_model, tco.hosted_model.throughput, tco.tokens_per_request
    now, later = tco.requests_per_day, tco.horizon_requests_per_day
    peak = capacity.peak_requests_per_second(tco, now)
    peak_later = capacity.peak_requests_per_second(tco, later)
    prices = "the Price List API for SageMaker hosting, the snapshot for the rest" if refreshed else "the snapshot"
    parts: list[str] = [
        f"# TCO: {title} (`{usecase_id}`)",
        "",
        f"Generated on {generated.isoformat()} by `make tco USECASE={usecase_id}` from `usecases/{usecase_id}/"
        f"{SCALE_FILE}` with prices from {prices} (`tools/prices/`, sources below). List prices, before taxes, "
        "discounts, Savings Plans and free tiers: an estimate for choosing, not a quote.",
        "",
        "## Workload",
        "",
        "| | now | horizon |",
        "|---|---:|---:|",
        f"| requests a day | {now:,} | {later:,} |",
        f"| peak requests a second per Region (x{tco.peak_factor:g}) | {peak:.2f} | {peak_later:.2f} |",
        "",
        f"Horizon: {tco.horizon_months} months at {tco.monthly_growth:.1%} a month. A request: {tokens.input:,} input "
        f"+ {tokens.context:,} context tokens in, {tokens.output:,} out. Latency target {tco.latency_target_seconds:g} "
        f"s. Regions: {', '.join(tco.regions)} (traffic split evenly). Hosted model: {model.name}, "
        f"{model.parameters_billion:g}B parameters.",
        "",
        "## Monthly cost",
        "",
        cost_table(analysis),
        "",
        "The cheapest option of each column is in bold. Breakdown at the horizon (USD a month):",
        "",
        breakdown_table(analysis, later),
        "",
        "## Break-even",
        "",
        "Requests a day from which the API, billed per token, costs at least the hosted endpoint (solved exactly "
        "over whole requests a day on the step function of instance counts):",
        "",
        *(break_even_lines(analysis) or ["- no API option and hosted option to compare"]),
        "",
        "## Charts",
        "",
        f"![Monthly cost against requests a day]({CURVES_FILE})",
        "",
        f"![Cost breakdown now and at the horizon]({BREAKDOWN_FILE})",
        "",
        "## Assumptions",
        "",
        f"- A month is {HOURS_PER_MONTH} hours ({HOURS_PER_MONTH / 24:.2f} days), as AWS prices it.",
        "- The hosted fleet is sized for the peak and runs all month (no scale-down off-peak: an upper bound), with at "
        f"least {model.min_instances_per_region} instance(s) per Region; the cheapest eligible instance type wins.",
        f"- Decode speed: weight bytes / (GPUs x memory bandwidth x {throughput.memory_bandwidth_utilization:g} "
        f"utilization) a step, {throughput.concurrent_sequences} sequences a step; a prompt token costs "
        f"{throughput.prompt_token_weight:g} of an output token; fleets run at {throughput.target_utilization:.0%} "
        f"busy. GPU memory: weights x {throughput.memory_overhead:g}. Bytes a weight: fp16 2, int8 1, int4 0.5. "
        "Sources: Databricks, LLM Inference Performance Engineering "
        "(https://www.databricks.com/blog/llm-inference-performance-engineering-best-practices); "
        "https://www.substratus.ai/blog/calculating-gpu-memory-for-llm. Estimates: replace them with a load test "
        f"(`tco.hosted_model.throughput` in {SCALE_FILE}).",
        *_eligibility(tco, book),
        f"- Answers leave AWS at {tco.bytes_per_token:g} bytes a token for every option (it never moves the "
        "break-even). Model artifacts: the weights at the precision, in S3 in each Region.",
        f"- Maintenance: {tco.maintenance.api_hours_per_month:g} h a month for an API option, "
        f"{tco.maintenance.hosted_hours_per_month:g} h for a hosted one, at {usd(tco.maintenance.hourly_cost)} an "
        "hour.",
        f"- Bedrock batch: {book.batch.discount:.0%} of the on-demand token price, only when the latency target allows "
        f"{book.batch.turnaround_hours:g} h. Provisioned throughput: model units for the peak tokens a minute.",
        "- A quantized model replaces full precision only when the evaluation gate passes on the golden set.",
        "",
        "## Sources",
        "",
        "| figures | read on | source |",
        "|---|---|---|",
        *(f"| {s.what} | {s.date} | {s.url} |" for s in book.sources()),
        *(
            f"| Bedrock provisioned throughput, {model}: the use case's quote | {quote.quoted_on} | {quote.source} |"
            for model, quote in tco.provisioned_throughput.items()
        ),
        "",
        f"Snapshot to be refreshed: `make tco USECASE={usecase_id} TCO_ARGS=--refresh` reads SageMaker hosting "
        "prices from the AWS Price List API (needs credentials).",
        "",
    ]
    return "\n".join(parts)


def chart_marks(tco: Tco) -> Sequence[tuple[str, int]]:
    return (("now", tco.requests_per_day), ("horizon", tco.horizon_requests_per_day))
