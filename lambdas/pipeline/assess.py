"""Assess step: the dataset's bias profile from the run's summed counts, and the gate's verdict."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext
from common.observability import powertools

from pipeline import runtime
from pipeline.models import AssessRequest
from pipeline.profiling import assess

logger, tracer = powertools()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@event_parser(model=AssessRequest)
def handler(event: AssessRequest, context: LambdaContext) -> dict[str, Any]:
    profile = assess(runtime.ledger().counts(event.run.id), runtime.settings().profile)
    logger.info(
        "assessed", extra={"run_id": event.run.id, "status": profile["status"], "findings": profile["findings"]}
    )
    return profile
