"""`make tco` (tools/tco/): hand-computed cases to the cent from the snapshot's figures, Hypothesis properties (cost
never falls as volume rises, quantized hosting never needs more instances than fp16, the break-even is where the
curves cross), clear errors for bad scale.yaml inputs, the CLI's report and PNGs, and --refresh through a stubbed
Price List client (botocore's own model checks every request and response)."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import textwrap
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from botocore.stub import Stubber
from common.evaluation import cost as on_demand_costs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from stacks.config import REPO_ROOT as ROOT
from stacks.config import USECASES_DIR, ConfigError
from stacks.usecase_files import load_usecase_files
from tests.stacks.test_prompt_eval import png_title
from tools import register
from tools.tco import capacity, prices, report
from tools.tco.__main__ import main
from tools.tco.breakeven import break_even
from tools.tco.inputs import Tco, load_scale
from tools.tco.options import Breakdown, Monthly, batch, hosted, on_demand, options, provisioned

USECASE = "customer-retention"
BOOK = prices.load_snapshot()
PNG = b"\x89PNG\r\n\x1a\n"


def cents(value: Fraction) -> str:
    """An exact amount in dollars and cents, half up."""
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    return str(exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def tco(**changes: Any) -> Tco:
    """A small workload; ``changes`` are dotted paths ("hosted_model.precisions") to replace."""
    data: dict[str, Any] = {
        "requests_per_day": 10_000,
        "monthly_growth": 0.05,
        "horizon_months": 12,
        "peak_factor": 3,
        "tokens_per_request": {"input": 400, "context": 600, "output": 200},
        "latency_target_seconds": 10,
        "regions": ["us-east-1"],
        "maintenance": {"hourly_cost": 100, "api_hours_per_month": 2, "hosted_hours_per_month": 40},
        "candidate_models": ["global.anthropic.claude-haiku-4-5-20251001-v1:0", "us.amazon.nova-lite-v1:0"],
        "hosted_model": {
            "name": "Llama 3.1 8B",
            "parameters_billion": 8,
            "precisions": ["fp16", "int8", "int4"],
            "instance_types": ["ml.g5.xlarge"],
        },
    }
    for path, value in changes.items():
        *parents, leaf = path.split(".")
        node = data
        for part in parents:
            node = node[part]
        node[leaf] = value
    return Tco.model_validate(data)


def with_provisioned(tmp_path: Path, models: dict[str, Any]) -> prices.PriceBook:
    """The snapshot with these model-unit rates, and made-up eu-west-1 hosting rates (10% over us-east-1's)."""
    folder = tmp_path / "prices"
    shutil.copytree(prices.PRICES_DIR, folder)
    hosting = json.loads((folder / "sagemaker-hosting.json").read_text())
    hosting["prices"]["eu-west-1"] = {t: round(p * 1.1, 4) for t, p in hosting["prices"]["us-east-1"].items()}
    (folder / "sagemaker-hosting.json").write_text(json.dumps(hosting))
    path = folder / "bedrock-provisioned-throughput.json"
    data = json.loads(path.read_text())
    data["models"] = models
    path.write_text(json.dumps(data))
    return prices.load_snapshot(folder)


# ------------------------------------------------------------------------------- hand-computed, to the cent

# The snapshot's figures, written out: us-east-1.
HAIKU_IN, HAIKU_OUT = Fraction(1, 10**6), Fraction(5, 10**6)  # global profile, USD a token (cost.py)
NOVA_LITE_IN, NOVA_LITE_OUT = Fraction(6, 10**8), Fraction(24, 10**8)  # $0.06 / $0.24 per million
G5_XLARGE = Fraction(1408, 1000)
S3 = Fraction(23, 1000)
TRANSFER = Fraction(9, 100)
MONTH_DAYS = Fraction(730, 24)


def test_the_snapshot_figures_the_hand_computations_use():
    assert BOOK.instance_hourly("us-east-1", "ml.g5.xlarge") == 1.408
    assert BOOK.s3.prices["us-east-1"] == 0.023
    assert BOOK.data_transfer.prices["us-east-1"] == 0.09
    assert BOOK.batch.discount == 0.5
    haiku = on_demand_costs.price_of("global.anthropic.claude-haiku-4-5-20251001-v1:0")
    assert haiku == on_demand_costs.Price(0.001, 0.005)
    assert BOOK.on_demand is on_demand_costs.price_of  # the prompts-eval table, not a copy


def test_on_demand_by_hand():
    # 10,000 requests a day x 730/24 days = 304,166.67 requests; each 1,000 prompt tokens at $1/M and 200 output
    # tokens at $5/M = $0.002; answers 200 tokens x 4 bytes out at $0.09/GB of 2^30 bytes; 2 h x $100 maintenance.
    requests = 10_000 * MONTH_DAYS
    tokens = requests * (1000 * HAIKU_IN + 200 * HAIKU_OUT)
    transfer = requests * 200 * 4 / Fraction(2**30) * TRANSFER
    expected = tokens + transfer + 2 * 100
    assert cents(tokens) == "608.33"
    assert cents(transfer) == "0.02"
    cost = on_demand(tco(), BOOK, "global.anthropic.claude-haiku-4-5-20251001-v1:0").monthly
    assert cost is not None
    assert f"{cost(10_000).breakdown.total:.2f}" == cents(expected) == "808.35"


def test_batch_by_hand_is_half_the_tokens():
    # Nova Lite through its us. profile: 1,000 x $0.06/M + 200 x $0.24/M = $0.000108 a request, half in batch.
    workload = tco(latency_target_seconds=86_400, requests_per_day=240_000)
    requests = 240_000 * MONTH_DAYS
    tokens = requests * (1000 * NOVA_LITE_IN + 200 * NOVA_LITE_OUT) / 2
    transfer = requests * 200 * 4 / Fraction(2**30) * TRANSFER
    option = batch(workload, BOOK, "us.amazon.nova-lite-v1:0")
    assert option.monthly is not None
    result = option.monthly(240_000).breakdown
    assert f"{result.model:.2f}" == cents(tokens) == "394.20"
    assert f"{result.total:.2f}" == cents(tokens + transfer + 200)


def test_batch_is_refused_when_the_latency_target_is_under_its_turnaround():
    assert batch(tco(latency_target_seconds=86_399), BOOK, "us.amazon.nova-lite-v1:0").unavailable == (
        "latency target 86399 s is under the batch turnaround (24 h)"
    )
    assert batch(tco(latency_target_seconds=86_400), BOOK, "us.amazon.nova-lite-v1:0").monthly is not None


def test_hosted_int4_by_hand():
    # 8B weights at int4: 4e9 bytes. A step reads them at 600 GB/s x 0.5 = 1/75 s. A request is 200 output + 0.1 x
    # 1,000 prompt token-equivalents = 300 x (1/75) / 16 sequences = 0.25 instance-seconds. 200,000 requests a day x 3
    # / 86,400 s = 6.944 a second at the peak -> 1.736 busy instances / 0.7 = 2.48 -> 3 x ml.g5.xlarge.
    step = Fraction(4 * 10**9, 600 * 10**9 // 2)
    per_request = (200 + Fraction(1, 10) * 1000) * step / 16
    assert per_request == Fraction(1, 4)
    busy = Fraction(200_000 * 3, 86_400) * per_request / Fraction(7, 10)
    assert 2 < busy < 3
    workload = tco(requests_per_day=200_000)
    assert capacity.instances(workload, BOOK, "int4", "ml.g5.xlarge", 200_000) == 3
    compute = 3 * G5_XLARGE * 730
    storage = Fraction(4 * 10**9, 2**30) * S3
    transfer = 200_000 * MONTH_DAYS * 200 * 4 / Fraction(2**30) * TRANSFER
    maintenance = 40 * 100
    option = hosted(workload, BOOK, "int4")
    assert option.monthly is not None
    month = option.monthly(200_000)
    assert month.detail == "3 x ml.g5.xlarge (us-east-1)"
    assert month.units == 3
    assert f"{month.breakdown.model:.2f}" == cents(compute) == "3083.52"
    assert f"{month.breakdown.storage:.2f}" == cents(storage) == "0.09"
    assert f"{month.breakdown.total:.2f}" == cents(compute + storage + transfer + maintenance) == "7084.01"
    # the latency: 200 steps + the prefill share = 200/75 + 100/75/16 = 2.75 s
    assert capacity.latency_seconds(workload, BOOK, "int4", "ml.g5.xlarge") == pytest.approx(2.75)


def test_two_regions_split_the_traffic_and_each_keeps_its_floor(tmp_path):
    # eu-west-1's hosting rate is a made-up $1.50 of this test's own snapshot (the shipped one has no eu-west-1 rates).
    folder = tmp_path / "prices"
    shutil.copytree(prices.PRICES_DIR, folder)
    path = folder / "sagemaker-hosting.json"
    data = json.loads(path.read_text())
    data["prices"]["eu-west-1"] = {"ml.g5.xlarge": 1.5}
    path.write_text(json.dumps(data))
    book = prices.load_snapshot(folder)
    # 400,000 a day: 200,000 a Region, 3 instances each (as in test_hosted_int4_by_hand); 100,000 a day: the floor, 2.
    workload = tco(regions=["us-east-1", "eu-west-1"])
    option = hosted(workload, book, "int4")
    assert option.monthly is not None
    month = option.monthly(400_000)
    assert month.detail == "3 x ml.g5.xlarge + 3 x ml.g5.xlarge (us-east-1, eu-west-1)"
    assert f"{month.breakdown.model:.2f}" == cents(3 * G5_XLARGE * 730 + 3 * Fraction(3, 2) * 730) == "6368.52"
    assert f"{month.breakdown.storage:.2f}" == cents(2 * Fraction(4 * 10**9, 2**30) * S3)
    assert option.monthly(100_000).units == 4
    # answers: each Region's half at $0.09 a GB in both
    transfer = 400_000 * MONTH_DAYS * 200 * 4 / Fraction(2**30) * TRANSFER
    assert f"{month.breakdown.data_transfer:.4f}" == f"{float(transfer):.4f}"


def test_fp16_that_misses_the_latency_target_is_not_offered():
    # fp16 8B on one A10G: 16e9 / 300e9 = 0.0533 s a step x 200 tokens = 10.67 s + 100/16 x 0.0533 s of prefill.
    option = hosted(tco(), BOOK, "fp16")
    assert option.monthly is None
    assert option.unavailable is not None
    assert "ml.g5.xlarge: about 11.0 s an answer, over the 10 s target" in option.unavailable
    too_big = hosted(tco(**{"hosted_model.parameters_billion": 20}), BOOK, "fp16").unavailable
    assert too_big is not None
    assert "needs 44.7 GiB of GPU memory, has 24" in too_big


def test_provisioned_by_hand(tmp_path):
    # 200,000 requests a day x 3 / 86,400 x 60 s x 1,200 tokens = 500,000 tokens a minute at the peak: exactly 5 units
    # of 100,000 (floating point must not buy a sixth), x $20 an hour x 730 h.
    book = with_provisioned(
        tmp_path, {"amazon.nova-lite-v1:0": {"tokens_per_minute_per_unit": 100_000, "hourly": {"1_month": 20.0}}}
    )
    (option,) = provisioned(tco(requests_per_day=200_000), book, "us.amazon.nova-lite-v1:0")
    assert option.name == "Bedrock provisioned (1-month term): us.amazon.nova-lite-v1:0"
    assert option.monthly is not None
    month = option.monthly(200_000)
    assert month.units == 5
    assert f"{month.breakdown.model:.2f}" == cents(Fraction(5 * 20 * 730)) == "73000.00"
    assert option.monthly(200_001).units == 6
    # 288,000 a day at a peak factor of 2.5 is exactly 6 units, which floating point computes as 6.000000000000001
    (exact,) = provisioned(tco(requests_per_day=288_000, peak_factor=2.5), book, "us.amazon.nova-lite-v1:0")
    assert exact.monthly is not None
    assert Fraction(288_000 * 5, 2 * 86_400) * 60 * 1200 / 100_000 == 6
    assert exact.monthly(288_000).units == 6


def test_a_model_without_a_unit_rate_is_listed_as_not_priced():
    (option,) = provisioned(tco(), BOOK, "us.amazon.nova-lite-v1:0")
    assert option.monthly is None
    assert option.unavailable is not None
    assert option.unavailable.startswith("not priced: AWS tells a model unit's tokens a minute through the account")
    assert "tco.provisioned_throughput" in option.unavailable


QUOTE = {"tokens_per_minute_per_unit": 100_000, "hourly": {"6_month": 30.0}, "source": "AWS account team, ticket 42"}


def test_the_use_cases_quote_prices_provisioned_throughput_and_wins_over_the_snapshot(tmp_path):
    # The snapshot says $20 an hour on a 1-month term; the quote says $30 on a 6-month term: only the quote counts.
    # 200,000 requests a day x 3 / 86,400 x 60 s x 1,200 tokens = 500,000 a minute = 5 units x $30 x 730 h.
    book = with_provisioned(
        tmp_path, {"amazon.nova-lite-v1:0": {"tokens_per_minute_per_unit": 50_000, "hourly": {"1_month": 20.0}}}
    )
    quoted = tco(
        requests_per_day=200_000, provisioned_throughput={"amazon.nova-lite-v1:0": {**QUOTE, "quoted_on": "2026-11-30"}}
    )
    (option,) = provisioned(quoted, book, "us.amazon.nova-lite-v1:0")
    assert option.name == "Bedrock provisioned (6-month term): us.amazon.nova-lite-v1:0"
    assert option.monthly is not None
    month = option.monthly(200_000)
    assert month.units == 5
    assert f"{month.breakdown.model:.2f}" == cents(Fraction(5 * 30 * 730)) == "109500.00"
    # The other candidate has neither a quote nor a snapshot rate.
    (haiku,) = provisioned(quoted, book, "global.anthropic.claude-haiku-4-5-20251001-v1:0")
    assert haiku.monthly is None


@pytest.mark.parametrize(
    ("quotes", "reason"),
    [
        (
            {"us.amazon.nova-lite-v1:0": QUOTE},
            "'us.amazon.nova-lite-v1:0' is an inference profile; quote the base model 'amazon.nova-lite-v1:0'",
        ),
        ({"amazon.nova-micro-v1:0": QUOTE}, "'amazon.nova-micro-v1:0' is not the base of any of candidate_models"),
    ],
)
def test_a_quote_must_name_the_base_model_of_a_candidate(quotes, reason):
    with pytest.raises(ValidationError, match=re.escape(reason)):
        tco(provisioned_throughput={model: {**quote, "quoted_on": "2026-11-30"} for model, quote in quotes.items()})


def test_the_report_lists_the_quote_among_its_sources_and_prices_it():
    quoted = tco(provisioned_throughput={"amazon.nova-lite-v1:0": {**QUOTE, "quoted_on": "2026-11-30"}})
    text = report.markdown(
        report.analyse(quoted, BOOK), BOOK, usecase_id="u", title="T", generated=date(2026, 12, 2), refreshed=False
    )
    quote = "Bedrock provisioned throughput, amazon.nova-lite-v1:0: the use case's quote"
    assert f"| {quote} | 2026-11-30 | AWS account team, ticket 42 |" in text.splitlines()
    assert "| Bedrock provisioned: us.amazon.nova-lite-v1:0 | not priced" not in text
    assert (
        "| Bedrock provisioned (6-month term): us.amazon.nova-lite-v1:0 | 1 unit(s) x 1 Region(s) | $22,100.02 |"
        in text
    )


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"source": ""}, "source"),
        ({"quoted_on": None}, "quoted_on"),
        ({"tokens_per_minute_per_unit": 0}, "tokens_per_minute_per_unit"),
        ({"hourly": {}}, "hourly"),
        ({"hourly": {"12_month": 1.0}}, "hourly.12_month.[key]"),
    ],
)
def test_a_bad_quote_names_its_field(change, field):
    quote = {**QUOTE, "quoted_on": "2026-11-30", **change}
    quote = {key: value for key, value in quote.items() if value is not None}
    with pytest.raises(ValidationError) as caught:
        tco(provisioned_throughput={"amazon.nova-lite-v1:0": quote})
    (error,) = caught.value.errors()
    assert ".".join(str(part) for part in error["loc"]) == f"provisioned_throughput.amazon.nova-lite-v1:0.{field}"


def test_the_horizon_compounds_monthly_growth():
    assert tco().horizon_requests_per_day == round(10_000 * 1.05**12) == 17_959
    assert tco(monthly_growth=-0.5, horizon_months=120).horizon_requests_per_day == 1


# ------------------------------------------------------------------------------------------------ properties

workloads = st.fixed_dictionaries(
    {
        "peak_factor": st.floats(1, 20),
        "tokens_per_request.input": st.integers(0, 5000),
        "tokens_per_request.context": st.integers(0, 20_000),
        "tokens_per_request.output": st.integers(1, 4000),
        "latency_target_seconds": st.sampled_from([2.0, 10.0, 60.0, 86_400.0]),
        "regions": st.sampled_from([["us-east-1"], ["us-east-1", "eu-west-1"]]),
        "hosted_model.parameters_billion": st.floats(0.5, 180),
        "hosted_model.instance_types": st.lists(
            st.sampled_from(sorted(BOOK.sagemaker.prices["us-east-1"])), min_size=1, max_size=6, unique=True
        ),
        "hosted_model.min_instances_per_region": st.integers(1, 3),
        "hosted_model.ebs_gb_per_instance": st.sampled_from([0.0, 30.0]),
        "hosted_model.throughput": st.fixed_dictionaries(
            {"concurrent_sequences": st.integers(1, 64), "prompt_token_weight": st.floats(0, 1)}
        ),
        "candidate_models": st.sampled_from(
            [["global.anthropic.claude-haiku-4-5-20251001-v1:0"], ["us.amazon.nova-micro-v1:0", "amazon.nova-pro-v1:0"]]
        ),
    }
)
PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@PROPERTY
@given(workloads, st.integers(1, 5_000_000), st.integers(0, 5_000_000))
def test_no_option_costs_less_at_a_higher_volume(tmp_path_factory, changes, low, more):
    book = with_provisioned(
        tmp_path_factory.mktemp("p"),
        {
            "amazon.nova-micro-v1:0": {"tokens_per_minute_per_unit": 50_000, "hourly": {"1_month": 9.5, "6_month": 7}},
            "anthropic.claude-haiku-4-5-20251001-v1:0": {
                "tokens_per_minute_per_unit": 7_000,
                "hourly": {"1_month": 40},
            },
        },
    )
    workload = tco(**changes)
    priced = [o for o in options(workload, book) if o.monthly is not None]
    assert any(o.kind == "provisioned" for o in priced)
    for option in priced:
        assert option.monthly is not None
        a, b = option.monthly(low), option.monthly(low + more)
        assert a.breakdown.total <= b.breakdown.total, option.name
        # Model units of one model never fall; a fleet may move to fewer, larger instances when that is cheaper
        # (2 x ml.g6e.xlarge, then 1 x ml.g5.12xlarge), so instances only compare on one instance type.
        if option.kind == "provisioned" or a.detail.split(" x ", 1)[-1] == b.detail.split(" x ", 1)[-1]:
            assert a.units <= b.units, option.name


@PROPERTY
@given(workloads, st.integers(1, 50_000_000))
def test_quantized_hosting_never_needs_more_than_fp16(changes, volume):
    workload = tco(**changes)
    for instance_type in workload.hosted_model.instance_types:
        counts = [capacity.instances(workload, BOOK, p, instance_type, volume) for p in ("fp16", "int8", "int4")]
        assert counts[0] >= counts[1] >= counts[2], instance_type
        fit = [capacity.fits(BOOK, workload.hosted_model, p, instance_type) for p in ("fp16", "int8", "int4")]
        assert fit[0] <= fit[1] <= fit[2]  # what fits at fp16 fits quantized
        eligible = [capacity.why_ineligible(workload, BOOK, p, instance_type) is None for p in ("fp16", "int8", "int4")]
        assert eligible[0] <= eligible[1] <= eligible[2]
    fleets = [capacity.fleet(workload, BOOK, "us-east-1", p, volume) for p in ("fp16", "int8", "int4")]
    costs = [f.count * f.hourly if f else float("inf") for f in fleets]
    assert costs[0] >= costs[1] >= costs[2]


def brute_force(api, host, low: int, high: int) -> tuple[int | None, int | None]:
    """(first, stays) of breakeven.py's definitions, by trying every volume."""
    difference = [(v, api(v).breakdown.total - host(v).breakdown.total) for v in range(low, high + 1)]
    crossing = [v for v, d in difference if d >= 0]
    below = [v for v, d in difference if d < 0]
    stays = None if below and below[-1] == high else (below[-1] + 1 if below else low)
    return (crossing[0] if crossing else None), stays


def curve(fixed: float, per_request: float, per_instance: float = 0.0, rate: float = 0.0, floor: int = 0):
    """A Monthly curve of the shape the options have: fixed + affine + whole instances for the volume."""

    def monthly(v: int) -> Monthly:
        units = max(floor, capacity.whole(v * rate))
        return Monthly(Breakdown(units * per_instance, fixed, per_request * v, 0.0), "", units)

    return monthly


@settings(max_examples=80, deadline=None)
@given(
    st.floats(0, 5000),
    st.floats(0.01, 50),
    st.floats(0, 5000),
    st.floats(1, 5000),
    st.floats(0.001, 0.5),
    st.integers(0, 3),
    st.floats(0, 0.01),
    st.integers(1, 300),
)
def test_the_break_even_is_where_the_curves_cross(
    api_fixed, api_slope, fixed, per_instance, rate, floor, transfer, low
):
    """On curves of the options' shape (affine API, hosting in whole instances), against every volume tried."""
    api = curve(api_fixed, api_slope + transfer)
    host = curve(fixed, transfer, per_instance, rate, floor)
    high = low + 1200
    result = break_even(api, host, low, high)
    assert (result.first, result.stays) == brute_force(api, host, low, high)
    if result.first is not None:
        b = result.first
        assert api(b).breakdown.total >= host(b).breakdown.total
        if b > low:
            assert api(b - 1).breakdown.total < host(b - 1).breakdown.total


def test_the_break_even_search_steps_over_fleet_changes():
    """A case whose curves cross, fall apart when an instance is added, and cross again for good."""
    workload = tco(
        **{
            "tokens_per_request.context": 10_000,
            "hosted_model.min_instances_per_region": 1,
            "hosted_model.throughput": {"concurrent_sequences": 4},
        }
    )
    api = on_demand(workload, BOOK, "global.anthropic.claude-haiku-4-5-20251001-v1:0").monthly
    host = hosted(workload, BOOK, "int4").monthly
    assert api is not None
    assert host is not None
    result = break_even(api, host, 1, 200_000)
    assert (result.first, result.stays) == (28_745, 34_673)
    assert brute_force(api, host, 28_000, 35_000) == (28_745, 34_673)  # every volume around them tried
    assert result.first is not None
    assert result.stays is not None
    assert api(result.first).breakdown.total >= host(result.first).breakdown.total
    assert api(result.first - 1).breakdown.total < host(result.first - 1).breakdown.total
    assert api(result.stays - 1).breakdown.total < host(result.stays - 1).breakdown.total
    with pytest.raises(ValueError, match="empty"):
        break_even(api, host, 5, 4)


# ------------------------------------------------------------------------------------------------ inputs


def _write(tmp_path: Path, text: str) -> Path:
    root = tmp_path / "usecases"
    shutil.copytree(USECASES_DIR / USECASE, root / USECASE, ignore=shutil.ignore_patterns("sample-data", "golden"))
    (root / USECASE / "scale.yaml").write_text(textwrap.dedent(text))
    return root


def _scale_with(path: str, value: Any) -> str:
    data = yaml.safe_load((USECASES_DIR / USECASE / "scale.yaml").read_text())
    *parents, leaf = path.split(".")
    node = data
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if value is ...:
        del node[leaf]
    else:
        node[leaf] = value
    return yaml.safe_dump(data)


@pytest.mark.parametrize(
    ("path", "value", "field", "reason"),
    [
        ("tco.requests_per_day", 0, "tco.requests_per_day", "greater than or equal to 1"),
        ("tco.peak_factor", 0.5, "tco.peak_factor", "greater than or equal to 1"),
        ("tco.tokens_per_request.output", ..., "tco.tokens_per_request.output", "required, but missing"),
        ("tco.regions", ["us-east-1", "us-east-1"], "tco.regions", "lists 'us-east-1' twice"),
        ("tco.regions", ["US East"], "tco.regions.0", "must be an AWS Region code"),
        ("tco.candidate_models", ["claude"], "tco.candidate_models.0", "must look like `provider.model-name-v1:0`"),
        ("tco.hosted_model.precisions", ["fp8"], "tco.hosted_model.precisions.0", "must be 'fp16', 'int8' or 'int4'"),
        ("tco.hosted_model.instance_types", ["g5.xlarge"], "tco.hosted_model.instance_types.0", "SageMaker instance"),
        ("tco.hosted_model.throughput", {"concurency": 4}, "tco.hosted_model.throughput.concurency", "unknown field"),
        ("tco.maintenance.hourly_costs", 1, "tco.maintenance.hourly_costs", "did you mean 'hourly_cost'?"),
        ("tco.latency_target_seconds", "fast", "tco.latency_target_seconds", "must be a valid number"),
    ],
)
def test_a_bad_scale_yaml_is_one_line_naming_file_field_and_reason(tmp_path, path, value, field, reason):
    root = _write(tmp_path, _scale_with(path, value))
    with pytest.raises(ConfigError) as caught:
        load_scale(USECASE, root)
    (problem,) = caught.value.problems
    assert problem[0] == f"usecases/{USECASE}/scale.yaml"
    assert problem[1] == field
    assert reason in problem[2]


NUMERIC_FIELDS = [
    "tco.requests_per_day",
    "tco.monthly_growth",
    "tco.horizon_months",
    "tco.peak_factor",
    "tco.tokens_per_request.input",
    "tco.tokens_per_request.output",
    "tco.latency_target_seconds",
    "tco.maintenance.hourly_cost",
    "tco.hosted_model.parameters_billion",
    "tco.hosted_model.min_instances_per_region",
]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.sampled_from(NUMERIC_FIELDS),
    st.one_of(
        st.integers(-(10**12), 0),
        st.floats(-1e6, -1e-3),
        st.text(alphabet="abcxyz ", max_size=5),
        st.none(),
        st.lists(st.integers()),
    ),
)
def test_any_bad_value_is_an_error_line_on_its_field(tmp_path_factory, path, value):
    root = _write(tmp_path_factory.mktemp("bad"), _scale_with(path, value))
    number = isinstance(value, int | float)
    zero_allowed = path.endswith((".input", ".hourly_cost"))  # a request without input; maintenance costed elsewhere
    if number and ((path == "tco.monthly_growth" and value >= -0.5) or (zero_allowed and value == 0)):
        assert load_scale(USECASE, root)  # still valid: a shrinking use case, or one of the zeros above
        return
    with pytest.raises(ConfigError) as caught:
        load_scale(USECASE, root)
    assert [(source, field) for source, field, _ in caught.value.problems] == [(f"usecases/{USECASE}/scale.yaml", path)]
    assert all(reason and "\n" not in reason for _, _, reason in caught.value.problems)


def test_scale_yaml_without_tco_or_missing_is_an_error(tmp_path):
    root = _write(tmp_path, "hosted_endpoint: {quantization: awq}\n")
    with pytest.raises(ConfigError, match=r"scale.yaml: tco: required, but missing"):
        load_scale(USECASE, root)
    (root / USECASE / "scale.yaml").unlink()
    with pytest.raises(ConfigError, match=r"scale.yaml: \(file\): no such file"):
        load_scale(USECASE, root)


def test_other_sections_of_scale_yaml_are_left_to_their_own_models(tmp_path):
    text = (USECASES_DIR / USECASE / "scale.yaml").read_text() + "hosted_endpoint:\n  quantization: awq\n"
    assert load_scale(USECASE, _write(tmp_path, text)) == load_scale(USECASE)


@pytest.mark.parametrize("usecase", ["customer-retention", "it-helpdesk"])
def test_the_shipped_scale_files_load_and_the_kit_still_loads_the_use_case(usecase):
    workload = load_scale(usecase)
    assert workload.candidate_models[0] == load_usecase_files(usecase).usecase.models.text  # type: ignore[union-attr]
    assert register.entry(usecase).error is None


def test_the_snapshot_files_each_name_their_date_and_source():
    files = sorted(prices.PRICES_DIR.glob("*.json"))
    assert len(files) == 7
    for path in files:
        data = json.loads(path.read_text())
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", data["date"]), path.name
        assert data["source"].startswith("https://"), path.name
    for region, rates in BOOK.sagemaker.prices.items():
        assert all(0 < rate < 100 for rate in rates.values()), region
        assert set(rates) <= set(BOOK.gpus.instances)


def test_a_snapshot_file_without_a_date_is_refused(tmp_path):
    folder = tmp_path / "prices"
    shutil.copytree(prices.PRICES_DIR, folder)
    data = json.loads((folder / "s3.json").read_text())
    del data["date"]
    (folder / "s3.json").write_text(json.dumps(data))
    with pytest.raises(ConfigError, match=r"s3.json: date: required, but missing"):
        prices.load_snapshot(folder)


# ------------------------------------------------------------------------------------------------ the CLI


def readme_command() -> list[str]:
    """The README's `make tco ...` row, as the tool's arguments, and the Makefile recipe it runs."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    (row,) = [line for line in text.splitlines() if line.startswith("| `make tco")]
    command = re.match(r"\| `([^`]+)`", row)
    assert command
    words = shlex.split(command[1])
    assert words[:2] == ["make", "tco"]
    recipe = (ROOT / "Makefile").read_text(encoding="utf-8").split("\ntco:", 1)[1].split("\n\n", 1)[0]
    assert '$(PY) -m tools.tco $(if $(USECASE),--usecase "$(USECASE)") $(TCO_ARGS)' in recipe
    arguments = []
    for word in words[2:]:
        name, _, value = word.partition("=")
        arguments += shlex.split(value) if name == "TCO_ARGS" else [{"USECASE": "--usecase"}[name], value]
    return arguments


def test_the_readme_command_writes_the_report_and_the_charts(tmp_path, capsys):
    assert main([*readme_command(), "--out", str(tmp_path)], today=datetime(2026, 12, 2, tzinfo=UTC)) == 0
    printed = capsys.readouterr().out
    assert "| SageMaker int4: Llama 3.1 8B Instruct | 2 x ml.g6.xlarge (us-east-1) |" in printed
    report = (tmp_path / "tco.md").read_text()
    assert report.startswith("# TCO: Personalized retain offers (`customer-retention`)")
    assert "Generated on 2026-12-02" in report
    assert "| requests a day | 12,000 | 48,587 |" in report
    assert "## Break-even" in report
    assert "hosting is cheaper from **41,519** requests a day on" in report
    assert "| Bedrock on-demand tokens | 2026-12-02 | https://aws.amazon.com/bedrock/pricing/" in report
    assert "(tco-cost-curves.png)" in report
    assert "(tco-breakdown.png)" in report
    assert (
        png_title(tmp_path / "tco-cost-curves.png") == "Personalized retain offers (customer-retention): monthly cost"
    )
    assert png_title(tmp_path / "tco-breakdown.png").endswith(": cost breakdown")
    assert not (tmp_path / "sagemaker-hosting.json").exists()  # only a refresh writes it


def test_a_region_the_snapshot_lacks_stops_with_every_missing_price(tmp_path, capsys):
    root = _write(tmp_path, _scale_with("tco.regions", ["us-east-1", "ap-south-1"]))
    assert main(["--usecase", USECASE, "--out", str(tmp_path / "out")], root=root) == 2
    errors = capsys.readouterr().err.splitlines()
    assert "tco: usecases/customer-retention/scale.yaml: tco.regions.1: no S3 price for ap-south-1 in the snapshot" in (
        errors
    )
    assert (
        "tco: usecases/customer-retention/scale.yaml: tco.hosted_model.instance_types.0: no SageMaker hosting price "
        "for ml.g5.xlarge in ap-south-1" in errors
    )
    assert not (tmp_path / "out").exists()


def test_a_candidate_the_catalogue_or_the_price_table_lacks_is_named(tmp_path, capsys):
    models = [
        "global.anthropic.claude-haiku-4-5-20251001-v1",
        "amazon.titan-embed-text-v2:0",
        "meta.llama3-8b-instruct-v1:0",
    ]
    root = _write(tmp_path, _scale_with("tco.candidate_models", models))
    assert main(["--usecase", USECASE, "--out", str(tmp_path / "out")], root=root) == 2
    errors = capsys.readouterr().err.splitlines()
    where = "tco: usecases/customer-retention/scale.yaml: tco.candidate_models"
    assert errors == [
        f"{where}.0: 'global.anthropic.claude-haiku-4-5-20251001-v1' is not in stacks/config/models.yaml; did you mean "
        "'global.anthropic.claude-haiku-4-5-20251001-v1:0'?",
        f"{where}.1: 'amazon.titan-embed-text-v2:0' is not a text model (modality: embedding)",
        f"{where}.0: no on-demand price for global.anthropic.claude-haiku-4-5-20251001-v1 in "
        "lambdas/common/evaluation/cost.py",
        f"{where}.1: no on-demand price for amazon.titan-embed-text-v2:0 in lambdas/common/evaluation/cost.py",
        f"{where}.2: no on-demand price for meta.llama3-8b-instruct-v1:0 in lambdas/common/evaluation/cost.py",
    ]


def test_an_unknown_use_case_is_a_clear_error(capsys):
    assert main(["--usecase", "no-such-case"]) == 2
    assert "no such use case 'no-such-case'" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------------ --refresh


def _product(usagetype: str, usd: str) -> str:
    return json.dumps(
        {
            "product": {
                "productFamily": "ML Instance",
                "attributes": {"usagetype": usagetype, "regionCode": "us-east-1"},
            },
            "terms": {
                "OnDemand": {
                    "SKU.JRTCKXETXF": {
                        "priceDimensions": {
                            "SKU.JRTCKXETXF.6YS6EN2CT7": {"unit": "Hrs", "pricePerUnit": {"USD": usd}},
                        }
                    }
                }
            },
        }
    )


def _filters(instance_type: str) -> list[dict[str, str]]:
    return [
        {"Type": "TERM_MATCH", "Field": "regionCode", "Value": "us-east-1"},
        {"Type": "CONTAINS", "Field": "usagetype", "Value": f"Hosting:{instance_type}"},
    ]


def test_refresh_reads_hosting_prices_from_the_price_list_api(tmp_path, capsys):
    client = boto3.client("pricing", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    new = {"ml.g5.xlarge": "1.5000000000", "ml.g6.xlarge": "1.2000000000", "ml.g6e.xlarge": "2.7000000000"}
    with Stubber(client) as stub:
        for instance_type in load_scale(USECASE).hosted_model.instance_types:
            params = {"ServiceCode": "AmazonSageMaker", "Filters": _filters(instance_type), "FormatVersion": "aws_v1"}
            if instance_type == "ml.g5.12xlarge":  # two pages; the first holds only other usage types
                stub.add_response(
                    "get_products",
                    {"PriceList": [_product("USE1-Hosting:ml.g5.12xlarge-Serverless", "9.9")], "NextToken": "page-2"},
                    params,
                )
                stub.add_response(
                    "get_products",
                    {"PriceList": [_product("USE1-Hosting:ml.g5.12xlarge", "7.2000000000")]},
                    {**params, "NextToken": "page-2"},
                )
                continue
            free = _product(f"USE1-Hosting:{instance_type}", "0.0000000000")  # a free-tier line is never the price
            stub.add_response(
                "get_products",
                {"PriceList": [free, _product(f"USE1-Hosting:{instance_type}", new[instance_type])]},
                params,
            )
        code = main(["--usecase", USECASE, "--out", str(tmp_path), "--refresh"], pricing=client)
        stub.assert_no_pending_responses()
    assert code == 0, capsys.readouterr().err
    refreshed = json.loads((tmp_path / "sagemaker-hosting.json").read_text())
    assert refreshed["source"] == prices.PRICE_LIST_SOURCE
    assert refreshed["prices"]["us-east-1"]["ml.g5.xlarge"] == 1.5
    assert refreshed["prices"]["us-east-1"]["ml.g5.12xlarge"] == 7.2
    assert refreshed["prices"]["us-east-1"]["ml.p4d.24xlarge"] == 37.688  # not asked for: kept from the snapshot
    report = (tmp_path / "tco.md").read_text()
    assert "the Price List API for SageMaker hosting" in report
    assert f"| SageMaker real-time hosting | {datetime.now(UTC).date().isoformat()} | {prices.PRICE_LIST_SOURCE} |" in (
        report
    )
    # int8 now: 2 x ml.g5.xlarge at the refreshed $1.50 = $2,190 + $3,800 maintenance + artifact and transfer
    assert "| SageMaker int8: Llama 3.1 8B Instruct | 2 x ml.g5.xlarge (us-east-1) | $5,990." in report


def test_refresh_failures_stop_with_exit_3(tmp_path, capsys):
    client = boto3.client("pricing", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stub:
        stub.add_client_error("get_products", "AccessDeniedException", "not allowed pricing:GetProducts")
        assert main(["--usecase", USECASE, "--out", str(tmp_path), "--refresh"], pricing=client) == 3
    assert "AccessDeniedException" in capsys.readouterr().err
    with Stubber(client) as stub:
        stub.add_response("get_products", {"PriceList": []})
        assert main(["--usecase", USECASE, "--out", str(tmp_path), "--refresh"], pricing=client) == 3
    assert "no on-demand hosting price for ml.g5.xlarge in us-east-1" in capsys.readouterr().err


def test_refresh_without_credentials_says_so_and_uses_the_snapshot(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("tools.tco.__main__.has_credentials", lambda: False)
    assert main(["--usecase", USECASE, "--out", str(tmp_path), "--refresh"]) == 0
    assert "--refresh: no AWS credentials; using the snapshot" in capsys.readouterr().err
    assert not (tmp_path / "sagemaker-hosting.json").exists()
