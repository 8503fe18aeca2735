"""Run-task step: one task's golden cases through the serving pipeline, in process; predictions to S3.

Idempotent: a retried task (after `runner.Throttled`) writes the same key again.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext
from common.observability import powertools

from evaluation import runtime
from evaluation.contract import EvaluationSettings
from evaluation.models import RunTaskRequest, TaskRun
from evaluation.runner import Prediction, run_task

logger, tracer = powertools()


def predictions_body(predictions: list[Prediction]) -> bytes:
    return "".join(json.dumps(p.as_json(), ensure_ascii=False) + "\n" for p in predictions).encode()


def process(request: RunTaskRequest, *, settings: EvaluationSettings, pipeline: Any, s3: Any) -> dict[str, Any]:
    if request.task not in settings.golden:
        raise ValueError(f"no golden set for task {request.task!r} (tasks: {', '.join(settings.golden)})")
    predictions = run_task(pipeline, request.task, settings.golden[request.task], request.run_id, settings.architecture)
    key = settings.predictions_key(request.run_id, request.task)
    s3.put_object(
        Bucket=settings.reports_bucket, Key=key, Body=predictions_body(predictions), ContentType="application/x-ndjson"
    )
    summary = TaskRun(
        task=request.task,
        cases=len(predictions),
        blocked=sum(p.blocked is not None for p in predictions),
        errors=sum(p.error is not None for p in predictions),
        predictions_key=key,
    )
    logger.info("task run", extra=summary.model_dump())
    return summary.model_dump()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@event_parser(model=RunTaskRequest)
def handler(event: RunTaskRequest, context: LambdaContext) -> dict[str, Any]:
    return process(event, settings=runtime.evaluation(), pipeline=runtime.pipeline(), s3=runtime.s3())
