"""Knowledge stack, standalone: S3 Vectors default and the OpenSearch option, gated by all nag packs.

One synth for the module: Foundation, a stand-in Data stack (curated SecureBucket, custom event bus),
the Knowledge stack from the shipped customer-retention knowledge.yaml, a hybrid-search variant and a
consumer role using the building block's grants.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any
from unittest import mock

import aws_cdk as cdk
import pytest
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Match, Template
from knowledge import contract, ingestion

from stacks.app_builder import cdk_json_context
from stacks.common import vector_knowledge_base as vkb
from stacks.common.buckets import SecureBucket
from stacks.common.nag import acknowledge_role_policy, add_nag_packs
from stacks.common.stage_policy import StagePolicy
from stacks.config import ConfigError
from stacks.data.stores import DOCUMENTS
from stacks.foundation.stack import FoundationProps, FoundationStack
from stacks.knowledge.settings import (
    HierarchicalChunking,
    KnowledgeSettings,
    SyncSettings,
    load_knowledge_settings,
)
from stacks.knowledge.stack import KnowledgeProps, KnowledgeStack
from tests.cfn_lint import problems
from tests.lambdas.knowledge.sync_world import DS_ID, KB_ID, sync_world
from tools.iam_check import check, load_allowlist

TEXT_MODEL = "us.anthropic.claude-3-5-haiku-20241022-v1:0"
SHIPPED = load_knowledge_settings("customer-retention")


class Built:
    def __init__(self, templates: dict[str, dict[str, Any]], stacks: dict[str, Any]) -> None:
        self.templates = templates
        self.stacks = stacks

    def template(self, name: str) -> Template:
        return Template.from_json(self.templates[name])

    def logical_id(self, stack: str, construct: Any) -> str:
        return str(self.stacks[stack].get_logical_id(construct.node.default_child))


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    app = cdk.App(outdir=str(tmp_path_factory.mktemp("knowledge")), context=cdk_json_context())
    dev = StagePolicy("dev")
    foundation = FoundationStack(app, "Foundation", props=FoundationProps(name_prefix="journey-dev", stage=dev))
    data = cdk.Stack(app, "DataStandIn")
    curated = SecureBucket(data, "Curated", key=foundation.key, access_logs=foundation.access_logs.bucket, stage=dev)
    bus = events.EventBus(data, "Bus", event_bus_name="journey-dev-data")
    common = {
        "stage": dev,
        "key": foundation.key,
        "alarm_topic": foundation.alarm_topic,
        "curated_bucket": curated.bucket,
    }
    knowledge = KnowledgeStack(
        app,
        "Knowledge",
        props=KnowledgeProps(name_prefix="journey-dev", curated_prefix="documents/", settings=SHIPPED, **common),  # type: ignore[arg-type]
    )
    hybrid = KnowledgeStack(
        app,
        "KnowledgeHybrid",
        props=KnowledgeProps(
            name_prefix="hybrid-dev",
            event_bus=bus,
            embedding_dimensions=512,
            settings=KnowledgeSettings(
                vector_store="opensearch",
                chunking=HierarchicalChunking(strategy="hierarchical"),
                sync=SyncSettings(schedule=None),
            ),
            **common,  # type: ignore[arg-type]
        ),
    )
    consumer = cdk.Stack(app, "Consumer")
    role = iam.Role(consumer, "Chat", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    knowledge.knowledge_base.grant_retrieve_and_generate(role, TEXT_MODEL)
    acknowledge_role_policy(role.node.find_child("DefaultPolicy").node.default_child)  # type: ignore[arg-type]

    add_nag_packs(app)  # synth raises on any unacknowledged finding of the four packs
    assembly = app.synth()
    templates = {s.stack_name: json.loads(Path(s.template_full_path).read_text()) for s in assembly.stacks}
    stacks = {"Knowledge": knowledge, "KnowledgeHybrid": hybrid, "Foundation": foundation, "Consumer": consumer}
    return Built(templates, stacks)


# ---------------------------------------------------------------------------- rendering helpers


def render(value: Any) -> Any:
    """Intrinsics as readable text: Ref/GetAtt -> <Id.Attr>, cross-stack output -> <Stack:Output>."""
    if isinstance(value, list):
        return [render(v) for v in value]
    if isinstance(value, dict):
        if "Fn::Join" in value:
            separator, parts = value["Fn::Join"]
            return separator.join(str(render(p)) for p in parts)
        if "Ref" in value:
            return f"<{value['Ref']}>"
        if "Fn::GetAtt" in value:
            return "<{}.{}>".format(*value["Fn::GetAtt"])
        if "Fn::GetStackOutput" in value:
            output = value["Fn::GetStackOutput"]
            return f"<{output['StackName']}:{output['OutputName']}>"
        return {k: render(v) for k, v in value.items()}
    return value


def policy_statements(template: dict[str, Any], role_logical_id: str) -> list[dict[str, Any]]:
    (policy,) = [
        r
        for r in template["Resources"].values()
        if r["Type"] == "AWS::IAM::Policy" and r["Properties"]["Roles"] == [{"Ref": role_logical_id}]
    ]
    return [render(s) for s in policy["Properties"]["PolicyDocument"]["Statement"]]


def assert_statements(actual: list[dict[str, Any]], expected: list[tuple[list[str], str, dict | None]]) -> None:
    """Exactly these statements, in order: actions, a full-match regex for the resource, conditions."""
    assert len(actual) == len(expected), json.dumps(actual, indent=1)
    for statement, (actions, resource, condition) in zip(actual, expected, strict=True):
        assert statement["Effect"] == "Allow"
        got_actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        assert got_actions == actions
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        assert len(resources) == 1, resources
        assert re.fullmatch(resource, resources[0]), (resource, resources[0])
        assert statement.get("Condition") == condition


KEY = r"<Foundation:\w*DataKey\w*>"
CURATED = r"<DataStandIn:\w*CuratedBucket\w*>"


def via(service: str) -> dict:
    return {"StringEquals": {"kms:ViaService": f"{service}.<AWS::Region>.amazonaws.com"}}


# ---------------------------------------------------------------------------- S3 Vectors store


def test_vector_bucket_is_kms_encrypted_and_the_index_fits_titan_v2(built):
    template = built.template("Knowledge")
    template.has_resource_properties(
        "AWS::S3Vectors::VectorBucket",
        {"EncryptionConfiguration": {"SseType": "aws:kms", "KmsKeyArn": Match.any_value()}},
    )
    (bucket,) = template.find_resources("AWS::S3Vectors::VectorBucket").values()
    # No custom name: CloudFormation generates one, so an update can replace the bucket (docs/deploy.md).
    assert "VectorBucketName" not in bucket["Properties"]
    assert re.fullmatch(KEY, render(bucket["Properties"]["EncryptionConfiguration"]["KmsKeyArn"]))
    template.has_resource_properties(
        "AWS::S3Vectors::Index",
        {
            "Dimension": 1024,
            "DistanceMetric": "cosine",
            "DataType": "float32",
            "MetadataConfiguration": {"NonFilterableMetadataKeys": ["AMAZON_BEDROCK_TEXT", "AMAZON_BEDROCK_METADATA"]},
        },
    )


def test_knowledge_base_is_vector_on_s3_vectors_with_titan_v2_at_1024(built):
    built.template("Knowledge").has_resource_properties(
        "AWS::Bedrock::KnowledgeBase",
        {
            "Name": "journey-dev-knowledge",
            "KnowledgeBaseConfiguration": {
                "Type": "VECTOR",
                "VectorKnowledgeBaseConfiguration": {
                    "EmbeddingModelArn": {
                        "Fn::Join": [
                            "",
                            [
                                "arn:",
                                {"Ref": "AWS::Partition"},
                                ":bedrock:",
                                {"Ref": "AWS::Region"},
                                "::foundation-model/amazon.titan-embed-text-v2:0",
                            ],
                        ]
                    },
                    "EmbeddingModelConfiguration": {
                        "BedrockEmbeddingModelConfiguration": {"Dimensions": 1024, "EmbeddingDataType": "FLOAT32"}
                    },
                },
            },
            "StorageConfiguration": {
                "Type": "S3_VECTORS",
                "S3VectorsConfiguration": {
                    "IndexArn": {"Fn::GetAtt": [Match.string_like_regexp("VectorIndex"), "IndexArn"]}
                },
            },
        },
    )


def test_data_source_reads_the_curated_prefix_with_the_use_case_chunking_and_deletes_vectors(built):
    template = built.template("Knowledge")
    (source,) = template.find_resources("AWS::Bedrock::DataSource").values()
    props = source["Properties"]
    assert props["DataDeletionPolicy"] == "DELETE"
    s3 = render(props["DataSourceConfiguration"])
    assert s3["Type"] == "S3"
    assert s3["S3Configuration"]["InclusionPrefixes"] == ["documents/"]
    assert re.fullmatch(CURATED, s3["S3Configuration"]["BucketArn"])
    assert props["VectorIngestionConfiguration"]["ChunkingConfiguration"] == {
        "ChunkingStrategy": "FIXED_SIZE",
        "FixedSizeChunkingConfiguration": {"MaxTokens": 300, "OverlapPercentage": 20},
    }


def test_the_stage_points_the_knowledge_base_at_the_data_stacks_documents_prefix_only(synth):
    # The whole app: Data publishes records/ (JSONL a knowledge base cannot parse) and documents/; the
    # data source and its role's read grant cover documents/ only.
    assert DOCUMENTS == "documents/"
    template = synth.templates["journey-customer-retention-dev-Knowledge"]
    (source,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::Bedrock::DataSource"]
    s3 = render(source["Properties"]["DataSourceConfiguration"])["S3Configuration"]
    assert s3["InclusionPrefixes"] == [DOCUMENTS]
    curated = r"<journey-customer-retention-dev-Data:\w*CuratedBucket\w*>"
    assert re.fullmatch(curated, s3["BucketArn"])
    (policy,) = [
        r
        for k, r in template["Resources"].items()
        if r["Type"] == "AWS::IAM::Policy" and k.startswith("KnowledgeBaseServiceRoleDefaultPolicy")
    ]
    reads = [
        render(st) for st in policy["Properties"]["PolicyDocument"]["Statement"] if str(st["Action"]).startswith("s3:")
    ]
    assert [(st["Action"], st.get("Condition")) for st in reads] == [
        ("s3:GetObject", None),
        ("s3:ListBucket", {"StringLike": {"s3:prefix": ["documents/*"]}}),
    ]
    assert re.fullmatch(curated + re.escape("/documents/*"), reads[0]["Resource"])
    assert re.fullmatch(curated, reads[1]["Resource"])


def test_knowledge_base_role_trust_is_limited_to_this_accounts_knowledge_bases(built):
    kb = built.stacks["Knowledge"].knowledge_base
    role = built.templates["Knowledge"]["Resources"][built.logical_id("Knowledge", kb.role)]
    assert render(role["Properties"]["AssumeRolePolicyDocument"]["Statement"]) == [
        {
            "Action": "sts:AssumeRole",
            "Effect": "Allow",
            "Principal": {"Service": "bedrock.amazonaws.com"},
            "Condition": {
                "StringEquals": {"aws:SourceAccount": "<AWS::AccountId>"},
                "ArnLike": {
                    "aws:SourceArn": "arn:<AWS::Partition>:bedrock:<AWS::Region>:<AWS::AccountId>:knowledge-base/*"
                },
            },
        }
    ]


def test_knowledge_base_role_policy_is_exact(built):
    kb = built.stacks["Knowledge"].knowledge_base
    statements = policy_statements(built.templates["Knowledge"], built.logical_id("Knowledge", kb.role))
    assert_statements(
        statements,
        [
            (
                ["bedrock:InvokeModel"],
                re.escape("arn:<AWS::Partition>:bedrock:<AWS::Region>::foundation-model/amazon.titan-embed-text-v2:0"),
                None,
            ),
            (vkb.S3_VECTORS_ACTIONS, r"<KnowledgeBaseVectorIndex\w+\.IndexArn>", None),
            # The vector bucket is encrypted with the kit key: S3 Vectors uses it with the caller's rights.
            (["kms:Decrypt", "kms:GenerateDataKey"], KEY, via("s3vectors")),
            (["s3:GetObject"], CURATED + re.escape("/documents/*"), None),
            (["s3:ListBucket"], CURATED, {"StringLike": {"s3:prefix": ["documents/*"]}}),
            (["kms:Decrypt"], KEY, via("s3")),
        ],
    )
    assert sorted(vkb.S3_VECTORS_ACTIONS) == sorted(
        f"s3vectors:{a}"
        for a in ("PutVectors", "GetVectors", "DeleteVectors", "QueryVectors", "ListVectors", "GetIndex")
    )


def test_knowledge_base_and_data_source_wait_for_the_role_policy(built):
    kb = built.stacks["Knowledge"].knowledge_base
    policy_id = built.logical_id("Knowledge", kb.role.node.find_child("DefaultPolicy"))
    for resource_type in ("AWS::Bedrock::KnowledgeBase", "AWS::Bedrock::DataSource"):
        (resource,) = built.template("Knowledge").find_resources(resource_type).values()
        assert policy_id in resource["DependsOn"], resource_type


def test_key_policy_lets_s3_vectors_indexing_decrypt_for_this_accounts_vector_buckets_only(built):
    """The vector bucket's name is generated (replaceable), so the key policy, in another stack, cannot name it:
    this account's vector buckets in the region, with the S3 Vectors encryption context."""
    (key,) = built.template("Foundation").find_resources("AWS::KMS::Key").values()
    statements = [render(s) for s in key["Properties"]["KeyPolicy"]["Statement"]]
    (indexing,) = [s for s in statements if s.get("Principal") == {"Service": "indexing.s3vectors.amazonaws.com"}]
    buckets = "arn:<AWS::Partition>:s3vectors:<AWS::Region>:<AWS::AccountId>:bucket/*"
    assert indexing["Action"] == "kms:Decrypt"
    assert indexing["Condition"] == {
        "StringEquals": {"aws:SourceAccount": "<AWS::AccountId>"},
        "ArnLike": {"aws:SourceArn": buckets},
        "ForAnyValue:StringEquals": {"kms:EncryptionContextKeys": ["aws:s3vectors:arn", "aws:s3vectors:resource-id"]},
    }
    events_statements = [s for s in statements if s.get("Principal") == {"Service": "events.amazonaws.com"}]
    assert {s["Condition"]["ArnLike"]["aws:SourceArn"] for s in events_statements} == {
        "arn:<AWS::Partition>:events:<AWS::Region>:<AWS::AccountId>:rule/*journey-dev-knowledge-sync-*",
        "arn:<AWS::Partition>:events:<AWS::Region>:<AWS::AccountId>:rule/*hybrid-dev-knowledge-sync-*",
    }
    assert all(s["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"] for s in events_statements)


# ---------------------------------------------------------------------------- sync


def test_sync_role_policy_is_exact(built):
    stack = built.stacks["Knowledge"]
    statements = policy_statements(
        built.templates["Knowledge"], built.logical_id("Knowledge", stack.sync_function.role)
    )
    queue = built.logical_id("Knowledge", stack.sync_queue)
    assert_statements(
        statements,
        [
            (["logs:CreateLogStream", "logs:PutLogEvents"], r"<SyncLogs\w+\.Arn>", None),
            (["xray:PutTelemetryRecords", "xray:PutTraceSegments"], re.escape("*"), None),
            (
                ["kms:Decrypt"],  # the function's own environment, encrypted with the kit key
                KEY,
                {
                    "StringLike": {
                        "kms:EncryptionContext:aws:lambda:FunctionArn": (
                            "arn:<AWS::Partition>:lambda:<AWS::Region>:<AWS::AccountId>:function:*"
                        )
                    }
                },
            ),
            (["bedrock:GetIngestionJob", "bedrock:StartIngestionJob"], r"<KnowledgeBase\w+\.KnowledgeBaseArn>", None),
            (
                [
                    "sqs:ChangeMessageVisibility",
                    "sqs:DeleteMessage",
                    "sqs:GetQueueAttributes",
                    "sqs:ReceiveMessage",
                    "sqs:SendMessage",
                ],
                re.escape(f"<{queue}.Arn>"),
                None,
            ),
            (["kms:Decrypt", "kms:GenerateDataKey"], KEY, via("sqs")),
        ],
    )


def test_dataset_published_and_schedule_rules_deliver_to_the_sync_queue_with_a_dead_letter_queue(built):
    stack = built.stacks["Knowledge"]
    template = built.templates["Knowledge"]
    queue, dlq = (built.logical_id("Knowledge", q) for q in (stack.sync_queue, stack.sync_dead_letters))
    rules = {
        r["Properties"]["Name"]: r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Events::Rule"
    }
    assert set(rules) == {"journey-dev-knowledge-sync-published", "journey-dev-knowledge-sync-schedule"}
    assert rules["journey-dev-knowledge-sync-published"]["EventPattern"] == {
        "source": ["journey.data"],
        "detail-type": ["DatasetPublished"],
    }
    assert "EventBusName" not in rules["journey-dev-knowledge-sync-published"]  # the default bus
    assert rules["journey-dev-knowledge-sync-schedule"]["ScheduleExpression"] == SHIPPED.sync.schedule
    for rule in rules.values():
        (target,) = rule["Targets"]
        assert render(target["Arn"]) == f"<{queue}.Arn>"
        assert render(target["DeadLetterConfig"]["Arn"]) == f"<{dlq}.Arn>"
        assert "Input" not in target
        assert "InputTransformer" not in target  # the event itself is the request

    for queue_id in (queue, dlq):
        (policy,) = [
            r
            for r in template["Resources"].values()
            if r["Type"] == "AWS::SQS::QueuePolicy" and r["Properties"]["Queues"] == [{"Ref": queue_id}]
        ]
        allows = [render(s) for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]
        assert {(s["Action"], s["Principal"]["Service"]) for s in allows} == {
            ("sqs:SendMessage", "events.amazonaws.com")
        }
        assert sorted(s["Condition"]["ArnEquals"]["aws:SourceArn"] for s in allows) == sorted(
            f"<{lid}.Arn>" for lid, r in template["Resources"].items() if r["Type"] == "AWS::Events::Rule"
        )


def test_sync_queue_redrives_to_the_dead_letter_queue_and_the_function_reports_item_failures(built):
    stack = built.stacks["Knowledge"]
    template = built.template("Knowledge")
    dlq = built.logical_id("Knowledge", stack.sync_dead_letters)
    template.has_resource_properties(
        "AWS::SQS::Queue",
        {
            "RedrivePolicy": {"deadLetterTargetArn": {"Fn::GetAtt": [dlq, "Arn"]}, "maxReceiveCount": 3},
            "VisibilityTimeout": 180,
            "KmsMasterKeyId": Match.any_value(),
        },
    )
    template.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {"FunctionResponseTypes": ["ReportBatchItemFailures"], "ScalingConfig": {"MaximumConcurrency": 2}},
    )
    (mapping,) = template.find_resources("AWS::Lambda::EventSourceMapping").values()
    assert (
        built.logical_id("Knowledge", stack.sync_function.role.node.find_child("DefaultPolicy")) in mapping["DependsOn"]
    )


def test_the_handler_parses_the_settings_the_stack_sets(built):
    stack = built.stacks["Knowledge"]
    function = built.templates["Knowledge"]["Resources"][built.logical_id("Knowledge", stack.sync_function.function)]
    assert function["Properties"]["Handler"] == "knowledge.sync.handler"
    variables = function["Properties"]["Environment"]["Variables"]
    # One variable for the function's own settings, beside what KitFunction sets for Powertools.
    assert {k for k in variables if not k.startswith("POWERTOOLS_")} == {contract.ENVIRONMENT_VARIABLE}
    # Deploy-time values stand in as <LogicalId.Attribute>; the JSON is then what the handler parses.
    rendered = render(variables[contract.ENVIRONMENT_VARIABLE])
    with mock.patch.dict("os.environ", {contract.ENVIRONMENT_VARIABLE: rendered}, clear=True):
        settings = contract.SyncSettings.from_environment(os.environ)
    assert settings.timing.poll_interval_seconds == SHIPPED.sync.poll_interval_seconds
    assert settings.timing.retry_delay_seconds == SHIPPED.sync.retry_delay_seconds
    assert settings.timing.give_up_after.total_seconds() == SHIPPED.sync.give_up_after_hours * 3600
    assert (settings.knowledge_base_id, settings.data_source_id, settings.queue_url) == (
        f"<{built.logical_id('Knowledge', stack.knowledge_base)}.KnowledgeBaseId>",
        f"<{built.logical_id('Knowledge', stack.data_source)}.DataSourceId>",
        f"<{built.logical_id('Knowledge', stack.sync_queue)}>",
    )


def test_a_published_dataset_matching_the_synthesized_rule_reaches_the_handler(built):
    (rule,) = [
        r["Properties"]
        for r in built.templates["Knowledge"]["Resources"].values()
        if r["Type"] == "AWS::Events::Rule" and "EventPattern" in r["Properties"]
    ]
    with sync_world(rule["EventPattern"]) as world:
        world.publish()
        event = world.receive()
        (record,) = event["Records"]
        event_id = json.loads(record["body"])["id"]
        world.stub.add_response(
            "start_ingestion_job",
            {
                "ingestionJob": {
                    "knowledgeBaseId": KB_ID,
                    "dataSourceId": DS_ID,
                    "ingestionJobId": "JOB0123456",
                    "status": "STARTING",
                    "startedAt": "2026-11-01T00:00:00Z",
                    "updatedAt": "2026-11-01T00:00:00Z",
                }
            },
            {
                "knowledgeBaseId": KB_ID,
                "dataSourceId": DS_ID,
                "clientToken": ingestion.client_token(ingestion.SyncTarget(KB_ID, DS_ID), event_id),
                "description": f"DatasetPublished {event_id}",
            },
        )
        assert world.deliver(event) == {"batchItemFailures": []}
        assert [q.body["action"] for q in world.waiting()] == ["poll"]


def test_alarms_watch_failed_ingestion_failed_documents_dead_letters_and_errors(built):
    stack = built.stacks["Knowledge"]
    template = built.templates["Knowledge"]
    alarms = {lid: r["Properties"] for lid, r in template["Resources"].items() if r["Type"] == "AWS::CloudWatch::Alarm"}
    assert len(alarms) == 4
    for props in alarms.values():
        assert props["Threshold"] == 1
        assert props["AlarmActions"] == props["OKActions"]
        assert len(props["AlarmActions"]) == 1
    by_metric = {p.get("MetricName"): p for p in alarms.values()}
    kb_id = {
        "Name": "KnowledgeBaseId",
        "Value": {"Fn::GetAtt": [built.logical_id("Knowledge", stack.knowledge_base), "KnowledgeBaseId"]},
    }
    for name in (ingestion.INGESTION_JOBS_FAILED, ingestion.DOCUMENTS_FAILED):
        assert by_metric[name]["Namespace"] == "JourneyKit/Knowledge"
        assert by_metric[name]["Dimensions"] == [kb_id]
    assert by_metric["ApproximateNumberOfMessagesVisible"]["Namespace"] == "AWS/SQS"
    assert by_metric["Errors"]["Namespace"] == "AWS/Lambda"
    # The function publishes into the namespace the alarms read.
    function = template["Resources"][built.logical_id("Knowledge", stack.sync_function.function)]
    assert function["Properties"]["Environment"]["Variables"]["POWERTOOLS_METRICS_NAMESPACE"] == "JourneyKit/Knowledge"


def test_building_block_metrics_read_what_the_sync_publishes():
    pairs = [
        (vkb.DOCUMENTS_SCANNED, ingestion.DOCUMENTS_SCANNED),
        (vkb.DOCUMENTS_INDEXED, ingestion.DOCUMENTS_INDEXED),
        (vkb.DOCUMENTS_DELETED, ingestion.DOCUMENTS_DELETED),
        (vkb.DOCUMENTS_FAILED, ingestion.DOCUMENTS_FAILED),
        (vkb.INGESTION_JOBS_SUCCEEDED, ingestion.INGESTION_JOBS_SUCCEEDED),
        (vkb.INGESTION_JOBS_FAILED, ingestion.INGESTION_JOBS_FAILED),
    ]
    assert all(a == b for a, b in pairs)


# ---------------------------------------------------------------------------- grants


def test_retrieve_and_generate_grant_names_the_knowledge_base_and_the_models(built):
    role = built.stacks["Consumer"].node.find_child("Chat")
    statements = policy_statements(built.templates["Consumer"], built.logical_id("Consumer", role))
    (kb_arn,) = {render(s["Resource"]) for s in statements if s["Action"] == "bedrock:Retrieve"}
    assert re.fullmatch(r"<Knowledge:\w*KnowledgeBase\w*>", kb_arn)
    assert [(s["Action"], s["Resource"]) for s in statements if s["Action"] != "bedrock:Retrieve"] == [
        ("bedrock:RetrieveAndGenerate", "*"),
        (
            "bedrock:InvokeModel",
            [
                f"arn:<AWS::Partition>:bedrock:<AWS::Region>:<AWS::AccountId>:inference-profile/{TEXT_MODEL}",
                "arn:<AWS::Partition>:bedrock:*::foundation-model/anthropic.claude-3-5-haiku-20241022-v1:0",
            ],
        ),
    ]


# ---------------------------------------------------------------------------- OpenSearch option


def test_opensearch_option_is_a_private_cmk_encrypted_collection_without_standby_in_dev(built):
    template = built.template("KnowledgeHybrid")
    template.resource_count_is("AWS::S3Vectors::VectorBucket", 0)
    template.has_resource_properties(
        "AWS::OpenSearchServerless::Collection", {"Type": "VECTORSEARCH", "StandbyReplicas": "DISABLED"}
    )
    policies = {
        r["Properties"]["Type"]: r["Properties"]
        for r in built.templates["KnowledgeHybrid"]["Resources"].values()
        if r["Type"] in ("AWS::OpenSearchServerless::SecurityPolicy", "AWS::OpenSearchServerless::AccessPolicy")
    }
    assert set(policies) == {"encryption", "network", "data"}

    def document(kind: str) -> Any:
        return json.loads(render(policies[kind]["Policy"]))

    encryption = document("encryption")
    assert encryption["AWSOwnedKey"] is False
    assert re.fullmatch(KEY, encryption["KmsARN"])
    (network,) = document("network")
    assert network["AllowFromPublic"] is False
    assert network["SourceServices"] == ["bedrock.amazonaws.com"]
    (access,) = document("data")
    kb_role = built.logical_id("KnowledgeHybrid", built.stacks["KnowledgeHybrid"].knowledge_base.role)
    assert f"<{kb_role}.Arn>" in access["Principal"]
    assert any("cfn-exec-role" in p for p in access["Principal"])
    assert all("*" not in permission for rule in access["Rules"] for permission in rule["Permission"])


def test_opensearch_index_and_knowledge_base_agree_on_fields_and_dimensions(built):
    template = built.template("KnowledgeHybrid")
    template.has_resource_properties(
        "AWS::OpenSearchServerless::Index",
        {
            "IndexName": "bedrock-knowledge-base-default-index",
            "Settings": {"Index": {"Knn": True, "KnnAlgoParamEfSearch": 512}},
            "Mappings": {
                "Properties": {
                    "bedrock-knowledge-base-default-vector": Match.object_like(
                        {"Type": "knn_vector", "Dimension": 512, "Method": Match.object_like({"Engine": "faiss"})}
                    ),
                    "AMAZON_BEDROCK_TEXT_CHUNK": {"Type": "text", "Index": True},
                    "AMAZON_BEDROCK_METADATA": {"Type": "text", "Index": False},
                }
            },
        },
    )
    template.has_resource_properties(
        "AWS::Bedrock::KnowledgeBase",
        Match.object_like(
            {
                "StorageConfiguration": {
                    "Type": "OPENSEARCH_SERVERLESS",
                    "OpensearchServerlessConfiguration": {
                        "CollectionArn": Match.any_value(),
                        "VectorIndexName": "bedrock-knowledge-base-default-index",
                        "FieldMapping": {
                            "VectorField": "bedrock-knowledge-base-default-vector",
                            "TextField": "AMAZON_BEDROCK_TEXT_CHUNK",
                            "MetadataField": "AMAZON_BEDROCK_METADATA",
                        },
                    },
                }
            }
        ),
    )


def test_opensearch_variant_role_uses_the_collection_and_the_hierarchical_chunking(built):
    stack = built.stacks["KnowledgeHybrid"]
    statements = policy_statements(
        built.templates["KnowledgeHybrid"], built.logical_id("KnowledgeHybrid", stack.knowledge_base.role)
    )
    assert [s["Action"] for s in statements][:2] == ["bedrock:InvokeModel", "aoss:APIAccessAll"]
    assert not any(str(s["Action"]).startswith("s3vectors") for s in statements)
    (source,) = built.template("KnowledgeHybrid").find_resources("AWS::Bedrock::DataSource").values()
    assert "InclusionPrefixes" not in source["Properties"]["DataSourceConfiguration"]["S3Configuration"]
    assert source["Properties"]["VectorIngestionConfiguration"]["ChunkingConfiguration"] == {
        "ChunkingStrategy": "HIERARCHICAL",
        "HierarchicalChunkingConfiguration": {
            "LevelConfigurations": [{"MaxTokens": 1500}, {"MaxTokens": 300}],
            "OverlapTokens": 60,
        },
    }
    rules = built.template("KnowledgeHybrid").find_resources("AWS::Events::Rule")
    (rule,) = rules.values()  # no schedule configured
    assert render(rule["Properties"]["EventBusName"]).startswith("<DataStandIn:")


# ---------------------------------------------------------------------------- whole-template checks


def test_templates_are_cfn_lint_clean(built):
    found = {name: problems(built.templates[name]) for name in ("Knowledge", "KnowledgeHybrid", "Consumer")}
    assert found == {"Knowledge": [], "KnowledgeHybrid": [], "Consumer": []}


def test_templates_pass_the_offline_iam_check(built):
    assert check(built.templates, load_allowlist()) == []


# ---------------------------------------------------------------------------- knowledge.yaml


def test_shipped_settings_are_s3_vectors_with_fixed_chunking_and_a_daily_sync():
    assert SHIPPED.vector_store == "s3vectors"
    assert SHIPPED.chunking.strategy == "fixed"
    assert SHIPPED.sync.schedule == "rate(1 day)"


def test_a_use_case_without_knowledge_yaml_gets_the_defaults(tmp_path):
    (tmp_path / "other").mkdir()
    assert load_knowledge_settings("other", root=tmp_path) == KnowledgeSettings()


@pytest.mark.parametrize(
    ("yaml_text", "field", "reason"),
    [
        ("vector_store: pinecone\n", "vector_store", "must be"),
        ("chunking:\n  strategy: sliding\n", "chunking", "does not match any of the expected tags"),
        (
            "chunking:\n  strategy: fixed\n  overlap_percentage: 100\n",
            "chunking.overlap_percentage",
            "less than or equal to 99",
        ),
        (
            "chunking:\n  strategy: hierarchical\n  parent_max_tokens: 200\n  child_max_tokens: 300\n",
            "chunking",
            "child_max_tokens must be smaller",
        ),
        ("chunking:\n  strategy: semantic\n  buffer_size: 2\n", "chunking.buffer_size", "must be 0 or 1"),
        ("sync:\n  schedule: every day\n", "sync.schedule", "EventBridge expression"),
        ("sync:\n  retry_delay_seconds: 3600\n", "sync.retry_delay_seconds", "less than or equal to 900"),
        ("chunking:\n  strategy: none\n  max_tokens: 10\n", "chunking.max_tokens", "unknown field"),
        ("- a list\n", "(file)", "must be a mapping"),
    ],
)
def test_bad_knowledge_yaml_names_the_file_field_and_reason(tmp_path, yaml_text, field, reason):
    (tmp_path / "uc").mkdir()
    (tmp_path / "uc" / "knowledge.yaml").write_text(yaml_text)
    with pytest.raises(ConfigError) as error:
        load_knowledge_settings("uc", root=tmp_path)
    assert error.value.field == field
    assert reason in error.value.reason
    assert error.value.source.endswith("uc/knowledge.yaml")
