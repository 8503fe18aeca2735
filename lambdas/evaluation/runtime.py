"""What both evaluation functions share: their environment, settings, AWS clients and the serving pipeline,
each built once per container."""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import cache
from typing import Any

from api.deployed_settings import settings_from_deployment
from api.pipeline import ChatPipeline
from api.wiring import real_pipeline
from common.clients import client

from evaluation.contract import EvaluationSettings, evaluation_from_deployment


def environ() -> Mapping[str, str]:
    """The function's environment (the end-to-end test dispatches several functions in one process)."""
    return os.environ


def evaluation() -> EvaluationSettings:
    return evaluation_from_deployment(environ())


@cache
def _pipeline(service: str) -> ChatPipeline:
    from aws_lambda_powertools import Logger  # noqa: PLC0415 - from the Powertools layer

    settings, safety = settings_from_deployment(environ())  # the chat functions' own settings and code
    return real_pipeline(settings, safety, service=service, logger=Logger(service=service))


def pipeline() -> ChatPipeline:
    """The serving pipeline as the chat functions build it (`api.server.real_pipeline`), once per container."""
    return _pipeline(environ().get("POWERTOOLS_SERVICE_NAME") or "quality-evaluation")


def s3() -> Any:
    return client("s3")


def bedrock() -> Any:
    return client("bedrock")
