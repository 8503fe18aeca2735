"""Deployment traps that synth, cfn-lint and the nag packs cannot see (issue 18), each pinned as AWS documents it.

Every test names the AWS page it follows; docs/deploy.md ("Known deployment traps") lists them. They read the
session's synthesized templates (both stages, environment-agnostic) unless a setting only a smaller app has
(custom safety models, the Powertools layer ARN) is needed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import cfnlint
import pytest
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_

from stacks.app_builder import build_app, cdk_json_context
from stacks.common.buckets import AccessLogBucket, SecureBucket
from stacks.common.kit_function import KitFunction
from stacks.common.kms_key import KitKey
from stacks.common.powertools import LAYER_ACCOUNT, POWERTOOLS_VERSION, PowertoolsLayerSource
from stacks.common.stage_policy import StagePolicy
from stacks.common.vector_knowledge_base import VectorKnowledgeBase
from stacks.config import ConfigError, kit_config_from_context
from stacks.foundation.stack import FoundationProps, FoundationStack
from stacks.guardrails.policy import load_guardrail_policy
from stacks.guardrails.safety_settings import SafetyConfig, load_safety_config
from stacks.guardrails.stack import GuardrailsProps, GuardrailsStack
from tools.iam_check import statements

PREFIX = "journey-customer-retention"
STAGES = ("dev", "prod")
TOPIC_PUBLISHERS = {  # (resource type, property) that makes a service publish to a topic -> the service
    ("AWS::CloudWatch::Alarm", "AlarmActions"): "cloudwatch.amazonaws.com",
    ("AWS::CloudWatch::Alarm", "OKActions"): "cloudwatch.amazonaws.com",
    ("AWS::CloudWatch::Alarm", "InsufficientDataActions"): "cloudwatch.amazonaws.com",
    # a composite alarm's ARN is an alarm ARN too (arn:...:cloudwatch:<region>:<account>:alarm:<name>)
    ("AWS::CloudWatch::CompositeAlarm", "AlarmActions"): "cloudwatch.amazonaws.com",
    ("AWS::CloudWatch::CompositeAlarm", "OKActions"): "cloudwatch.amazonaws.com",
    ("AWS::Events::Rule", "Targets"): "events.amazonaws.com",
    ("AWS::S3::Bucket", "NotificationConfiguration"): "s3.amazonaws.com",
}
NOT_PUBLISHERS = {  # references to the topic that publish nothing as a service
    ("AWS::SNS::TopicPolicy", "Topics"),
    ("AWS::SNS::TopicPolicy", "PolicyDocument"),
    ("AWS::SNS::Subscription", "TopicArn"),
    ("AWS::IAM::Policy", "PolicyDocument"),  # an identity publishing with IAM (same account)
}


def stack(part: str, stage: str = "dev") -> str:
    return f"{PREFIX}-{stage}-{part}"


def resources(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == resource_type}


def sub(value: Any) -> Any:
    """Intrinsics as readable text, as test_knowledge renders them: Ref -> <Id>, Fn::Join joined."""
    if isinstance(value, list):
        return [sub(v) for v in value]
    if isinstance(value, dict):
        if "Fn::Join" in value:
            separator, parts = value["Fn::Join"]
            return separator.join(str(sub(p)) for p in parts)
        if "Ref" in value:
            return f"<{value['Ref']}>"
        if "Fn::GetAtt" in value:
            return "<{}.{}>".format(*value["Fn::GetAtt"])
        return {k: sub(v) for k, v in value.items()}
    return value


def walk(value: Any) -> Iterator[Any]:
    yield value
    if isinstance(value, dict):
        for item in value.values():
            yield from walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from walk(item)


# ------------------------------------------------------------------------------------- 1. the alarm topic


def topic_references(synth, stage: str) -> Iterator[tuple[str, str]]:
    """(resource type, top-level property) of every reference to the stage's alarm topic, in every stack."""
    foundation = synth.templates[stack("Foundation", stage)]
    (topic_id,) = resources(foundation, "AWS::SNS::Topic")
    outputs = {name for name, o in foundation.get("Outputs", {}).items() if o["Value"] == {"Ref": topic_id}}
    for name, template in synth.templates.items():
        if f"-{stage}-" not in name:
            continue
        for resource in template["Resources"].values():
            for prop, value in resource.get("Properties", {}).items():
                for node in walk(value):
                    own = name == stack("Foundation", stage) and node == {"Ref": topic_id}
                    imported = (
                        isinstance(node, dict)
                        and "Fn::GetStackOutput" in node
                        and node["Fn::GetStackOutput"]["StackName"] == stack("Foundation", stage)
                        and node["Fn::GetStackOutput"]["OutputName"] in outputs
                    )
                    if own or imported:
                        yield resource["Type"], prop
                        break


@pytest.mark.parametrize("stage", STAGES)
def test_every_service_that_publishes_to_the_alarm_topic_is_allowed_with_source_conditions(synth, stage):
    """AWS knowledge center "Why didn't I receive an SNS notification when my CloudWatch alarm triggered?"
    (cloudwatch-receive-sns-for-alarm-trigger): an `AWS::SNS::TopicPolicy` replaces the topic's default access
    policy, so each publishing service needs an Allow, restricted with `aws:SourceAccount` / `aws:SourceArn`.
    Every reference to the topic in every stack is classified; an unknown one fails until it is."""
    references = set(topic_references(synth, stage))
    unknown = references - TOPIC_PUBLISHERS.keys() - NOT_PUBLISHERS
    assert unknown == set(), f"classify these references to the alarm topic: {unknown}"
    publishers = {TOPIC_PUBLISHERS[r] for r in references if r in TOPIC_PUBLISHERS}
    assert publishers == {"cloudwatch.amazonaws.com"}  # alarms in Foundation, Data and Knowledge; nothing else
    (policy,) = resources(synth.templates[stack("Foundation", stage)], "AWS::SNS::TopicPolicy").values()
    allowed = {
        s["Principal"]["Service"]: s
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if s["Effect"] == "Allow"
    }
    assert set(allowed) == publishers
    for statement in allowed.values():
        assert set(statement["Condition"]) == {"StringEquals", "ArnLike"}
        assert set(statement["Condition"]["StringEquals"]) == {"aws:SourceAccount"}
        assert set(statement["Condition"]["ArnLike"]) == {"aws:SourceArn"}


def test_alarm_topic_policy_allows_cloudwatch_alarms_of_this_account_and_region_only(synth):
    """AWS knowledge center, cloudwatch-receive-sns-for-alarm-trigger: the Allow for `cloudwatch.amazonaws.com`
    with `sns:Publish` on the topic, restricted by `aws:SourceArn` (ArnLike on the account's alarm ARNs) and
    `aws:SourceAccount`; the TLS-only Deny stays."""
    foundation = synth.templates[stack("Foundation")]
    (topic_id,) = resources(foundation, "AWS::SNS::Topic")
    (policy,) = resources(foundation, "AWS::SNS::TopicPolicy").values()
    statements_ = [sub(s) for s in policy["Properties"]["PolicyDocument"]["Statement"]]
    assert {
        "Sid": "CloudWatchAlarmsPublish",
        "Effect": "Allow",
        "Principal": {"Service": "cloudwatch.amazonaws.com"},
        "Action": "sns:Publish",
        "Resource": f"<{topic_id}>",
        "Condition": {
            "StringEquals": {"aws:SourceAccount": "<AWS::AccountId>"},
            "ArnLike": {"aws:SourceArn": "arn:<AWS::Partition>:cloudwatch:<AWS::Region>:<AWS::AccountId>:alarm:*"},
        },
    } in statements_
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in statements_
    )
    # The key policy lets CloudWatch encrypt for the topic under the same conditions.
    (key,) = resources(foundation, "AWS::KMS::Key").values()
    (cloudwatch,) = [
        sub(s)
        for s in key["Properties"]["KeyPolicy"]["Statement"]
        if s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}
    ]
    assert cloudwatch["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert cloudwatch["Condition"] == {
        "StringEquals": {"aws:SourceAccount": "<AWS::AccountId>"},
        "ArnLike": {"aws:SourceArn": "arn:<AWS::Partition>:cloudwatch:<AWS::Region>:<AWS::AccountId>:alarm:*"},
    }


def test_another_publishing_service_gets_the_same_topic_and_key_statements():
    """AWS knowledge center, cloudwatch-receive-sns-for-alarm-trigger (and the SNS access-control examples it
    links): a publisher such as an EventBridge rule needs its own Allow with `aws:SourceArn`; the building block
    adds it with the key statement, so a stack that adds a publisher cannot forget one of the two."""
    app = cdk.App(context=cdk_json_context())
    foundation = FoundationStack(app, "F", props=FoundationProps(name_prefix="traps-dev", stage=StagePolicy("dev")))
    rule_arn = foundation.format_arn(service="events", resource="rule", resource_name="traps-dev-findings")
    foundation.kit_alarm_topic.allow_service_publish("FindingsRule", "events.amazonaws.com", source_arn=rule_arn)
    template = app.synth().get_stack_by_name("F").template
    (policy,) = resources(template, "AWS::SNS::TopicPolicy").values()
    (events,) = [
        sub(s) for s in policy["Properties"]["PolicyDocument"]["Statement"] if s.get("Sid") == "FindingsRulePublish"
    ]
    condition = {
        "StringEquals": {"aws:SourceAccount": "<AWS::AccountId>"},
        "ArnLike": {
            "aws:SourceArn": "arn:<AWS::Partition>:events:<AWS::Region>:<AWS::AccountId>:rule/traps-dev-findings"
        },
    }
    assert events["Principal"] == {"Service": "events.amazonaws.com"}
    assert events["Action"] == "sns:Publish"
    assert events["Condition"] == condition
    (key,) = resources(template, "AWS::KMS::Key").values()
    (key_statement,) = [
        sub(s)
        for s in key["Properties"]["KeyPolicy"]["Statement"]
        if s.get("Principal") == {"Service": "events.amazonaws.com"}
    ]
    assert key_statement["Condition"] == condition


def test_the_alarm_on_failed_notifications_says_where_it_pages(synth):
    """SNS `NumberOfNotificationsFailed` (Amazon SNS metrics): the alarm on it notifies the same topic, which
    cannot reach the subscription that failed; its description says where to see it instead."""
    alarms = resources(synth.templates[stack("Foundation")], "AWS::CloudWatch::Alarm").values()
    (failed,) = [a for a in alarms if a["Properties"]["MetricName"] == "NumberOfNotificationsFailed"]
    description = failed["Properties"]["AlarmDescription"]
    for words in ("cannot reach the broken subscription", "CloudWatch", "console", "second channel", "docs/deploy.md"):
        assert words in description
    assert "DeliveryFailedAlarmName" in synth.templates[stack("Foundation")]["Outputs"]


# ------------------------------------------------------------------------------------- 2. the audit trail


def test_cloudtrail_may_decrypt_for_the_bucket_key_of_its_trail_bucket_only(synth):
    """CloudTrail User Guide, "Configure AWS KMS key policies for CloudTrail" (required KMS key policy elements
    for trails): with SSE-KMS and an S3 Bucket Key on the trail bucket, CloudTrail needs `kms:Decrypt` to create
    or update the trail; GenerateDataKey, Decrypt and DescribeKey each carry `aws:SourceArn` of this trail."""
    data = synth.templates[stack("Data")]
    (trail,) = resources(data, "AWS::CloudTrail::Trail").values()
    trail_name = trail["Properties"]["TrailName"]
    bucket = data["Resources"][trail["Properties"]["S3BucketName"]["Ref"]]
    (rule,) = bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["BucketKeyEnabled"] is True  # the case the guide's Decrypt requirement is about
    (key,) = resources(synth.templates[stack("Foundation")], "AWS::KMS::Key").values()
    cloudtrail = {
        s["Action"]: s
        for s in (sub(s) for s in key["Properties"]["KeyPolicy"]["Statement"])
        if s.get("Principal") == {"Service": "cloudtrail.amazonaws.com"}
    }
    assert set(cloudtrail) == {"kms:GenerateDataKey", "kms:Decrypt", "kms:DescribeKey"}
    trail_arn = f"arn:<AWS::Partition>:cloudtrail:<AWS::Region>:<AWS::AccountId>:trail/{trail_name}"
    for action, statement in cloudtrail.items():
        assert statement["Condition"]["StringEquals"] == {"aws:SourceArn": trail_arn}, action
    assert cloudtrail["kms:Decrypt"]["Condition"] == {"StringEquals": {"aws:SourceArn": trail_arn}}
    assert cloudtrail["kms:GenerateDataKey"]["Condition"]["StringLike"] == {
        "kms:EncryptionContext:aws:cloudtrail:arn": "arn:<AWS::Partition>:cloudtrail:*:<AWS::AccountId>:trail/*"
    }


# ------------------------------------------------------------------------------------- 3. KMS grants


GRANT_ACTIONS = {"kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"}


def _with_train(safety: SafetyConfig, train: list[str]) -> SafetyConfig:
    data = safety.model_dump(mode="json")
    data["custom_models"]["train"] = train
    return SafetyConfig.model_validate(data)


@pytest.fixture(scope="module")
def custom_models_templates() -> dict[str, dict[str, Any]]:
    """Foundation and a Guardrails stack that trains the custom safety models (its role creates KMS grants)."""
    app = cdk.App(context=cdk_json_context())
    stage = StagePolicy("dev")
    foundation = FoundationStack(app, "F", props=FoundationProps(name_prefix="grants-dev", stage=stage))
    GuardrailsStack(
        app,
        "G",
        props=GuardrailsProps(
            key=foundation.key,
            stage=stage,
            usecase_id="customer-retention",
            policy=load_guardrail_policy("customer-retention"),
            name_prefix="grants-dev",
            safety=_with_train(load_safety_config("customer-retention"), ["dev"]),
            custom_models=True,
            access_logs=foundation.access_logs.bucket,
        ),
    )
    assembly = app.synth()
    return {s.stack_name: s.template for s in assembly.stacks}


def test_kms_grants_are_delegated_for_aws_resources_only(synth, custom_models_templates):
    """AWS KMS Developer Guide, condition key `kms:GrantIsForAWSResource` (and Control Tower's proactive control
    for KMS keys): CreateGrant, ListGrants and RevokeGrant only when an integrated AWS service asks, in every
    key policy and IAM policy of the kit, the Comprehend data-access role of the custom models included."""
    templates = {**synth.templates, **custom_models_templates}
    granting = []
    for statement in statements(templates):
        body = statement.body
        actions = set(body["Action"] if isinstance(body["Action"], list) else [body["Action"]])
        if body["Effect"] != "Allow" or not actions & GRANT_ACTIONS:
            continue
        granting.append(statement.where)
        assert body.get("Condition", {}).get("Bool") == {"kms:GrantIsForAWSResource": "true"}, statement.where
    kinds = " ".join(granting)  # both places the kit grants were checked
    assert "AWS::KMS::Key" in kinds
    assert "AWS::IAM::Policy" in kinds


# ------------------------------------------------------------------------------------- 4. Step Functions logs


def test_state_machines_log_under_vended_logs_with_a_name_unique_per_use_case_and_stage(synth):
    """Step Functions Developer Guide, "Avoiding CloudWatch Logs resource policy size restrictions": the
    account's CloudWatch Logs resource policy is capped at 5,120 characters and each log group a state machine
    logs to is added to it, unless its name starts with `/aws/vendedlogs/`. Log group names: 512 characters."""
    names = []
    for name, template in synth.templates.items():
        for machine in resources(template, "AWS::StepFunctions::StateMachine").values():
            for destination in machine["Properties"]["LoggingConfiguration"]["Destinations"]:
                log_group_id = destination["CloudWatchLogsLogGroup"]["LogGroupArn"]["Fn::GetAtt"][0]
                log_group = template["Resources"][log_group_id]["Properties"]
                stage_prefix = name.rsplit("-", 1)[0]  # <prefix>-<stage>
                assert log_group["LogGroupName"].startswith(f"/aws/vendedlogs/states/{stage_prefix}-"), name
                assert len(log_group["LogGroupName"]) <= 512
                names.append(log_group["LogGroupName"])
    assert sorted(names) == [
        f"/aws/vendedlogs/states/{PREFIX}-dev-data-pipeline",
        f"/aws/vendedlogs/states/{PREFIX}-dev-quality-evaluation",  # the Observability stack's evaluation
        f"/aws/vendedlogs/states/{PREFIX}-prod-data-pipeline",
        f"/aws/vendedlogs/states/{PREFIX}-prod-quality-evaluation",
    ]


# ------------------------------------------------------------------------------------- 5. the Powertools layer


def test_powertools_layer_arn_fallback_uses_the_published_layer_of_the_configured_version():
    """Powertools for AWS Lambda (Python) docs, "Lambda Layer": arn:aws:lambda:{region}:017000801446:layer:
    AWSLambdaPowertoolsPythonV3-{python_version}-{arch}:{version}; used where the SSM parameter is missing."""
    app = cdk.App(context=cdk_json_context())
    stack_ = cdk.Stack(app, "S")
    stage = StagePolicy("dev", powertools=PowertoolsLayerSource("arn", 27))
    key = KitKey(stack_, "Key", alias="alias/traps", description="test", removal_policy=cdk.RemovalPolicy.DESTROY)
    KitFunction(
        stack_, "Fn", handler="x.handler", description="d", service="s", namespace="N", key=key.key, stage=stage
    )
    (function,) = resources(app.synth().get_stack_by_name("S").template, "AWS::Lambda::Function").values()
    assert [sub(layer) for layer in function["Properties"]["Layers"]] == [
        f"arn:<AWS::Partition>:lambda:<AWS::Region>:{LAYER_ACCOUNT}:layer:AWSLambdaPowertoolsPythonV3-python313-arm64:27",
        "<DependencyLayer45F9B859>",  # the stack's own (stacks/common/dependency_layer.py); CDK sorts by path
    ]


def test_powertools_layer_setting_needs_a_version_with_arn_and_reaches_every_function():
    """Powertools docs, "Lambda Layer" (the published ARN carries the layer version): `-c powertools_layer=arn`
    without `powertools_layer_version` is a config error; with it, every function of the stage uses the ARN."""
    with pytest.raises(ConfigError) as error:
        kit_config_from_context({"powertools_layer": "arn"})
    assert error.value.field == "powertools_layer_version"
    with pytest.raises(ConfigError):
        kit_config_from_context({"powertools_layer_version": 27})  # only meaningful with arn
    with pytest.raises(ValueError, match="layer version"):
        PowertoolsLayerSource("arn")
    app = cdk.App(
        context=cdk_json_context(
            powertools_layer="arn",
            powertools_layer_version=27,
            **{
                "features.knowledge": False,
                "features.guardrails": False,
                "features.agent": False,
                "features.api": False,
            },
        )
    )
    (stage,) = build_app(app)  # constructs only: no synth, no nag run
    assert stage.data is not None
    layers: set[str] = set()
    for step in stage.data.functions.values():
        function = step.function.node.default_child
        assert isinstance(function, lambda_.CfnFunction)
        layers.update(str(sub(layer)) for layer in stage.data.resolve(function.layers))
    assert {layer for layer in layers if "owertools" in layer} == {
        f"arn:<AWS::Partition>:lambda:<AWS::Region>:{LAYER_ACCOUNT}:layer:AWSLambdaPowertoolsPythonV3-python313-arm64:27"
    }


def test_every_function_of_the_kit_uses_the_ssm_parameter_of_the_pinned_release_by_default(synth):
    """Powertools docs, "Using SSM Parameter Store": /aws/service/powertools/python/<arch>/<python>/<version>
    holds the layer ARN in each region where it is published; `make deploy`'s preflight checks it exists."""
    layers = {
        json.dumps(layer)
        for template in synth.templates.values()
        for function in resources(template, "AWS::Lambda::Function").values()
        for layer in function["Properties"].get("Layers", [])  # CDK's own providers have none
        if "powertools" in json.dumps(layer).lower()
    }
    assert layers == {f'"{{{{resolve:ssm:/aws/service/powertools/python/arm64/python3.13/{POWERTOOLS_VERSION}}}}}"'}


def test_every_function_merges_the_kits_layers_over_the_powertools_layer(synth):
    """Lambda merges a function's layers in the listed order, a later file replacing an earlier one ("Adding
    layers to functions"). The dependency layer ships typing_extensions 4.16 for anyio, which the Powertools
    layer bundles at an older version of its own (requirements-lambda.txt): in every function the Powertools
    layer must come first, so the kit's copy is the one imported."""
    checked = 0
    for stack, function_id, function in synth.resources("AWS::Lambda::Function"):
        layers = [json.dumps(layer) for layer in function["Properties"].get("Layers", [])]
        powertools = [i for i, layer in enumerate(layers) if "powertools" in layer.lower()]
        if not powertools:
            continue  # CDK's own providers
        kits = [i for i, layer in enumerate(layers) if "DependencyLayer" in layer or "EvaluationLayer" in layer]
        assert kits, f"{stack}/{function_id}"
        assert len(powertools) == 1, f"{stack}/{function_id}: {layers}"
        assert powertools[0] < min(kits), f"{stack}/{function_id}: {layers}"
        checked += 1
    assert checked >= 30


# ------------------------------------------------------------------------------------- 6. weak references


def _create_only(resource_type: str) -> list[str]:
    schemas = Path(cfnlint.__file__).parent / "data" / "schemas"
    providers = json.loads((schemas / "providers" / "us-east-1.json").read_text())
    if resource_type not in providers:
        return []
    schema = json.loads((schemas / "resources" / f"{providers[resource_type]}.json").read_text())
    return [p.split("/")[2] for p in schema.get("createOnlyProperties", [])]


def test_no_custom_name_on_a_resource_replaced_through_a_cross_stack_value(synth):
    """AWS CloudFormation User Guide, resource names ("If you specify a name, you can't perform updates that
    require replacement"), with `Fn::GetStackOutput` (weak cross-stack references), whose value a change set may
    only know after apply: a resource with a replacement-only property taking such a value has no custom name
    (cfn-lint's bundled schemas say which properties are create-only). The S3 vector bucket is one."""
    checked = []
    for name, template in synth.templates.items():
        for logical_id, resource in template["Resources"].items():
            props = resource.get("Properties", {})
            create_only = _create_only(resource["Type"])
            cross = [p for p in create_only if p in props and "Fn::GetStackOutput" in json.dumps(props[p])]
            if not cross:
                continue
            checked.append(resource["Type"])
            named = [p for p in create_only if p.endswith("Name") and p in props and p not in cross]
            assert named == [], (
                f"{name}/{logical_id}: {named} with cross-stack {cross}: leave the name to CloudFormation"
            )
    assert "AWS::S3Vectors::VectorBucket" in checked


def test_a_custom_vector_bucket_name_narrows_the_indexing_key_statement_to_that_bucket():
    """Amazon S3 User Guide, S3 Vectors encryption with AWS KMS (`indexing.s3vectors.amazonaws.com` needs
    kms:Decrypt): a caller who names the bucket gets the statement for exactly that bucket and its indexes."""
    app = cdk.App(context=cdk_json_context())
    stack_ = cdk.Stack(app, "S")
    key = kms.Key(stack_, "Key")
    VectorKnowledgeBase(stack_, "Kb", encryption_key=key, vector_bucket_name="named-vectors")
    template = app.synth().get_stack_by_name("S").template
    (key_resource,) = resources(template, "AWS::KMS::Key").values()
    (indexing,) = [
        sub(s)
        for s in key_resource["Properties"]["KeyPolicy"]["Statement"]
        if s.get("Principal") == {"Service": "indexing.s3vectors.amazonaws.com"}
    ]
    bucket = "arn:<AWS::Partition>:s3vectors:<AWS::Region>:<AWS::AccountId>:bucket/named-vectors"
    assert indexing["Condition"]["ArnLike"] == {"aws:SourceArn": [bucket, f"{bucket}/*"]}
    (vector_bucket,) = resources(template, "AWS::S3Vectors::VectorBucket").values()
    assert vector_bucket["Properties"]["VectorBucketName"] == "named-vectors"


# ------------------------------------------------------------------------------------- 7. IAM propagation


def test_the_knowledge_base_waits_for_its_role_policy(synth):
    """Amazon Bedrock User Guide, "Create a service role for Amazon Bedrock Knowledge Bases" (Bedrock checks the
    role's access to the vector store at create time, "storage configuration provided is invalid" otherwise),
    in the order awslabs/generative-ai-cdk-constructs uses: the knowledge base depends on the role's policy."""
    for stage in STAGES:
        template = synth.templates[stack("Knowledge", stage)]
        (kb,) = resources(template, "AWS::Bedrock::KnowledgeBase").values()
        role_id = kb["Properties"]["RoleArn"]["Fn::GetAtt"][0]
        (policy_id,) = [
            logical_id
            for logical_id, policy in resources(template, "AWS::IAM::Policy").items()
            if {"Ref": role_id} in policy["Properties"]["Roles"]
        ]
        assert policy_id in kb["DependsOn"]


# ------------------------------------------------------------------------------------- 8. access-log delivery


@pytest.mark.parametrize("stage", STAGES)
def test_s3_log_delivery_is_allowed_only_for_this_accounts_buckets_on_their_prefixes(synth, stage):
    """Amazon S3 User Guide, "Enabling Amazon S3 server access logging" (permissions for log delivery): grant
    `logging.s3.amazonaws.com` s3:PutObject with `aws:SourceArn` and `aws:SourceAccount`; with many source
    buckets, SourceArn `arn:aws:s3:::*` restricted by SourceAccount. Every logged bucket's prefix is covered."""
    foundation = synth.templates[stack("Foundation", stage)]
    (bucket_id,) = [
        logical_id
        for logical_id, bucket in resources(foundation, "AWS::S3::Bucket").items()
        if "LoggingConfiguration" not in bucket["Properties"]
    ]
    (policy,) = [
        p
        for p in resources(foundation, "AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": bucket_id}
    ]
    delivery = [
        sub(s)
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if s.get("Principal") == {"Service": "logging.s3.amazonaws.com"}
    ]
    assert len(delivery) == 1
    (statement,) = delivery
    assert statement["Effect"] == "Allow"
    assert statement["Action"] == "s3:PutObject"
    assert statement["Condition"] == {
        "ArnLike": {"aws:SourceArn": "arn:<AWS::Partition>:s3:::*"},
        "StringEquals": {"aws:SourceAccount": "<AWS::AccountId>"},
    }
    allowed = set(statement["Resource"])
    logged = []
    for name, template in synth.templates.items():
        if f"-{stage}-" not in name:
            continue
        for bucket in resources(template, "AWS::S3::Bucket").values():
            logging = bucket["Properties"].get("LoggingConfiguration")
            if logging is None:
                continue
            prefix = logging["LogFilePrefix"]
            logged.append(prefix)
            assert f"<{bucket_id}.Arn>/{prefix}*" in allowed, prefix
    assert len(logged) == len(allowed) >= 5  # raw, curated, quarantine, reports, audit logs; nothing unused


def test_a_bucket_logging_to_a_target_in_its_own_stack_names_itself_as_source():
    """Amazon S3 User Guide, "Enabling Amazon S3 server access logging": `aws:SourceArn` is the source bucket
    when it can be named without a cross-stack cycle."""
    app = cdk.App(context=cdk_json_context())
    stack_ = cdk.Stack(app, "S")
    stage = StagePolicy("dev")
    key = KitKey(stack_, "Key", alias="alias/logs", description="test", removal_policy=cdk.RemovalPolicy.DESTROY)
    logs = AccessLogBucket(stack_, "Logs", stage=stage)
    source = SecureBucket(stack_, "Source", key=key.key, access_logs=logs.bucket, stage=stage)
    template = app.synth().get_stack_by_name("S").template
    (delivery,) = [
        sub(s)
        for policy in resources(template, "AWS::S3::BucketPolicy").values()
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if s.get("Principal") == {"Service": "logging.s3.amazonaws.com"}
    ]
    source_id = stack_.get_logical_id(source.bucket.node.default_child)  # type: ignore[arg-type]
    assert delivery["Condition"]["ArnLike"] == {"aws:SourceArn": f"<{source_id}.Arn>"}
