"""Foundation stack: the key, access-log bucket and alarm topic every other stack builds on."""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from constructs import Construct

from stacks.common.alarm_topic import AlarmTopic
from stacks.common.buckets import AccessLogBucket
from stacks.common.kms_key import KitKey
from stacks.common.stage_policy import StagePolicy
from stacks.common.threshold_alarm import ThresholdAlarm


@dataclass(frozen=True)
class FoundationProps:
    name_prefix: str  # "<prefix>-<stage>", e.g. "journey-customer-retention-dev"
    stage: StagePolicy
    alarm_email: str | None = None


class FoundationStack(cdk.Stack):
    """Exposes `key` (kms.IKey), `access_logs` (`.bucket`: s3.IBucket) and `alarm_topic` (sns.ITopic) for the stage
    to hand to other stacks, whose props take these CDK interfaces; `kit_key` and `kit_alarm_topic` are the
    building blocks behind them (key-policy and topic-policy helpers)."""

    def __init__(self, scope: Construct, construct_id: str, *, props: FoundationProps, **kwargs: object) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        self.kit_key = KitKey(
            self,
            "DataKey",
            alias=f"alias/{props.name_prefix}-data",
            description=f"{props.name_prefix}: encrypts every data store, log group, topic and queue of the kit",
            removal_policy=props.stage.removal_policy,
        )
        self.access_logs = AccessLogBucket(self, "AccessLogs", stage=props.stage)
        self.key: kms.IKey = self.kit_key.key
        self.kit_alarm_topic = AlarmTopic(self, "Alarms", key=self.key, email=props.alarm_email)
        self.alarm_topic: sns.ITopic = self.kit_alarm_topic.topic

        # This alarm notifies the same topic, so it cannot page through the subscription that failed: it
        # reaches the topic's other subscribers, and shows in the CloudWatch console (state ALARM). A team
        # that needs a page for it subscribes a second channel (docs/deploy.md, "When alarms page nobody").
        failed = ThresholdAlarm(
            self,
            "AlarmDeliveryFailed",
            description=(
                "SNS could not deliver an alarm notification to a subscriber of the alarm topic. This alarm "
                "notifies the same topic, so it cannot reach the broken subscription: watch it in the CloudWatch "
                "console (Alarms, state ALARM) or subscribe a second channel to the topic (docs/deploy.md)."
            ),
            metric=self.kit_alarm_topic.metric_number_of_notifications_failed(period=cdk.Duration.minutes(5)),
            topic=self.alarm_topic,
        )
        self.delivery_failed_alarm = failed
        cdk.CfnOutput(
            self,
            "DeliveryFailedAlarmName",
            value=failed.alarm_name,
            description="Alarm on undelivered notifications; `make smoke` sets it to ALARM to test the alarm path",
        )
        cdk.CfnOutput(
            self,
            "AlarmTopicArn",
            value=self.alarm_topic.topic_arn,
            description="SNS topic every alarm of this stage notifies (ALARM and OK)",
        )
