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


class AlarmTopic(Construct):
    """KMS-encrypted, TLS-only SNS topic with an optional email subscription."""

    def __init__(self, scope: Construct, construct_id: str, *, key: KitKey, email: str | None = None) -> None:
        super().__init__(scope, construct_id)
        self._key = key
        self.topic = sns.Topic(self, "Topic", master_key=key.key, enforce_ssl=True, display_name="Journey kit alarms")
        # CloudWatch alarms publish to an encrypted topic only if the service may use the key.
        key.allow_service(
            f"CloudWatchAlarmsPublishTo{cdk.Names.unique_id(self)}",
            "cloudwatch.amazonaws.com",
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
