"""Powertools Logger, Tracer and Metrics, configured from the environment KitFunction sets.

POWERTOOLS_SERVICE_NAME and POWERTOOLS_METRICS_NAMESPACE come from the function definition, so every
handler gets the same objects with one import. Metrics only for the handlers that publish some
(`powertools_metrics()`): an unused Metrics object would only warn of empty flushes.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer


def powertools() -> tuple[Logger, Tracer]:
    """Logger and Tracer for the calling handler module."""
    return Logger(), Tracer()


def powertools_metrics() -> Metrics:
    """EMF metrics for a handler that publishes some (decorate it with ``@metrics.log_metrics``)."""
    return Metrics()
