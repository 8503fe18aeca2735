"""`AlarmTopic`: where every alarm of the kit goes."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from constructs import Construct

from stacks.common.kms_key import KitKey
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

    def __init__(self, scope: Construct, construct_id: str, *, key: KitKey, email: str | None = None) -> None:
        super().__init__(scope, construct_id)
        self._key = key
        self.topic = sns.Topic(self, "Topic", master_key=key.key, enforce_ssl=True, display_name="Journey kit alarms")
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
        self._key.allow_service(f"{name}PublishTo{cdk.Names.unique_id(self)}"[:128], service, source_arn=source_arn)

    def grant_publish(self, grantee: iam.IGrantable) -> None:
        """sns:Publish on this topic and data keys only through SNS (CDK's helper would add wildcards)."""
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(actions=["sns:Publish"], resources=[self.topic.topic_arn])
        )
        self._key.grant_use_via(grantee, "sns", encrypt=True)

    def notify(self, alarm: cloudwatch.Alarm) -> None:
        """Send both ALARM and OK transitions, so on-call sees recovery too."""
        action = cw_actions.SnsAction(self.topic)
        alarm.add_alarm_action(action)
        alarm.add_ok_action(action)

    def metric_number_of_notifications_failed(self, **kwargs: object) -> cloudwatch.Metric:
        return self.topic.metric_number_of_notifications_failed(**kwargs)  # type: ignore[arg-type]
