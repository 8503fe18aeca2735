"""Score step: every task's predictions scored and gated; the report, the metrics and the last accepted run.

In order: read the last accepted run (``<prefix>accepted.json``, absent on a first run), assess every task of
the golden set (`assessment`), start the Bedrock evaluation job when configured (`judge`; a failure to start it
is recorded in the report, never a verdict: the kit's own gate decides), write ``report.json`` and
``report.md`` under the run's prefix, publish the metrics, and, when the gate passed, make this run the last
accepted one.

Metrics go to CloudWatch as embedded metric format lines (`publish_emf`, one per task, stamped with the run's
time), as every function of the kit publishes: no cloudwatch:PutMetricData grant (an action the IAM reference
data now gives a resource type the kit cannot name). The dimensions are exactly ``UseCase`` and ``Task``
(stacks/observability/quality_metrics.py): the Powertools EMF provider is used with an empty service, because
the `Metrics` and `single_metric` helpers add a ``service`` dimension from the environment, and the dashboard's
searches match the dimension set exactly. The answer carries the verdict; the state machine fails the execution on
``passed: false`` (after this step has written everything, so a failed run is fully reported).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import AmazonCloudWatchEMFProvider
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError
from common.aws_errors import error_code
from common.observability import powertools

from evaluation import judge, runtime
from evaluation.assessment import (
    RunResult,
    accepted_record,
    assess_task,
    baselines,
    metric_data,
    render_markdown,
    report,
)
from evaluation.contract import EvaluationSettings
from evaluation.models import ScoreRequest
from evaluation.runner import Prediction

logger, tracer = powertools()
CAUSE_CHARS = 1000
USECASE_DIMENSION, TASK_DIMENSION = "UseCase", "Task"
Publish = Callable[[str, str, Mapping[str, Mapping[str, float]], datetime], None]


def publish_emf(namespace: str, usecase: str, data: Mapping[str, Mapping[str, float]], timestamp: datetime) -> None:
    """One EMF line per task on stdout (CloudWatch Logs extracts the metrics), dimensions UseCase and Task."""
    for task, values in data.items():
        line = AmazonCloudWatchEMFProvider(namespace=namespace, service="")  # "": no service dimension
        line.add_dimension(name=USECASE_DIMENSION, value=usecase)
        line.add_dimension(name=TASK_DIMENSION, value=task)
        for name, value in values.items():
            line.add_metric(name=name, unit=MetricUnit.NoUnit, value=value)
        line.set_timestamp(timestamp)
        line.flush_metrics()


def read_json(s3: Any, bucket: str, key: str) -> dict[str, Any] | None:
    """The object's JSON, None when there is no such key."""
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as exc:
        if error_code(exc) in {"NoSuchKey", "404"}:
            return None
        raise
    value: dict[str, Any] = json.loads(body)
    return value


def read_predictions(s3: Any, bucket: str, key: str) -> list[Prediction]:
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()
    return [Prediction.from_json(json.loads(line)) for line in body.splitlines() if line.strip()]


def put(s3: Any, bucket: str, key: str, body: bytes, content_type: str) -> None:
    s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type)


def start_judge(
    settings: EvaluationSettings, run_id: str, predictions: dict[str, list[Prediction]], *, s3: Any, bedrock: Any
) -> dict[str, Any] | None:
    """Write the judge's datasets and start the job; what the report records of it (None when not configured)."""
    config = settings.bedrock_evaluation
    if config is None:
        return None
    bucket = settings.reports_bucket
    tasks = list(settings.golden)[: judge.MAX_DATASETS]
    datasets = {}
    for task in tasks:
        key = settings.judge_dataset_key(run_id, task)
        lines = judge.dataset(settings.golden[task], predictions[task])
        put(s3, bucket, key, "".join(json.dumps(line) + "\n" for line in lines).encode(), "application/x-ndjson")
        datasets[task] = f"s3://{bucket}/{key}"
    output = f"s3://{bucket}/{settings.judge_output_prefix(run_id)}"
    record: dict[str, Any] = {"tasks": tasks, "output": output, "metrics": list(config.metrics)}
    try:
        record["job_arn"] = judge.start_job(
            bedrock, config, usecase=settings.usecase, run_id=run_id, datasets=datasets, output_uri=output
        )
    except ClientError as exc:
        logger.warning("bedrock evaluation job not started", extra={"code": error_code(exc)})
        record.update(job_arn=None, error=error_code(exc))
    return record


def process(
    request: ScoreRequest,
    *,
    settings: EvaluationSettings,
    s3: Any,
    bedrock: Any,
    now: datetime,
    publish: Publish = publish_emf,
) -> dict[str, Any]:
    bucket = settings.reports_bucket
    accepted = read_json(s3, bucket, settings.accepted_key)
    before = baselines(accepted)
    predictions = {
        task: read_predictions(s3, bucket, settings.predictions_key(request.run_id, task)) for task in settings.golden
    }
    run = RunResult(
        usecase=settings.usecase,
        run_id=request.run_id,
        finished_at=now,
        tasks=tuple(
            assess_task(
                task,
                cases,
                predictions[task],
                settings.thresholds,
                baseline=before.get(task),
                margin=settings.margin,
            )
            for task, cases in settings.golden.items()
        ),
        baseline_run=accepted.get("run_id") if accepted else None,
    )
    judged = start_judge(settings, request.run_id, predictions, s3=s3, bedrock=bedrock)
    document = report(run, judge=judged)
    json_key, markdown_key = settings.report_key(request.run_id, "json"), settings.report_key(request.run_id, "md")
    put(s3, bucket, json_key, json.dumps(document, indent=2).encode(), "application/json")
    put(s3, bucket, markdown_key, render_markdown(document).encode(), "text/markdown")
    publish(settings.namespace, settings.usecase, metric_data(run, overall_task=settings.overall_task), now)
    if run.passed:
        put(s3, bucket, settings.accepted_key, json.dumps(accepted_record(run), indent=2).encode(), "application/json")
    logger.info("quality evaluation", extra={"passed": run.passed, "reasons": run.reasons})
    summary = "; ".join(run.reasons) or "every threshold and margin met"
    return {
        "passed": run.passed,
        "reasons": run.reasons,
        "summary": summary[:CAUSE_CHARS],
        "report": {"bucket": bucket, "json": json_key, "markdown": markdown_key},
        "bedrock_evaluation_job": judged.get("job_arn") if judged else None,
    }


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@event_parser(model=ScoreRequest)
def handler(event: ScoreRequest, context: LambdaContext) -> dict[str, Any]:
    return process(
        event,
        settings=runtime.evaluation(),
        s3=runtime.s3(),
        bedrock=runtime.bedrock(),
        now=datetime.now(UTC),
    )
