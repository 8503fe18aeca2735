"""The options of a building block's `metric(name, ...)` and its named `metric_*` methods.

CDK's `metric(metricName, props?: MetricOptions)` takes a jsii struct, which cannot be unpacked into typed
keyword arguments; `MetricProps` names the common options instead, so every `metric_*` is typed end to end.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypedDict, Unpack

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch


class MetricProps(TypedDict, total=False):
    """Overrides of a block metric's defaults (the common fields of `cloudwatch.MetricOptions`)."""

    statistic: str  # "Sum", "Average", "Maximum", "p99", ...
    period: cdk.Duration
    label: str
    unit: cloudwatch.Unit
    color: str
    account: str  # of the metric, for a cross-account dashboard
    region: str  # of the metric, for a cross-region dashboard


def block_metric(
    namespace: str,
    metric_name: str,
    dimensions: Mapping[str, str],
    *,
    default_statistic: str,
    default_period: cdk.Duration,
    **props: Unpack[MetricProps],
) -> cloudwatch.Metric:
    """One metric of a block: its namespace, dimensions and defaults, overridden by the caller's options."""
    options: MetricProps = {"statistic": default_statistic, "period": default_period, **props}
    return cloudwatch.Metric(namespace=namespace, metric_name=metric_name, dimensions_map=dict(dimensions), **options)
