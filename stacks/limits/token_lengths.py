"""The longest value each token resolves to once deployed: pseudo parameters, dynamic references, and
the `Ref` and `Fn::GetAtt` values of each resource type the kit uses.

The limits check counts a token at these lengths, so an estimate is never short; docs/limits.md lists
them (`make docs`). A type missing here is counted at `UNKNOWN_TOKEN` and named in the message.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

# Pseudo parameters. Region and partition leave room above today's longest (us-isof-south-1: 15,
# aws-us-gov: 10); URL suffix: amazonaws.com.cn.
PSEUDO: dict[str, int] = {
    "AWS::AccountId": 12,
    "AWS::Region": 20,
    "AWS::Partition": 10,
    "AWS::URLSuffix": 16,
    "AWS::NoValue": 0,
}
# A token nothing here describes: counted as the longest ARN (IAM's 2,048), and reported.
UNKNOWN_TOKEN = 2048
# A CloudFormation parameter value is at most 4,096 bytes.
PARAMETER_VALUE = 4096
# `{{resolve:<service>:...}}` dynamic references: the longest value each service stores.
DYNAMIC_REFERENCE = {"ssm": 4096, "ssm-secure": 4096, "secretsmanager": 65_536}
# A `{{resolve:<service>:...}}` dynamic reference; group 1 is the service.
RESOLVE_REFERENCE = re.compile(r"\{\{resolve:([a-z-]+):[^}]*\}\}")

_ARN = "arn:{partition}:{service}:{region}:{account}:"


def arn(service: str, rest: str) -> str:
    """An ARN pattern of ``service``, its partition, region and account left as placeholders."""
    return _ARN.replace("{service}", service) + rest


@dataclass(frozen=True)
class Resolved:
    """What `Ref` and `Fn::GetAtt` of one resource type resolve to, as patterns.

    In a pattern, ``{name}`` is the resource's name (``name_property`` when the template sets it, else
    ``name_max`` characters), ``{partition}``, ``{region}``, ``{account}`` and ``{urlsuffix}`` are the
    pseudo parameters, ``{n:N}`` stands for N characters (an id of fixed length) and ``{prop:P|d}`` for
    the resource's property P (default d).
    """

    name_property: str | None
    name_max: int
    ref: str
    attributes: Mapping[str, str] = field(default_factory=dict)
    ref_note: str = ""


def _named(name_property: str, name_max: int, ref: str, **attributes: str) -> Resolved:
    return Resolved(name_property, name_max, ref, attributes)


RESOLVED: dict[str, Resolved] = {
    "AWS::S3::Bucket": _named(
        "BucketName",
        63,
        "{name}",
        Arn="arn:{partition}:s3:::{name}",
        DomainName="{name}.s3.{urlsuffix}",
        RegionalDomainName="{name}.s3.{region}.{urlsuffix}",
        DualStackDomainName="{name}.s3.dualstack.{region}.{urlsuffix}",
        WebsiteURL="http://{name}.s3-website.{region}.{urlsuffix}",
    ),
    "AWS::DynamoDB::Table": _named(
        "TableName",
        255,
        "{name}",
        Arn=arn("dynamodb", "table/{name}"),
        StreamArn=arn("dynamodb", "table/{name}/stream/{n:23}"),
    ),
    "AWS::SecretsManager::Secret": _named(
        "Name", 512, arn("secretsmanager", "secret:{name}-{n:6}"), Id=arn("secretsmanager", "secret:{name}-{n:6}")
    ),
    "AWS::Lambda::Function": _named("FunctionName", 64, "{name}", Arn=arn("lambda", "function:{name}")),
    "AWS::Lambda::LayerVersion": _named(
        "LayerName", 140, arn("lambda", "layer:{name}:{n:10}"), LayerVersionArn=arn("lambda", "layer:{name}:{n:10}")
    ),
    "AWS::Lambda::EventSourceMapping": _named("", 0, "{n:36}", EventSourceMappingArn=arn("lambda", "{n:48}")),
    "AWS::SQS::Queue": _named(
        "QueueName",
        80,
        "https://sqs.{region}.{urlsuffix}/{account}/{name}",
        Arn=arn("sqs", "{name}"),
        QueueName="{name}",
        QueueUrl="https://sqs.{region}.{urlsuffix}/{account}/{name}",
    ),
    "AWS::SNS::Topic": _named(
        "TopicName", 256, arn("sns", "{name}"), TopicArn=arn("sns", "{name}"), TopicName="{name}"
    ),
    "AWS::StepFunctions::StateMachine": _named(
        "StateMachineName",
        80,
        arn("states", "stateMachine:{name}"),
        Arn=arn("states", "stateMachine:{name}"),
        Name="{name}",
    ),
    # A rule on a custom bus resolves to "<bus>|<rule>"; its ARN names the bus (at most 256 characters).
    "AWS::Events::Rule": _named("Name", 64, "{n:256}|{name}", Arn=arn("events", "rule/{n:256}/{name}")),
    "AWS::Events::EventBus": _named("Name", 256, "{name}", Arn=arn("events", "event-bus/{name}"), Name="{name}"),
    "AWS::KMS::Key": _named("", 0, "{n:36}", Arn=arn("kms", "key/{n:36}"), KeyId="{n:36}"),
    "AWS::KMS::Alias": _named("AliasName", 256, "{name}"),
    "AWS::Logs::LogGroup": _named("LogGroupName", 512, "{name}", Arn=arn("logs", "log-group:{name}:*")),
    "AWS::IAM::Role": _named(
        "RoleName", 64, "{name}", Arn="arn:{partition}:iam::{account}:role{prop:Path|/}{name}", RoleId="{n:128}"
    ),
    "AWS::IAM::ManagedPolicy": _named(
        "ManagedPolicyName",
        128,
        "arn:{partition}:iam::{account}:policy{prop:Path|/}{name}",
        PolicyArn="arn:{partition}:iam::{account}:policy{prop:Path|/}{name}",
    ),
    "AWS::IAM::Policy": _named("PolicyName", 128, "{name}"),
    "AWS::CloudTrail::Trail": _named("TrailName", 128, "{name}", Arn=arn("cloudtrail", "trail/{name}")),
    "AWS::CloudWatch::Alarm": _named("AlarmName", 255, "{name}", Arn=arn("cloudwatch", "alarm:{name}")),
    "AWS::SSM::Parameter": _named("Name", 2048, "{name}", Value="{n:4096}"),
    "AWS::Bedrock::KnowledgeBase": _named(
        "",
        0,
        "{n:10}",
        KnowledgeBaseId="{n:10}",
        KnowledgeBaseArn=arn("bedrock", "knowledge-base/{n:10}"),
    ),
    "AWS::Bedrock::DataSource": _named("", 0, "{n:10}|{n:10}", DataSourceId="{n:10}"),
    "AWS::Bedrock::Guardrail": _named(
        "",
        0,
        arn("bedrock", "guardrail/{n:64}"),
        GuardrailArn=arn("bedrock", "guardrail/{n:64}"),
        GuardrailId="{n:64}",
        Version="{n:8}",
    ),
    "AWS::Bedrock::GuardrailVersion": _named(
        "", 0, "{n:64}|{n:8}", GuardrailArn=arn("bedrock", "guardrail/{n:64}"), Version="{n:8}"
    ),
    # Ids of agents, aliases and prompts are 10 letters and digits (CloudFormation resource reference patterns);
    # a prompt version number has at most 5 digits.
    "AWS::Bedrock::Agent": _named(
        "", 0, "{n:10}", AgentId="{n:10}", AgentArn=arn("bedrock", "agent/{n:10}"), AgentVersion="{n:5}"
    ),
    "AWS::Bedrock::AgentAlias": _named(
        "",
        0,
        "{n:10}|{n:10}",
        AgentAliasId="{n:10}",
        AgentAliasArn=arn("bedrock", "agent-alias/{n:10}/{n:10}"),
        AgentId="{n:10}",
    ),
    "AWS::Bedrock::Prompt": _named(
        "", 0, arn("bedrock", "prompt/{n:10}"), Arn=arn("bedrock", "prompt/{n:10}"), Id="{n:10}"
    ),
    "AWS::Bedrock::PromptVersion": _named(
        "",
        0,
        arn("bedrock", "prompt/{n:10}:{n:5}"),
        Arn=arn("bedrock", "prompt/{n:10}:{n:5}"),
        PromptId="{n:10}",
        Version="{n:5}",
    ),
    "AWS::S3Vectors::VectorBucket": _named(
        "VectorBucketName",
        63,
        arn("s3vectors", "bucket/{name}"),
        VectorBucketArn=arn("s3vectors", "bucket/{name}"),
    ),
    "AWS::S3Vectors::Index": _named(
        "IndexName",
        63,
        arn("s3vectors", "bucket/{n:63}/index/{name}"),
        IndexArn=arn("s3vectors", "bucket/{n:63}/index/{name}"),
    ),
    "AWS::Comprehend::DocumentClassifier": _named(
        "DocumentClassifierName", 63, arn("comprehend", "document-classifier/{name}/version/{n:63}")
    ),
    "AWS::Comprehend::EntityRecognizer": _named(
        "RecognizerName", 63, arn("comprehend", "entity-recognizer/{name}/version/{n:63}")
    ),
    "AWS::Comprehend::DocumentClassifierEndpoint": _named(
        "EndpointName", 40, arn("comprehend", "document-classifier-endpoint/{name}")
    ),
    "AWS::Comprehend::EntityRecognizerEndpoint": _named(
        "EndpointName", 40, arn("comprehend", "entity-recognizer-endpoint/{name}")
    ),
}
