"""Step 6: ask a human to approve the promotion, because it starts billing.

The workflow waits on this task with a task token (``waitForTaskToken``). The handler publishes the request to
the alarm topic (its email subscribers receive it): what was trained, the gate's numbers, and the two commands
that answer it. Step Functions resumes when someone runs one of them (any principal allowed
``states:SendTaskSuccess`` / ``states:SendTaskFailure`` on the state machine), or fails the step with
``States.Timeout`` after the approval window, which the workflow reports.

Approve: ``aws stepfunctions send-task-success --task-token <token> --task-output '{"approved": true}'``
Reject:  ``aws stepfunctions send-task-failure --task-token <token> --error Rejected --cause "<why>"``
"""

from __future__ import annotations

import json
import shlex
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from common.clients import client
from common.observability import powertools

from finetune.contract import FinetuneSettings, settings_from_deployment

logger, tracer = powertools()

SUBJECT_MAX = 100  # SNS: subjects are at most 100 characters
REJECTED = "Rejected"


def approve_command(token: str) -> str:
    return (
        f"aws stepfunctions send-task-success --task-token {shlex.quote(token)} "
        f"--task-output {shlex.quote(json.dumps({'approved': True}))}"
    )


def reject_command(token: str) -> str:
    return (
        f"aws stepfunctions send-task-failure --task-token {shlex.quote(token)} "
        f"--error {REJECTED} --cause {shlex.quote('rejected by reviewer')}"
    )


def approval_message(event: dict[str, Any], settings: FinetuneSettings) -> tuple[str, str]:
    """(subject, body) of the approval request for ``event`` (token, run, model, promotion, gate)."""
    token = str(event["token"])
    gate = event.get("gate", {})
    deltas = "\n".join(
        f"  {d['metric']}: custom {d['candidate']:.4g} vs base {d['baseline']:.4g}" for d in gate.get("deltas", [])
    )
    subject = f"Approve fine-tuned model for {settings.usecase}? ({event.get('run', '')})"[:SUBJECT_MAX]
    body = "\n".join(
        [
            f"A fine-tuned model for use case {settings.usecase} passed the evaluation gate "
            f"(it beats {settings.base_model} by the margin {settings.margin:.2%} on the golden set).",
            "",
            f"Custom model: {event.get('model_arn', '')}",
            f"Promotion on approval: {event.get('promotion', '')} (this starts billing).",
            "",
            "Golden-set metrics:",
            deltas or "  (none)",
            "",
            "Approve:",
            approve_command(token),
            "",
            "Reject:",
            reject_command(token),
            "",
            "Without an answer the request times out and the run is reported as not promoted.",
        ]
    )
    return subject, body


def request_approval(event: dict[str, Any], *, settings: FinetuneSettings, sns: Any) -> dict[str, Any]:
    subject, body = approval_message(event, settings)
    response = sns.publish(TopicArn=settings.alarm_topic_arn, Subject=subject, Message=body)
    return {"message_id": response["MessageId"]}


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = request_approval(event, settings=settings_from_deployment(), sns=client("sns"))
    logger.info("approval requested", extra={"run": event.get("run"), "message_id": result["message_id"]})
    return result
