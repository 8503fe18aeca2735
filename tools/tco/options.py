"""The monthly cost of each option at a volume (requests a day), split into model, storage, transfer and people.

- Bedrock on demand, per candidate model: requests x (prompt tokens x input rate + output tokens x output rate).
- Bedrock batch, where the latency target allows the batch turnaround: the same tokens at the batch discount.
- Bedrock provisioned throughput, per model and commitment term: model units for the peak tokens a minute, per
  Region, x the hourly rate x 730 hours.
- SageMaker real-time hosting, per precision: the fleet of capacity.py x the hourly rate x 730 hours, plus the model
  artifact in S3 and any EBS volume per instance.

Every option pays the data transfer of its answers and its maintenance hours. A month is 730 hours (30.42 days),
as AWS prices it. Every cost is non-decreasing in the volume (tests/stacks/test_tco.py proves it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from tools.tco import capacity
from tools.tco.inputs import Tco
from tools.tco.prices import GIB, HOURS_PER_MONTH, PriceBook, PriceError, Term

Kind = Literal["on-demand", "batch", "provisioned", "hosted"]
TERMS: dict[Term, str] = {"no_commitment": "no commitment", "1_month": "1-month term", "6_month": "6-month term"}


@dataclass(frozen=True)
class Breakdown:
    model: float  # tokens, instance-hours or model-unit hours
    storage: float
    data_transfer: float
    maintenance: float

    @property
    def total(self) -> float:
        return self.model + self.storage + self.data_transfer + self.maintenance


@dataclass(frozen=True)
class Monthly:
    breakdown: Breakdown
    detail: str  # what the model cost buys: instances, model units, or the cost of one request
    units: int = 0  # instances (hosted) or model units (provisioned), all Regions together


@dataclass(frozen=True)
class Option:
    name: str
    kind: Kind
    monthly: Callable[[int], Monthly] | None  # None: not available, see `unavailable`
    unavailable: str | None = None
    precision: str | None = None


def requests_per_month(requests_per_day: int) -> float:
    return requests_per_day * HOURS_PER_MONTH / 24


def data_transfer(tco: Tco, book: PriceBook, requests_per_day: int) -> float:
    """The answers' bytes out to the internet, each Region its even share at its rate."""
    gib = requests_per_month(requests_per_day) * tco.tokens_per_request.output * tco.bytes_per_token / GIB
    share = gib / len(tco.regions)
    return sum(share * book.regional(book.data_transfer, "data transfer", r) for r in tco.regions)


def _api_maintenance(tco: Tco) -> float:
    return tco.maintenance.api_hours_per_month * tco.maintenance.hourly_cost


def per_request(tco: Tco, book: PriceBook, model_id: str) -> float:
    """USD of the tokens of one request on demand."""
    price = book.on_demand(model_id)
    if price is None:
        raise PriceError(f"no on-demand price for {model_id}")
    tokens = tco.tokens_per_request
    return tokens.prompt / 1000 * price.input_per_1k + tokens.output / 1000 * price.output_per_1k


def on_demand(tco: Tco, book: PriceBook, model_id: str, factor: float = 1.0, kind: Kind = "on-demand") -> Option:
    each = per_request(tco, book, model_id) * factor

    def monthly(requests_per_day: int) -> Monthly:
        breakdown = Breakdown(
            model=requests_per_month(requests_per_day) * each,
            storage=0.0,
            data_transfer=data_transfer(tco, book, requests_per_day),
            maintenance=_api_maintenance(tco),
        )
        return Monthly(breakdown, f"${each:.6f} a request")

    label = "Bedrock on demand" if kind == "on-demand" else "Bedrock batch"
    return Option(f"{label}: {model_id}", kind, monthly)


def batch(tco: Tco, book: PriceBook, model_id: str) -> Option:
    name = f"Bedrock batch: {model_id}"
    if not book.batch_capable(model_id):
        return Option(name, "batch", None, "batch inference not listed for this model")
    turnaround = book.batch.turnaround_hours * 3600
    if tco.latency_target_seconds < turnaround:
        return Option(
            name,
            "batch",
            None,
            f"latency target {tco.latency_target_seconds:g} s is under the batch turnaround "
            f"({book.batch.turnaround_hours:g} h)",
        )
    return on_demand(tco, book, model_id, factor=book.batch.discount, kind="batch")


def model_units(tco: Tco, tokens_per_minute_per_unit: int, requests_per_day: int) -> int:
    """Model units one Region needs for its peak tokens a minute (prompt and output together), at least one."""
    tokens = tco.tokens_per_request.prompt + tco.tokens_per_request.output
    per_minute = capacity.peak_requests_per_second(tco, requests_per_day) * 60 * tokens
    return max(1, capacity.whole(per_minute / tokens_per_minute_per_unit))


NOT_PRICED = (
    "not priced: AWS tells a model unit's tokens a minute through the account team (tco.provisioned_throughput)"
)


def provisioned(tco: Tco, book: PriceBook, model_id: str) -> list[Option]:
    rates = tco.provisioned_quote(model_id) or book.provisioned_for(model_id)
    if rates is None:
        return [Option(f"Bedrock provisioned: {model_id}", "provisioned", None, NOT_PRICED)]
    options = []
    for term, hourly in rates.hourly.items():

        def monthly(requests_per_day: int, hourly: float = hourly) -> Monthly:
            units = model_units(tco, rates.tokens_per_minute_per_unit, requests_per_day)
            breakdown = Breakdown(
                model=units * len(tco.regions) * hourly * HOURS_PER_MONTH,
                storage=0.0,
                data_transfer=data_transfer(tco, book, requests_per_day),
                maintenance=_api_maintenance(tco),
            )
            return Monthly(breakdown, f"{units} unit(s) x {len(tco.regions)} Region(s)", units * len(tco.regions))

        options.append(Option(f"Bedrock provisioned ({TERMS[term]}): {model_id}", "provisioned", monthly))
    return options


def hosted(tco: Tco, book: PriceBook, precision: str) -> Option:
    model = tco.hosted_model
    name = f"SageMaker {precision}: {model.name}"
    reasons = [r for t in model.instance_types if (r := capacity.why_ineligible(tco, book, precision, t))]
    if len(reasons) == len(model.instance_types):
        return Option(name, "hosted", None, "no eligible instance type (" + "; ".join(reasons) + ")", precision)
    artifact = capacity.artifact_gib(model, precision)
    eligible = {region: capacity.candidates(tco, book, region, precision) for region in tco.regions}

    def monthly(requests_per_day: int) -> Monthly:
        compute = storage = 0.0
        details, units = [], 0
        for region in tco.regions:
            fleet = capacity.cheapest(tco, eligible[region], requests_per_day)
            assert fleet is not None  # eligibility does not depend on the volume or the Region
            compute += fleet.count * fleet.hourly * HOURS_PER_MONTH
            storage += artifact * book.regional(book.s3, "S3", region)
            storage += fleet.count * model.ebs_gb_per_instance * book.regional(book.ebs, "EBS", region)
            details.append(f"{fleet.count} x {fleet.instance_type}")
            units += fleet.count
        breakdown = Breakdown(
            model=compute,
            storage=storage,
            data_transfer=data_transfer(tco, book, requests_per_day),
            maintenance=model_maintenance(tco),
        )
        return Monthly(breakdown, " + ".join(details) + f" ({', '.join(tco.regions)})", units)

    return Option(name, "hosted", monthly, precision=precision)


def model_maintenance(tco: Tco) -> float:
    return tco.maintenance.hosted_hours_per_month * tco.maintenance.hourly_cost


def options(tco: Tco, book: PriceBook) -> list[Option]:
    """Every option of the use case, in the report's order."""
    found = [on_demand(tco, book, m) for m in tco.candidate_models]
    found += [batch(tco, book, m) for m in tco.candidate_models]
    found += [o for m in tco.candidate_models for o in provisioned(tco, book, m)]
    found += [hosted(tco, book, p) for p in tco.hosted_model.precisions]
    return found


def missing_prices(tco: Tco, book: PriceBook) -> list[tuple[str, str]]:
    """(field of scale.yaml, reason) for every figure the snapshot lacks, so the run stops before any is needed."""
    problems = []
    for i, model_id in enumerate(tco.candidate_models):
        if book.on_demand(model_id) is None:
            problems.append(
                (f"tco.candidate_models.{i}", f"no on-demand price for {model_id} in lambdas/common/evaluation/cost.py")
            )
    for i, region in enumerate(tco.regions):
        for rates, name in ((book.s3, "S3"), (book.ebs, "EBS"), (book.data_transfer, "data transfer")):
            if region not in rates.prices:
                problems.append((f"tco.regions.{i}", f"no {name} price for {region} in the snapshot"))
    for i, instance_type in enumerate(tco.hosted_model.instance_types):
        where = f"tco.hosted_model.instance_types.{i}"
        if instance_type not in book.gpus.instances:
            problems.append((where, f"no GPU figures for {instance_type} in tools/prices/gpu-instances.json"))
        for region in tco.regions:
            if instance_type not in book.sagemaker.prices.get(region, {}):
                problems.append((where, f"no SageMaker hosting price for {instance_type} in {region}"))
    return problems
