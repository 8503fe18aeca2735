"""Assess step: the dataset's bias profile from the run's summed counts, and the gate's verdict."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from common.observability import powertools

from pipeline import runtime
from pipeline.models import AssessRequest
from pipeline.profiling import assess

logger, tracer, metrics = powertools()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = AssessRequest.model_validate(event)
    profile = assess(runtime.ledger().counts(request.run.id), runtime.settings().profile)
    logger.info(
        "assessed", extra={"run_id": request.run.id, "status": profile["status"], "findings": profile["findings"]}
    )
    return profile
