"""`AlarmTopic`: where every alarm of the kit goes."""

from __future__ import annotations

from typing import Unpack

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from constructs import Construct

from stacks.common.kms_key import allow_service_use, grant_key_use_via
from stacks.common.metrics import MetricProps
from stacks.common.nag import acknowledge

CLOUDWATCH = "cloudwatch.amazonaws.com"


class AlarmTopic(Construct):
    """KMS-encrypted, TLS-only SNS topic with an optional email subscription.

    An `AWS::SNS::TopicPolicy` replaces the topic's default access policy, so every AWS service that
    publishes here needs an explicit Allow in the topic policy, or its publishes fail after deploy with
    "not authorized to perform: SNS:Publish" (AWS knowledge center, "Why didn't I receive an SNS
    notification when my CloudWatch alarm triggered?", cloudwatch-receive-sns-for-alarm-trigger).
    `allow_service_publish` adds that Allow with `aws:SourceAccount` and `aws:SourceArn`, together with
    the key-policy statement the service needs to encrypt for the topic. CloudWatch alarms of this
    account and region are allowed from the start; the kit has no other publishing service today (no
    EventBridge rule or S3 notification targets the topic): a stack that adds one calls
    `allow_service_publish` with that rule's or bucket's ARN.
    """

    def __init__(self, scope: Construct, construct_id: str, *, key: kms.IKey, email: str | None = None) -> None:
        super().__init__(scope, construct_id)
        self._key = key
        self.topic = sns.Topic(self, "Topic", master_key=key, enforce_ssl=True, display_name="Journey kit alarms")
        self.allow_service_publish(
            "CloudWatchAlarms",
            CLOUDWATCH,
            source_arn=cdk.Stack.of(self).format_arn(
                service="cloudwatch", resource="alarm", resource_name="*", arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME
            ),
        )
        if email:
            subscription = sns.Subscription(
                self, "Email", topic=self.topic, protocol=sns.SubscriptionProtocol.EMAIL, endpoint=email
            )
            acknowledge(
                subscription.node.default_child,  # type: ignore[arg-type]
                "Serverless::Serverless-SNSRedrivePolicy",
                "Email to an on-call address: failed deliveries are counted by NumberOfNotificationsFailed, "
                "which the Foundation stack alarms on; a DLQ of emails would have no reader.",
            )

    @property
    def topic_arn(self) -> str:
        return self.topic.topic_arn

    def allow_service_publish(self, name: str, service: str, *, source_arn: str) -> None:
        """Let ``service`` publish here for ``source_arn`` (an ARN or ARN pattern) of this account only.

        Adds the topic-policy Allow (sns:Publish, `aws:SourceAccount` and `aws:SourceArn`) and the
        key-policy statement that lets the service encrypt for the topic under the same conditions.
        ``name`` makes the statement ids unique (letters and digits).
        """
        account = cdk.Stack.of(self).account
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid=f"{name}Publish",
                principals=[iam.ServicePrincipal(service)],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions={"StringEquals": {"aws:SourceAccount": account}, "ArnLike": {"aws:SourceArn": source_arn}},
            )
        )
        allow_service_use(
            self, self._key, f"{name}PublishTo{cdk.Names.unique_id(self)}"[:128], service, source_arn=source_arn
        )

    def grant_publish(self, grantee: iam.IGrantable) -> iam.Grant:
        """sns:Publish on this topic and data keys only through SNS (CDK's helper would add wildcards)."""
        grant = iam.Grant.add_to_principal(
            grantee=grantee, actions=["sns:Publish"], resource_arns=[self.topic.topic_arn]
        )
        return grant.combine(grant_key_use_via(self._key, grantee, "sns", encrypt=True))

    def notify(self, alarm: cloudwatch.Alarm) -> None:
        """Send both ALARM and OK transitions, so on-call sees recovery too."""
        notify(self.topic, alarm)

    def metric(self, metric_name: str, **props: Unpack[MetricProps]) -> cloudwatch.Metric:
        """A metric of this topic (AWS/SNS, dimension TopicName; CDK's default: Average over 5 minutes)."""
        return self.topic.metric(metric_name, **props)

    def metric_number_of_notifications_failed(self, **props: Unpack[MetricProps]) -> cloudwatch.Metric:
        """Notifications SNS could not deliver to a subscriber (Sum over 5 minutes unless overridden)."""
        props.setdefault("statistic", "Sum")
        return self.metric("NumberOfNotificationsFailed", **props)


def notify(topic: sns.ITopic, alarm: cloudwatch.Alarm) -> None:
    """Send ``alarm``'s ALARM and OK transitions to ``topic`` (the kit's `AlarmTopic.topic` or an imported one), so
    on-call sees recovery too. An imported topic's policy must let cloudwatch.amazonaws.com publish, and its key
    let CloudWatch encrypt, as `AlarmTopic` does for its own topic."""
    action = cw_actions.SnsAction(topic)
    alarm.add_alarm_action(action)
    alarm.add_ok_action(action)
