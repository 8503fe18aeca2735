"""Step 5: promote only when the custom model passes the use case's gate and beats the base model by the margin.

A thin handler over the pure decision `scale.acceptance.promote_fine_tuned` (the kit's evaluation gate); the
workflow's `Promotable?` choice reads ``accepted``.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from common.evaluation.kinds import task_kind
from common.observability import powertools
from scale.acceptance import promote_fine_tuned

from finetune.contract import FinetuneSettings, settings_from_deployment

logger, tracer = powertools()


def decide(evaluation: dict[str, Any], settings: FinetuneSettings) -> dict[str, Any]:
    """The promotion decision on the evaluate step's result (its ``custom`` and ``base`` values)."""
    decision = promote_fine_tuned(
        evaluation["custom"]["values"],
        evaluation["base"]["values"],
        settings.thresholds,
        settings.margin,
        task_kind(settings.task),
    )
    return {**decision.as_dict(), "margin": settings.margin, "thresholds": dict(settings.thresholds)}


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = decide(event["evaluation"], settings_from_deployment())
    logger.info("promotion gate", extra={"accepted": result["accepted"], "reasons": result["reasons"]})
    return result
