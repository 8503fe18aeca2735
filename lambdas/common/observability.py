"""Powertools Logger, Tracer and Metrics, configured from the environment KitFunction sets.

POWERTOOLS_SERVICE_NAME and POWERTOOLS_METRICS_NAMESPACE come from the function definition, so
every handler gets the same three objects with one import.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer


def powertools() -> tuple[Logger, Tracer, Metrics]:
    """Logger, Tracer and Metrics for the calling handler module."""
    return Logger(), Tracer(), Metrics()
