"""The building blocks' CDK shape: every `grant_*` returns an `iam.Grant` of exactly the named statements,
`metric(name, ...)` takes typed options and the named `metric_*` are built on it, `Guardrail` carries
`grant_apply`, and the dead-letter queue and the threshold alarm are one block each.

Expected statements are written out: a grant that widens (an extra action, a wildcard, a lost condition) or
narrows fails here, whatever the implementation computes.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Template

from stacks.app_builder import cdk_json_context
from stacks.common.alarm_topic import AlarmTopic
from stacks.common.buckets import SecureBucket
from stacks.common.dead_letter_queue import KitDeadLetterQueue
from stacks.common.kit_function import KitFunction
from stacks.common.kms_key import KitKey
from stacks.common.opensearch_vector_store import OpenSearchVectorStore
from stacks.common.stage_policy import StagePolicy
from stacks.common.threshold_alarm import ThresholdAlarm
from stacks.common.vector_knowledge_base import VectorKnowledgeBase
from stacks.guardrails.guardrail import Guardrail
from stacks.guardrails.policy import load_guardrail_policy
from stacks.guardrails.stack import GuardrailsProps, GuardrailsStack

KEY_ARN = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
BUCKET_ARN = {"Fn::GetAtt": ["DataBucketE6B0FAA8", "Arn"]}
KB_ARN = {"Fn::GetAtt": ["Kb4174A18D", "KnowledgeBaseArn"]}
FUNCTION_ARN = {"Fn::GetAtt": ["FnFunction06372625", "Arn"]}


def _via(service: str) -> dict[str, Any]:
    return {
        "StringEquals": {
            "kms:ViaService": {"Fn::Join": ["", [f"{service}.", {"Ref": "AWS::Region"}, ".amazonaws.com"]]}
        }
    }


def _decrypt_via(service: str) -> dict[str, Any]:
    return {"Action": "kms:Decrypt", "Condition": _via(service), "Effect": "Allow", "Resource": KEY_ARN}


def _data_keys_via(service: str) -> dict[str, Any]:
    return {
        "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
        "Condition": _via(service),
        "Effect": "Allow",
        "Resource": KEY_ARN,
    }


def _objects(suffix: str) -> dict[str, Any]:
    return {"Fn::Join": ["", [BUCKET_ARN, suffix]]}


class Blocks:
    """One stack of blocks over an imported key (a literal ARN), and a role to grant to."""

    def __init__(self) -> None:
        self.app = cdk.App(context=cdk_json_context())
        self.stack = cdk.Stack(self.app, "S")
        stack = self.stack
        self.key = kms.Key.from_key_arn(stack, "Key", KEY_ARN)
        stage = StagePolicy("dev")
        logs = s3.Bucket.from_bucket_name(stack, "Logs", "access-logs")
        self.bucket = SecureBucket(stack, "Data", key=self.key, access_logs=logs, stage=stage)
        self.topic = AlarmTopic(stack, "Alarms", key=self.key)
        self.dlq = KitDeadLetterQueue(stack, "Dlq", key=self.key, dead_letters_of="the tests")
        self.kb = VectorKnowledgeBase(stack, "Kb", encryption_key=self.key)
        self.function = KitFunction(
            stack,
            "Fn",
            handler="common.clients.client",
            description="d",
            service="s",
            namespace="n",
            key=self.key,
            stage=stage,
        )
        self.role = iam.Role(stack, "R", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))

    def statements(self, grant: iam.Grant) -> list[dict[str, Any]]:
        assert isinstance(grant, iam.Grant)
        assert grant.success
        return [self.stack.resolve(s.to_statement_json()) for s in grant.principal_statements]


@pytest.fixture
def blocks() -> Blocks:
    return Blocks()


def test_bucket_read_is_get_and_list_under_the_prefix_and_decrypt_through_s3(blocks):
    assert blocks.statements(blocks.bucket.grant_read(blocks.role, "in/")) == [
        {"Action": "s3:GetObject", "Effect": "Allow", "Resource": _objects("/in/*")},
        {
            "Action": "s3:ListBucket",
            "Condition": {"StringLike": {"s3:prefix": ["in/*"]}},
            "Effect": "Allow",
            "Resource": BUCKET_ARN,
        },
        _decrypt_via("s3"),
    ]


def test_bucket_read_without_prefix_lists_without_condition(blocks):
    assert blocks.statements(blocks.bucket.grant_read(blocks.role)) == [
        {"Action": "s3:GetObject", "Effect": "Allow", "Resource": _objects("/*")},
        {"Action": "s3:ListBucket", "Effect": "Allow", "Resource": BUCKET_ARN},
        _decrypt_via("s3"),
    ]


def test_bucket_write_is_put_under_the_prefix_and_data_keys_through_s3(blocks):
    assert blocks.statements(blocks.bucket.grant_write(blocks.role, "out/")) == [
        {"Action": "s3:PutObject", "Effect": "Allow", "Resource": _objects("/out/*")},
        _data_keys_via("s3"),
    ]


def test_bucket_delete_is_delete_under_the_prefix_and_no_key(blocks):
    assert blocks.statements(blocks.bucket.grant_delete(blocks.role, "out/")) == [
        {"Action": "s3:DeleteObject", "Effect": "Allow", "Resource": _objects("/out/*")},
    ]


def test_key_use_via_a_service():
    app = cdk.App()
    stack = cdk.Stack(app, "K")
    key = KitKey(stack, "DataKey", alias="alias/t", description="t", removal_policy=cdk.RemovalPolicy.DESTROY)
    role = iam.Role(stack, "R", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    key_arn = {"Fn::GetAtt": ["DataKey2A0DE9E6", "Arn"]}
    grant = key.grant_use_via(role, "dynamodb", encrypt=True)
    assert [stack.resolve(s.to_statement_json()) for s in grant.principal_statements] == [
        {
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Condition": _via("dynamodb"),
            "Effect": "Allow",
            "Resource": key_arn,
        }
    ]
    grant = key.grant_use_via(role, "secretsmanager", encrypt=False)
    assert [stack.resolve(s.to_statement_json()) for s in grant.principal_statements] == [
        {"Action": "kms:Decrypt", "Condition": _via("secretsmanager"), "Effect": "Allow", "Resource": key_arn}
    ]


def test_alarm_topic_publish_is_publish_on_the_topic_and_data_keys_through_sns(blocks):
    assert blocks.statements(blocks.topic.grant_publish(blocks.role)) == [
        {"Action": "sns:Publish", "Effect": "Allow", "Resource": {"Ref": "AlarmsTopic3A2DFEBA"}},
        _data_keys_via("sns"),
    ]


def test_dead_letter_send_is_send_message_and_data_keys_through_sqs(blocks):
    assert blocks.statements(blocks.dlq.grant_send(blocks.role)) == [
        {"Action": "sqs:SendMessage", "Effect": "Allow", "Resource": {"Fn::GetAtt": ["DlqD1FAA4AD", "Arn"]}},
        _data_keys_via("sqs"),
    ]


def test_function_invoke_is_invoke_on_the_function_and_its_versions(blocks):
    assert blocks.statements(blocks.function.grant_invoke(blocks.role)) == [
        {
            "Action": "lambda:InvokeFunction",
            "Effect": "Allow",
            "Resource": [FUNCTION_ARN, {"Fn::Join": ["", [FUNCTION_ARN, ":*"]]}],
        }
    ]


def test_knowledge_base_grants(blocks):
    kb, role = blocks.kb, blocks.role
    retrieve = {"Action": "bedrock:Retrieve", "Effect": "Allow", "Resource": KB_ARN}
    assert blocks.statements(kb.grant_retrieve(role)) == [retrieve]
    assert blocks.statements(kb.grant_ingestion(role)) == [
        {"Action": ["bedrock:GetIngestionJob", "bedrock:StartIngestionJob"], "Effect": "Allow", "Resource": KB_ARN}
    ]
    profile = "eu.anthropic.claude-3-haiku-20240307-v1:0"
    assert blocks.statements(kb.grant_retrieve_and_generate(role, profile)) == [
        retrieve,
        {"Action": "bedrock:RetrieveAndGenerate", "Effect": "Allow", "Resource": "*"},
        {
            "Action": "bedrock:InvokeModel",
            "Effect": "Allow",
            "Resource": [
                {
                    "Fn::Join": [
                        "",
                        [
                            "arn:",
                            {"Ref": "AWS::Partition"},
                            ":bedrock:",
                            {"Ref": "AWS::Region"},
                            ":",
                            {"Ref": "AWS::AccountId"},
                            f":inference-profile/{profile}",
                        ],
                    ]
                },
                {
                    "Fn::Join": [
                        "",
                        [
                            "arn:",
                            {"Ref": "AWS::Partition"},
                            ":bedrock:*::foundation-model/anthropic.claude-3-haiku-20240307-v1:0",
                        ],
                    ]
                },
            ],
        },
    ]


def test_opensearch_data_access_is_api_access_on_the_collection():
    app = cdk.App()
    stack = cdk.Stack(app, "O")
    store = OpenSearchVectorStore(
        stack,
        "Store",
        collection_name="kb-vectors",
        encryption_key=kms.Key.from_key_arn(stack, "Key", KEY_ARN),
        dimensions=1024,
        data_access_principal_arns=[],
        index_admin_arns=["arn:aws:iam::111122223333:role/admin"],
    )
    role = iam.Role(stack, "R", assumed_by=iam.ServicePrincipal("bedrock.amazonaws.com"))
    grant = store.grant_data_access(role)
    assert [stack.resolve(s.to_statement_json()) for s in grant.principal_statements] == [
        {
            "Action": "aoss:APIAccessAll",
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": ["StoreCollection2ADA2A53", "Arn"]},
        }
    ]


# ------------------------------------------------------------------ Guardrail


def _guardrail_stack() -> tuple[cdk.Stack, Guardrail]:
    app = cdk.App()
    stack = cdk.Stack(app, "G")
    guardrail = Guardrail(
        stack,
        "Guardrail",
        name="t-dev",
        policy=load_guardrail_policy("customer-retention"),
        key=kms.Key.from_key_arn(stack, "Key", KEY_ARN),
        removal_policy=cdk.RemovalPolicy.DESTROY,
    )
    return stack, guardrail


def test_guardrail_apply_is_apply_on_the_guardrail_and_decrypt_through_bedrock():
    stack, guardrail = _guardrail_stack()
    role = iam.Role(stack, "R", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    grant = guardrail.grant_apply(role)
    assert isinstance(grant, iam.Grant)
    assert [stack.resolve(s.to_statement_json()) for s in grant.principal_statements] == [
        {
            "Action": "bedrock:ApplyGuardrail",
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": ["Guardrail", "GuardrailArn"]},
        },
        {"Action": "kms:Decrypt", "Condition": _via("bedrock"), "Effect": "Allow", "Resource": KEY_ARN},
    ]


def test_guardrail_keeps_the_logical_ids_of_a_stack_level_guardrail_and_version():
    stack, guardrail = _guardrail_stack()
    template = Template.from_stack(stack)
    (guardrail_id,) = template.find_resources("AWS::Bedrock::Guardrail")
    (version_id,) = template.find_resources("AWS::Bedrock::GuardrailVersion")
    assert guardrail_id == "Guardrail"
    assert version_id == f"Version{guardrail.policy_fingerprint[:12]}"
    template.has_resource(
        "AWS::Bedrock::GuardrailVersion",
        {
            "Properties": {"GuardrailIdentifier": {"Fn::GetAtt": ["Guardrail", "GuardrailId"]}},
            "DeletionPolicy": "Delete",
        },
    )
    template.has_resource_properties("AWS::Bedrock::Guardrail", {"Name": "t-dev", "KmsKeyArn": KEY_ARN})


def test_guardrails_stack_delegates_grant_apply_and_returns_grants():
    app = cdk.App(context=cdk_json_context())
    stack = GuardrailsStack(
        app,
        "G",
        props=GuardrailsProps(
            key=kms.Key.from_key_arn(cdk.Stack(app, "K"), "Key", KEY_ARN),
            stage=StagePolicy("dev"),
            usecase_id="customer-retention",
            policy=load_guardrail_policy("customer-retention"),
            name_prefix="t-dev",
        ),
    )
    assert isinstance(stack.guardrail, Guardrail)
    role = iam.Role(stack, "R", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    apply = stack.grant_apply(role)
    assert [s["Action"] for s in (stack.resolve(x.to_statement_json()) for x in apply.principal_statements)] == [
        "bedrock:ApplyGuardrail",
        "kms:Decrypt",
    ]
    checks = stack.grant_safety_checks(role)
    assert [stack.resolve(s.to_statement_json()) for s in checks.principal_statements] == [
        {
            "Action": ["comprehend:DetectPiiEntities", "comprehend:DetectToxicContent"],
            "Effect": "Allow",
            "Resource": "*",
        }
    ]


# ------------------------------------------------------------------ metrics


def _metric(stack: cdk.Stack, metric: cloudwatch.Metric) -> tuple[Any, ...]:
    return (
        metric.namespace,
        metric.metric_name,
        stack.resolve(metric.dimensions),
        metric.statistic,
        metric.period.to_seconds(),
        metric.label,
        metric.unit,
    )


def test_knowledge_base_metric_takes_typed_options_and_defaults_to_sum_over_five_minutes(blocks):
    kb, stack = blocks.kb, blocks.stack
    dimensions = {"KnowledgeBaseId": {"Fn::GetAtt": ["Kb4174A18D", "KnowledgeBaseId"]}}
    assert _metric(stack, kb.metric("DocumentsFailed")) == (
        "JourneyKit/Knowledge",
        "DocumentsFailed",
        dimensions,
        "Sum",
        300,
        None,
        None,
    )
    custom = kb.metric(
        "DocumentsFailed", statistic="Maximum", period=cdk.Duration.hours(1), label="failed", unit=cloudwatch.Unit.COUNT
    )
    assert _metric(stack, custom) == (
        "JourneyKit/Knowledge",
        "DocumentsFailed",
        dimensions,
        "Maximum",
        3600,
        "failed",
        cloudwatch.Unit.COUNT,
    )
    # The named metrics are metric() with their name.
    named = kb.metric_documents_failed(period=cdk.Duration.minutes(1), label="x")
    assert _metric(stack, named) == _metric(
        stack, kb.metric("DocumentsFailed", period=cdk.Duration.minutes(1), label="x")
    )
    assert kb.metric_ingestion_jobs_failed().metric_name == "IngestionJobsFailed"
    throttles = kb.metric_embedding_throttles(statistic="Maximum")
    assert (throttles.namespace, throttles.metric_name, throttles.statistic) == (
        "AWS/Bedrock",
        "InvocationThrottles",
        "Maximum",
    )


def test_bucket_metric_is_a_daily_storage_metric_with_its_storage_type(blocks):
    bucket, stack = blocks.bucket, blocks.stack
    name = {"Ref": "DataBucketE6B0FAA8"}
    assert _metric(stack, bucket.metric("NumberOfObjects")) == (
        "AWS/S3",
        "NumberOfObjects",
        {"BucketName": name, "StorageType": "AllStorageTypes"},
        "Average",
        86400,
        None,
        None,
    )
    assert _metric(stack, bucket.metric_bucket_size_bytes(statistic="Maximum")) == (
        "AWS/S3",
        "BucketSizeBytes",
        {"BucketName": name, "StorageType": "StandardStorage"},
        "Maximum",
        86400,
        None,
        None,
    )
    glacier = bucket.metric("BucketSizeBytes", storage_type="GlacierStorage", period=cdk.Duration.days(7))
    assert stack.resolve(glacier.dimensions)["StorageType"] == "GlacierStorage"
    assert glacier.period.to_days() == 7


def test_topic_and_function_metrics_are_built_on_metric(blocks):
    stack = blocks.stack
    topic_name = {"TopicName": {"Fn::GetAtt": ["AlarmsTopic3A2DFEBA", "TopicName"]}}
    assert _metric(stack, blocks.topic.metric_number_of_notifications_failed()) == (
        "AWS/SNS",
        "NumberOfNotificationsFailed",
        topic_name,
        "Sum",
        300,
        None,
        None,
    )
    assert blocks.topic.metric("NumberOfMessagesPublished", period=cdk.Duration.minutes(1)).period.to_seconds() == 60
    function_name = {"FunctionName": {"Ref": "FnFunction06372625"}}
    assert _metric(stack, blocks.function.metric_errors(label="errors")) == (
        "AWS/Lambda",
        "Errors",
        function_name,
        "Sum",
        300,
        "errors",
        None,
    )
    assert blocks.function.metric_throttles().statistic == "Sum"
    assert blocks.function.metric_duration(statistic="p99").statistic == "p99"
    assert blocks.function.metric("ConcurrentExecutions", statistic="Maximum").metric_name == "ConcurrentExecutions"


# ------------------------------------------------------------------ dead-letter queue and alarm


def test_dead_letter_queue_is_cmk_encrypted_tls_only_for_14_days(blocks):
    template = Template.from_stack(blocks.stack)
    (queue,) = template.find_resources("AWS::SQS::Queue").values()
    assert queue["Properties"] == {"KmsMasterKeyId": KEY_ARN, "MessageRetentionPeriod": 14 * 24 * 3600}
    (policy,) = template.find_resources("AWS::SQS::QueuePolicy").values()
    (deny,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert (deny["Effect"], deny["Condition"]) == ("Deny", {"Bool": {"aws:SecureTransport": "false"}})


def test_threshold_alarm_notifies_alarm_and_ok_to_the_topic():
    app = cdk.App()
    stack = cdk.Stack(app, "A")
    topic = sns.Topic.from_topic_arn(stack, "T", "arn:aws:sns:eu-west-1:111122223333:alarms")
    metric = cloudwatch.Metric(namespace="N", metric_name="M", statistic="Maximum", period=cdk.Duration.minutes(5))
    ThresholdAlarm(stack, "Reached", metric=metric, description="reached", topic=topic)
    ThresholdAlarm(
        stack,
        "Exceeded",
        metric=metric,
        description="exceeded",
        topic=topic,
        threshold=2.5,
        comparison=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    )
    found = Template.from_stack(stack).find_resources("AWS::CloudWatch::Alarm").values()
    alarms = {alarm["Properties"]["AlarmDescription"]: alarm for alarm in found}
    common = {
        "EvaluationPeriods": 1,
        "TreatMissingData": "notBreaching",
        "AlarmActions": ["arn:aws:sns:eu-west-1:111122223333:alarms"],
        "OKActions": ["arn:aws:sns:eu-west-1:111122223333:alarms"],
        "Namespace": "N",
        "MetricName": "M",
        "Statistic": "Maximum",
        "Period": 300,
    }
    assert alarms["reached"]["Properties"] == {
        **common,
        "AlarmDescription": "reached",
        "Threshold": 1,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
    }
    assert alarms["exceeded"]["Properties"] == {
        **common,
        "AlarmDescription": "exceeded",
        "Threshold": 2.5,
        "ComparisonOperator": "GreaterThanThreshold",
    }
