"""The Api's counters: one protocol, a Powertools EMF implementation, injected so tests count in memory."""

from __future__ import annotations

from typing import Protocol


class Counter(Protocol):
    def count(self, name: str, **dimensions: str) -> None: ...


class PowertoolsCounter:
    """One EMF metric per event (Powertools `single_metric`) with the given dimensions."""

    def __init__(self, namespace: str, service: str | None = None) -> None:
        self._namespace = namespace
        self._dimensions = {"service": service} if service else None

    def count(self, name: str, **dimensions: str) -> None:
        from aws_lambda_powertools.metrics import MetricUnit, single_metric  # noqa: PLC0415 - from the layer

        with single_metric(
            name=name, unit=MetricUnit.Count, value=1, namespace=self._namespace, default_dimensions=self._dimensions
        ) as metric:
            for key, value in dimensions.items():
                metric.add_dimension(name=key, value=value)
