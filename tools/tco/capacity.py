"""How many instances of which type serve the hosted model at a precision, for the peak of one Region.

The model (its defaults and sources are in `inputs.Throughput`): decoding reads every weight once a step and yields
one token for each of `concurrent_sequences` sequences, so

    step seconds        = weight bytes / (GPUs x bandwidth per GPU x utilization)
    instance-seconds    = (output tokens + prompt_token_weight x prompt tokens) x step seconds / concurrent sequences
      per request
    latency of a request = output tokens x step seconds + prompt_token_weight x prompt tokens x step seconds / batch
    instances           = max(floor per Region, ceil(peak requests a second x instance-seconds / target utilization))

An instance type is eligible when weights x memory overhead fit in its GPUs' memory and the latency meets the
target; among eligible types the cheapest fleet wins (ties: fewer instances, then the order in scale.yaml). The fleet
is sized for the peak and runs all month: an upper bound that autoscaling down off-peak would lower.

Quantization halves (int8) or quarters (int4) the weight bytes, so it never needs more memory, more step time or
more instances than fp16 on the same instance type.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from tools.tco.inputs import BYTES_PER_PARAMETER, HostedModel, Tco
from tools.tco.prices import GIB, PriceBook

SECONDS_PER_DAY = 86_400


@dataclass(frozen=True)
class Fleet:
    instance_type: str
    count: int
    hourly: float  # USD an hour for one instance
    latency_seconds: float
    requests_per_second_per_instance: float


def whole(value: float) -> int:
    """The whole number of instances (or model units) ``value`` needs: its ceiling, except that a floating-point
    excess below a billionth (500000.00000000006 units) buys nothing."""
    return math.ceil(value - 1e-9 * max(1.0, abs(value)))


def weight_bytes(model: HostedModel, precision: str) -> float:
    return model.parameters_billion * 1e9 * BYTES_PER_PARAMETER[precision]


def artifact_gib(model: HostedModel, precision: str) -> float:
    """The size of the model artifact in S3: its weights at that precision, in GB of 2^30 bytes."""
    return weight_bytes(model, precision) / GIB


def memory_needed_gib(model: HostedModel, precision: str) -> float:
    return weight_bytes(model, precision) * model.throughput.memory_overhead / GIB


def fits(book: PriceBook, model: HostedModel, precision: str, instance_type: str) -> bool:
    gpu = book.gpu(instance_type)
    return memory_needed_gib(model, precision) <= gpu.gpus * gpu.gpu_memory_gib


def step_seconds(book: PriceBook, model: HostedModel, precision: str, instance_type: str) -> float:
    gpu = book.gpu(instance_type)
    bandwidth = gpu.gpus * gpu.memory_bandwidth_gbps * 1e9 * model.throughput.memory_bandwidth_utilization
    return weight_bytes(model, precision) / bandwidth


def instance_seconds_per_request(tco: Tco, book: PriceBook, precision: str, instance_type: str) -> float:
    model, tokens = tco.hosted_model, tco.tokens_per_request
    work = tokens.output + model.throughput.prompt_token_weight * tokens.prompt
    return work * step_seconds(book, model, precision, instance_type) / model.throughput.concurrent_sequences


def latency_seconds(tco: Tco, book: PriceBook, precision: str, instance_type: str) -> float:
    model, tokens = tco.hosted_model, tco.tokens_per_request
    step = step_seconds(book, model, precision, instance_type)
    prefill = model.throughput.prompt_token_weight * tokens.prompt * step / model.throughput.concurrent_sequences
    return tokens.output * step + prefill


def peak_requests_per_second(tco: Tco, requests_per_day: int) -> float:
    """The peak rate one Region serves: the day's average rate x the peak factor, split evenly over the Regions."""
    return requests_per_day / len(tco.regions) / SECONDS_PER_DAY * tco.peak_factor


def count(tco: Tco, seconds_per_request: float, requests_per_day: int) -> int:
    """Instances one Region needs when each request takes ``seconds_per_request`` of an instance."""
    busy = peak_requests_per_second(tco, requests_per_day) * seconds_per_request
    return max(tco.hosted_model.min_instances_per_region, whole(busy / tco.hosted_model.throughput.target_utilization))


def instances(tco: Tco, book: PriceBook, precision: str, instance_type: str, requests_per_day: int) -> int:
    """Instances of one type in one Region for the peak of ``requests_per_day`` (all Regions together)."""
    return count(tco, instance_seconds_per_request(tco, book, precision, instance_type), requests_per_day)


def why_ineligible(tco: Tco, book: PriceBook, precision: str, instance_type: str) -> str | None:
    """Why this instance type cannot serve the model at this precision, or None if it can."""
    model = tco.hosted_model
    if not fits(book, model, precision, instance_type):
        gpu = book.gpu(instance_type)
        return (
            f"{instance_type}: needs {memory_needed_gib(model, precision):.1f} GiB of GPU memory, "
            f"has {gpu.gpus * gpu.gpu_memory_gib:g}"
        )
    latency = latency_seconds(tco, book, precision, instance_type)
    if latency > tco.latency_target_seconds:
        return f"{instance_type}: about {latency:.1f} s an answer, over the {tco.latency_target_seconds:g} s target"
    return None


@dataclass(frozen=True)
class Candidate:
    """An eligible instance type, with what sizing its fleet needs (computed once, not at every volume)."""

    instance_type: str
    hourly: float
    seconds_per_request: float
    latency_seconds: float


def candidates(tco: Tco, book: PriceBook, region: str, precision: str) -> list[Candidate]:
    """The eligible instance types of scale.yaml, in its order."""
    return [
        Candidate(
            instance_type=t,
            hourly=book.instance_hourly(region, t),
            seconds_per_request=instance_seconds_per_request(tco, book, precision, t),
            latency_seconds=latency_seconds(tco, book, precision, t),
        )
        for t in tco.hosted_model.instance_types
        if why_ineligible(tco, book, precision, t) is None
    ]


def cheapest(tco: Tco, eligible: list[Candidate], requests_per_day: int) -> Fleet | None:
    """The cheapest fleet of the ``eligible`` types for the volume (ties: fewer instances, then the order)."""
    best: Fleet | None = None
    for candidate in eligible:
        fleet = Fleet(
            instance_type=candidate.instance_type,
            count=count(tco, candidate.seconds_per_request, requests_per_day),
            hourly=candidate.hourly,
            latency_seconds=candidate.latency_seconds,
            requests_per_second_per_instance=1 / candidate.seconds_per_request,
        )
        if best is None or (fleet.count * fleet.hourly, fleet.count) < (best.count * best.hourly, best.count):
            best = fleet
    return best


def fleet(tco: Tco, book: PriceBook, region: str, precision: str, requests_per_day: int) -> Fleet | None:
    """The cheapest eligible fleet in ``region``, or None when no listed instance type is eligible."""
    return cheapest(tco, candidates(tco, book, region, precision), requests_per_day)
