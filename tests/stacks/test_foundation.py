"""The Foundation stack in both stages: key, access logs, alarm topic, lifetimes and tags."""

from __future__ import annotations

from aws_cdk.assertions import Match


def test_every_stage_gets_its_own_named_stacks(synth):
    assert {"journey-customer-retention-dev-Foundation", "journey-customer-retention-prod-Foundation"} <= set(
        synth.templates
    )


def test_key_rotates_and_its_policy_names_every_action(synth):
    template = synth.template("journey-customer-retention-dev-Foundation")
    template.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})
    (key,) = template.find_resources("AWS::KMS::Key").values()
    for statement in key["Properties"]["KeyPolicy"]["Statement"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        assert all("*" not in action for action in actions), statement["Sid"]


def test_logs_service_may_use_the_key_only_for_this_accounts_log_groups(synth):
    (key,) = synth.template("journey-customer-retention-dev-Foundation").find_resources("AWS::KMS::Key").values()
    (logs,) = [s for s in key["Properties"]["KeyPolicy"]["Statement"] if s["Sid"].startswith("CloudWatchLogs")]
    assert "kms:EncryptionContext:aws:logs:arn" in logs["Condition"]["ArnLike"]


def test_alarm_topic_is_encrypted_tls_only_and_cloudwatch_may_publish(synth):
    template = synth.template("journey-customer-retention-dev-Foundation")
    template.has_resource_properties("AWS::SNS::Topic", {"KmsMasterKeyId": Match.any_value()})
    template.has_resource_properties(
        "AWS::SNS::TopicPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [Match.object_like({"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}})]
                )
            }
        },
    )
    (key,) = template.find_resources("AWS::KMS::Key").values()
    (cloudwatch,) = [s for s in key["Properties"]["KeyPolicy"]["Statement"] if s["Sid"].startswith("CloudWatchAlarms")]
    assert cloudwatch["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert sorted(cloudwatch["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert "aws:SourceAccount" in cloudwatch["Condition"]["StringEquals"]


def test_access_log_bucket_is_private_versioned_tls_only_and_expires_logs(synth):
    template = synth.template("journey-customer-retention-dev-Foundation")
    template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True,
                "BlockPublicPolicy": True,
                "IgnorePublicAcls": True,
                "RestrictPublicBuckets": True,
            },
            "VersioningConfiguration": {"Status": "Enabled"},
            "LifecycleConfiguration": {"Rules": Match.array_with([Match.object_like({"ExpirationInDays": 30})])},
        },
    )


def test_prod_retains_data_and_dev_destroys_it(synth):
    prod = synth.template("journey-customer-retention-prod-Foundation")
    dev = synth.template("journey-customer-retention-dev-Foundation")
    for template, policy in ((prod, "Retain"), (dev, "Delete")):
        for resource_type in ("AWS::KMS::Key", "AWS::S3::Bucket"):
            for resource in template.find_resources(resource_type).values():
                assert resource["DeletionPolicy"] == policy, resource_type
    # Dev empties its buckets on delete; prod has no such custom resource at all.
    assert dev.find_resources("Custom::S3AutoDeleteObjects")
    assert not prod.find_resources("Custom::S3AutoDeleteObjects")


def test_alarm_delivery_failures_alarm_back_to_the_topic(synth):
    synth.template("journey-customer-retention-dev-Foundation").has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "MetricName": "NumberOfNotificationsFailed",
            "AlarmActions": Match.any_value(),
            "OKActions": Match.any_value(),
        },
    )
