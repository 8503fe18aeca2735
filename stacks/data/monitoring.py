"""The Data stack's alarms: failed executions, a high quarantine rate, a FAIL bias verdict, undelivered triggers.

The run metrics come from the finalize step (namespace `<prefix>-<stage>/data`, dimension service=data-finalize);
every alarm notifies the Foundation's alarm topic.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn

from stacks.common.threshold_alarm import ThresholdAlarm

if TYPE_CHECKING:
    from stacks.data.stack import DataProps


def run_metric(namespace: str, name: str) -> cloudwatch.Metric:
    """One figure the finalize step writes per run (its maximum over five minutes)."""
    return cloudwatch.Metric(
        namespace=namespace,
        metric_name=name,
        dimensions_map={"service": "data-finalize"},
        statistic="Maximum",
        period=cdk.Duration.minutes(5),
    )


def pipeline_alarms(
    stack: cdk.Stack,
    props: DataProps,
    *,
    namespace: str,
    state_machine: sfn.StateMachine,
    trigger_dead_letters: sqs.Queue,
) -> list[cloudwatch.Alarm]:
    """The alarms, created in ``stack`` and subscribed to the alarm topic."""
    quarantine_percent = 100 * props.settings.monitoring.quarantine_rate_alarm
    topic = props.alarm_topic
    return [
        ThresholdAlarm(
            stack,
            "PipelineExecutionsFailed",
            description="A data pipeline execution failed (bias gate FAIL, conservation or a step error).",
            metric=state_machine.metric_failed(period=cdk.Duration.minutes(5), statistic="Sum"),
            topic=topic,
        ),
        ThresholdAlarm(
            stack,
            "QuarantineRateHigh",
            description=f"A run quarantined more than {quarantine_percent:g}% of its records.",
            metric=run_metric(namespace, "QuarantineRate"),
            threshold=quarantine_percent,
            comparison=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            topic=topic,
        ),
        ThresholdAlarm(
            stack,
            "BiasStatusFail",
            description="A run's bias profile is FAIL (BiasStatus 2): the dataset was held back.",
            metric=run_metric(namespace, "BiasStatus"),
            threshold=2,
            topic=topic,
        ),
        ThresholdAlarm(
            stack,
            "TriggerUndelivered",
            description="A dataset-ready event could not start the pipeline (see the dead-letter queue).",
            metric=trigger_dead_letters.metric_approximate_number_of_messages_visible(
                period=cdk.Duration.minutes(5), statistic="Maximum"
            ),
            topic=topic,
        ),
    ]
