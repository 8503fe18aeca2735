"""The prices the TCO reads: an offline snapshot in tools/prices/ (one JSON file per source, each with its date and
source), or, with `--refresh`, SageMaker hosting rates read from the AWS Price List API.

Bedrock on-demand token rates are not copied here: they live in lambdas/common/evaluation/cost.py, the table
`make prompts-eval` already prices variants with, so both tools quote the same figures from one place.

Why snapshot files rather than live calls: the calculator runs offline (tests, CI, a laptop without an account);
every figure in a report names the file, date and page it came from, and `--refresh` is there to update them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from stacks.config import REPO_ROOT, ConfigError, validation_error  # importing stacks puts lambdas/ on the path

# isort: split
from common.evaluation import cost as on_demand_costs
from common.evaluation.cost import Price

PRICES_DIR = REPO_ROOT / "tools" / "prices"
HOURS_PER_MONTH = 730  # AWS's pricing pages and calculator bill a month as 730 hours
GIB = 2**30  # AWS bills storage and transfer in GB of 2^30 bytes
PRICE_LIST_REGION = "us-east-1"  # the Price List API's endpoint (it also answers in eu-central-1, ap-south-1)
PRICE_LIST_SOURCE = "AWS Price List API, pricing:GetProducts, service code AmazonSageMaker"
_GEO_PREFIXES = ("global.", "us.", "eu.", "apac.", "jp.", "au.", "ca.", "us-gov.")

Term = Literal["no_commitment", "1_month", "6_month"]


class PriceError(Exception):
    """A price the snapshot lacks, or a Price List answer that cannot be read (one line)."""


class _Snapshot(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)  # "note", "offer": prose for people

    date: date
    source: str = Field(min_length=8)


class RegionalRates(_Snapshot):
    unit: str
    prices: dict[str, float]


class InstanceRates(_Snapshot):
    unit: str
    prices: dict[str, dict[str, float]]  # Region -> instance type -> USD an hour


class Gpu(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    gpu: str
    gpus: int = Field(ge=1)
    gpu_memory_gib: float = Field(gt=0)  # per GPU
    memory_bandwidth_gbps: float = Field(gt=0)  # per GPU, GB/s (10^9 bytes)


class GpuInstances(_Snapshot):
    instances: dict[str, Gpu]


class BatchRates(_Snapshot):
    discount: float = Field(gt=0, le=1)  # batch price / on-demand price
    turnaround_hours: float = Field(gt=0)
    models: list[str]


class ProvisionedModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    tokens_per_minute_per_unit: int = Field(ge=1)
    hourly: dict[Term, float] = Field(min_length=1)


class ProvisionedRates(_Snapshot):
    models: dict[str, ProvisionedModel]


@dataclass(frozen=True)
class Source:
    """Where one group of figures comes from, for the report's assumptions."""

    what: str
    date: str
    url: str


@dataclass(frozen=True)
class PriceBook:
    sagemaker: InstanceRates
    gpus: GpuInstances
    batch: BatchRates
    provisioned: ProvisionedRates
    s3: RegionalRates
    ebs: RegionalRates
    data_transfer: RegionalRates
    sagemaker_source: Source = field(default_factory=lambda: Source("", "", ""))
    on_demand: Callable[[str], Price | None] = on_demand_costs.price_of

    def instance_hourly(self, region: str, instance_type: str) -> float:
        try:
            return self.sagemaker.prices[region][instance_type]
        except KeyError:
            raise PriceError(f"no SageMaker hosting price for {instance_type} in {region}") from None

    def gpu(self, instance_type: str) -> Gpu:
        try:
            return self.gpus.instances[instance_type]
        except KeyError:
            raise PriceError(f"no GPU figures for {instance_type} in tools/prices/gpu-instances.json") from None

    def regional(self, rates: RegionalRates, name: str, region: str) -> float:
        try:
            return rates.prices[region]
        except KeyError:
            raise PriceError(f"no {name} price for {region}") from None

    def batch_capable(self, model_id: str) -> bool:
        return base_model_id(model_id) in self.batch.models

    def provisioned_for(self, model_id: str) -> ProvisionedModel | None:
        return self.provisioned.models.get(base_model_id(model_id))

    def sources(self) -> list[Source]:
        return [
            Source("Bedrock on-demand tokens", on_demand_costs.CHECKED, on_demand_costs.SOURCE),
            Source("Bedrock batch (discount on on-demand)", str(self.batch.date), self.batch.source),
            Source("Bedrock provisioned throughput", str(self.provisioned.date), self.provisioned.source),
            self.sagemaker_source,
            Source("GPU count, memory and bandwidth", str(self.gpus.date), self.gpus.source),
            Source("S3 Standard (model artifacts)", str(self.s3.date), self.s3.source),
            Source("EBS gp3", str(self.ebs.date), self.ebs.source),
            Source("Data transfer out", str(self.data_transfer.date), self.data_transfer.source),
        ]


def base_model_id(model_id: str) -> str:
    """The foundation-model id under an inference-profile id (`us.amazon.nova-lite-v1:0` -> `amazon.nova-lite-v1:0`)."""
    return next((model_id.removeprefix(p) for p in _GEO_PREFIXES if model_id.startswith(p)), model_id)


_FILES: dict[str, tuple[str, type[_Snapshot]]] = {
    "sagemaker": ("sagemaker-hosting.json", InstanceRates),
    "gpus": ("gpu-instances.json", GpuInstances),
    "batch": ("bedrock-batch.json", BatchRates),
    "provisioned": ("bedrock-provisioned-throughput.json", ProvisionedRates),
    "s3": ("s3.json", RegionalRates),
    "ebs": ("ebs.json", RegionalRates),
    "data_transfer": ("data-transfer.json", RegionalRates),
}


def _read(path: Path, model: type[_Snapshot]) -> _Snapshot:
    source = str(path.relative_to(REPO_ROOT)) if path.is_relative_to(REPO_ROOT) else str(path)
    if not path.is_file():
        raise ConfigError(source, "(file)", "no such file in the price snapshot")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ConfigError(source, f"line {exc.lineno}", f"not JSON ({exc.msg})") from None
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise validation_error(source, exc, model=model) from None


def load_snapshot(folder: Path = PRICES_DIR) -> PriceBook:
    """Every file of the snapshot, validated (a missing date or source is an error)."""
    parts: dict[str, Any] = {key: _read(folder / name, model) for key, (name, model) in _FILES.items()}
    sagemaker = parts["sagemaker"]
    return PriceBook(
        **parts, sagemaker_source=Source("SageMaker real-time hosting", str(sagemaker.date), sagemaker.source)
    )


# ----------------------------------------------------------------------------------------------- --refresh


def _price_list_items(pricing: Any, filters: list[dict[str, str]]) -> Iterator[dict[str, Any]]:
    token = None
    while True:
        kwargs: dict[str, Any] = {"ServiceCode": "AmazonSageMaker", "Filters": filters, "FormatVersion": "aws_v1"}
        if token:
            kwargs["NextToken"] = token
        page = pricing.get_products(**kwargs)
        for item in page.get("PriceList", []):
            yield json.loads(item) if isinstance(item, str) else item
        token = page.get("NextToken")
        if not token:
            return


def _on_demand_hourly(item: Mapping[str, Any]) -> list[float]:
    """The USD hourly rates of one product's on-demand terms (a product has one, normally)."""
    rates = []
    for term in item.get("terms", {}).get("OnDemand", {}).values():
        for dimension in term.get("priceDimensions", {}).values():
            if dimension.get("unit") in ("Hrs", "Hours", "hour") and "USD" in dimension.get("pricePerUnit", {}):
                rates.append(float(dimension["pricePerUnit"]["USD"]))
    return rates


def read_hosting_price(pricing: Any, region: str, instance_type: str) -> float:
    """The on-demand hourly rate of ``instance_type`` on a SageMaker real-time endpoint in ``region``.

    Hosting products carry the usage type `<Region prefix>-Hosting:<instance type>` (for example
    `USE1-Hosting:ml.g5.xlarge`); products of training, processing, notebooks or async inference have other usage
    types and are left out, as is any zero-priced product (free-tier lines).
    """
    filters = [
        {"Type": "TERM_MATCH", "Field": "regionCode", "Value": region},
        {"Type": "CONTAINS", "Field": "usagetype", "Value": f"Hosting:{instance_type}"},
    ]
    suffix = f"-Hosting:{instance_type}"
    rates = sorted(
        {
            rate
            for item in _price_list_items(pricing, filters)
            if str(item.get("product", {}).get("attributes", {}).get("usagetype", "")).endswith(suffix)
            for rate in _on_demand_hourly(item)
            if rate > 0
        }
    )
    if not rates:
        raise PriceError(f"Price List API: no on-demand hosting price for {instance_type} in {region}")
    if len(rates) > 1:
        raise PriceError(f"Price List API: several hosting prices for {instance_type} in {region}: {rates}")
    return rates[0]


def refresh(
    book: PriceBook, pricing: Any, regions: Sequence[str], instance_types: Sequence[str], today: date
) -> PriceBook:
    """``book`` with the SageMaker hosting rates of these Regions and instance types read from the Price List API.

    Only hosting rates are refreshed: Bedrock's token prices are read from the shared table (see the module's
    docstring) and storage and transfer rates change rarely; their snapshot files say when they were read.
    """
    prices = {region: dict(book.sagemaker.prices.get(region, {})) for region in book.sagemaker.prices}
    for region in regions:
        for instance_type in instance_types:
            prices.setdefault(region, {})[instance_type] = read_hosting_price(pricing, region, instance_type)
    rates = InstanceRates(
        date=today,
        source=PRICE_LIST_SOURCE,
        unit=book.sagemaker.unit,
        prices=prices,
        note=f"Refreshed from the Price List API on {today.isoformat()} for {', '.join(regions)}.",
    )
    return replace(
        book,
        sagemaker=rates,
        sagemaker_source=Source("SageMaker real-time hosting", today.isoformat(), PRICE_LIST_SOURCE),
    )


def snapshot_json(rates: InstanceRates) -> str:
    """A refreshed hosting snapshot in the shape of tools/prices/sagemaker-hosting.json, to copy there."""
    return json.dumps(rates.model_dump(mode="json"), indent=2, sort_keys=False) + "\n"
