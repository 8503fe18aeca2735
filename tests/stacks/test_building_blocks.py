"""KitFunction, SecureBucket and AlarmTopic in a small app of their own, gated by all nag packs."""

from __future__ import annotations

import importlib.metadata

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Match, Template

from stacks.app_builder import cdk_json_context
from stacks.common.buckets import SecureBucket
from stacks.common.kit_function import KitFunction
from stacks.common.nag import add_nag_packs
from stacks.common.powertools import POWERTOOLS_VERSION, powertools_parameter_name
from stacks.common.stage_policy import StagePolicy
from stacks.foundation.stack import FoundationProps, FoundationStack


@pytest.fixture(scope="module")
def blocks(tmp_path_factory) -> Template:
    app = cdk.App(outdir=str(tmp_path_factory.mktemp("blocks")), context=cdk_json_context())
    stage = StagePolicy("prod")
    foundation = FoundationStack(app, "Foundation", props=FoundationProps(name_prefix="t-prod", stage=stage))
    stack = cdk.Stack(app, "Blocks")
    bucket = SecureBucket(stack, "Data", key=foundation.key, access_logs=foundation.access_logs.bucket, stage=stage)
    reader = KitFunction(
        stack,
        "Reader",
        handler="common.clients.client",
        description="reads in/",
        service="reader",
        namespace="Blocks",
        key=foundation.key,
        stage=stage,
        environment={"BUCKET": bucket.bucket_name},
    )
    writer = KitFunction(
        stack,
        "Writer",
        handler="common.clients.client",
        description="writes out/",
        service="writer",
        namespace="Blocks",
        key=foundation.key,
        stage=stage,
        reserved_concurrency=5,
        dead_letter_queue=True,
    )
    bucket.grant_read(reader.role, "in/")
    bucket.grant_write(writer.role, "out/")
    foundation.kit_alarm_topic.grant_publish(writer.role)
    add_nag_packs(app)  # synth raises if any finding is unacknowledged
    assembly = app.synth()
    return Template.from_json(assembly.get_stack_by_name("Blocks").template)


def _decrypts_the_environment(statement: dict) -> bool:
    return "kms:EncryptionContext:aws:lambda:FunctionArn" in statement.get("Condition", {}).get("StringLike", {})


def _policy_of(template: Template, role_fragment: str) -> list[dict]:
    policies = template.find_resources("AWS::IAM::Policy")
    (policy,) = [p for p in policies.values() if role_fragment in p["Properties"]["Roles"][0]["Ref"]]
    return policy["Properties"]["PolicyDocument"]["Statement"]


def test_functions_run_python_313_on_arm_with_tracing_and_the_powertools_layer(blocks):
    blocks.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Runtime": "python3.13",
            "Architectures": ["arm64"],
            "TracingConfig": {"Mode": "Active"},
            # CDK sorts a function's layers by construct path (@aws-cdk/aws-lambda:recognizeLayerVersion) and
            # Lambda merges them in that order: Powertools' first, so the dependency layer's typing_extensions
            # replaces its copy (stacks/common/powertools.py, CONSTRUCT_ID).
            "Layers": [
                f"{{{{resolve:ssm:{powertools_parameter_name()}}}}}",
                {"Ref": Match.string_like_regexp("^DependencyLayer")},
            ],
            "LoggingConfig": Match.object_like({"LogFormat": "JSON"}),
            "Environment": {
                "Variables": Match.object_like(
                    {"POWERTOOLS_SERVICE_NAME": "reader", "POWERTOOLS_METRICS_NAMESPACE": "Blocks"}
                )
            },
        },
    )


def test_powertools_layer_matches_the_release_the_tests_use():
    assert importlib.metadata.version("aws-lambda-powertools") == POWERTOOLS_VERSION
    assert powertools_parameter_name() == f"/aws/service/powertools/python/arm64/python3.13/{POWERTOOLS_VERSION}"


def test_every_function_shares_one_code_asset(blocks):
    functions = blocks.find_resources("AWS::Lambda::Function")
    keys = {
        f["Properties"]["Code"]["S3Key"]["Fn::Sub"]
        if isinstance(f["Properties"]["Code"]["S3Key"], dict)
        else f["Properties"]["Code"]["S3Key"]
        for f in functions.values()
    }
    assert len(keys) == 1


def test_each_function_has_an_encrypted_log_group_with_stage_retention(blocks):
    groups = blocks.find_resources("AWS::Logs::LogGroup")
    assert len(groups) == 2
    for group in groups.values():
        assert group["Properties"]["RetentionInDays"] == 365
        assert "KmsKeyId" in group["Properties"]
        assert group["DeletionPolicy"] == "Retain"


def test_reader_may_read_only_its_prefix_and_decrypt_only_through_s3(blocks):
    statements = [s for s in _policy_of(blocks, "Reader") if not _decrypts_the_environment(s)]
    by_action = {tuple(sorted(s["Action"])) if isinstance(s["Action"], list) else (s["Action"],): s for s in statements}
    assert set(by_action) == {
        ("logs:CreateLogStream", "logs:PutLogEvents"),
        ("xray:PutTelemetryRecords", "xray:PutTraceSegments"),
        ("s3:GetObject",),
        ("s3:ListBucket",),
        ("kms:Decrypt",),
    }
    assert by_action[("s3:GetObject",)]["Resource"]["Fn::Join"][1][-1] == "/in/*"
    assert by_action[("s3:ListBucket",)]["Condition"] == {"StringLike": {"s3:prefix": ["in/*"]}}
    via = by_action[("kms:Decrypt",)]["Condition"]["StringEquals"]["kms:ViaService"]
    assert via == {"Fn::Join": ["", ["s3.", {"Ref": "AWS::Region"}, ".amazonaws.com"]]}


def test_writer_may_write_only_its_prefix_and_send_to_its_dlq(blocks):
    statements = _policy_of(blocks, "Writer")
    actions = sorted(a for s in statements for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]]))
    assert actions == sorted(
        [
            "logs:CreateLogStream",
            "logs:PutLogEvents",
            "xray:PutTraceSegments",
            "xray:PutTelemetryRecords",
            "kms:Decrypt",  # its environment
            "s3:PutObject",
            "kms:Decrypt",
            "kms:GenerateDataKey",
            "sqs:SendMessage",
            "kms:Decrypt",
            "kms:GenerateDataKey",
            "sns:Publish",
            "kms:Decrypt",
            "kms:GenerateDataKey",
        ]
    )
    vias = [
        s["Condition"]["StringEquals"]["kms:ViaService"]["Fn::Join"][1][0]
        for s in statements
        if not _decrypts_the_environment(s) and "Condition" in s
    ]
    assert sorted(vias) == ["s3.", "sns.", "sqs."]


def test_dead_letter_queue_is_cmk_encrypted_and_wired(blocks):
    blocks.has_resource_properties("AWS::SQS::Queue", {"KmsMasterKeyId": Match.any_value()})
    blocks.has_resource_properties(
        "AWS::Lambda::Function",
        {"DeadLetterConfig": {"TargetArn": Match.any_value()}, "ReservedConcurrentExecutions": 5},
    )


def test_secure_bucket_defaults(blocks):
    blocks.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [
                    Match.object_like(
                        {
                            "BucketKeyEnabled": True,
                            "ServerSideEncryptionByDefault": Match.object_like({"SSEAlgorithm": "aws:kms"}),
                        }
                    )
                ]
            },
            "VersioningConfiguration": {"Status": "Enabled"},
            "LoggingConfiguration": Match.object_like({"LogFilePrefix": Match.any_value()}),
            "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
        },
    )
    blocks.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like({"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}),
                        Match.object_like({"Effect": "Deny", "Condition": {"NumericLessThan": {"s3:TlsVersion": 1.2}}}),
                    ]
                )
            }
        },
    )


def test_function_environments_are_encrypted_with_the_kit_key_and_decrypted_only_as_lambda_environments(blocks):
    functions = blocks.find_resources("AWS::Lambda::Function")
    assert len(functions) == 2
    for function in functions.values():  # checkov CKV_AWS_173
        assert "KmsKeyArn" in function["Properties"]
    for role in ("Reader", "Writer"):
        (decrypt,) = [s for s in _policy_of(blocks, role) if _decrypts_the_environment(s)]
        assert decrypt["Action"] == "kms:Decrypt"
        assert decrypt["Resource"] == functions[next(iter(functions))]["Properties"]["KmsKeyArn"]
        (pattern,) = decrypt["Condition"]["StringLike"].values()
        assert list(decrypt["Condition"]["StringLike"]) == ["kms:EncryptionContext:aws:lambda:FunctionArn"]
        assert pattern["Fn::Join"][1][-1] == ":function:*"
