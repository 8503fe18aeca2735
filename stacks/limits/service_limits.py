"""`RULES`, the registry of deploy-time limits: each service's numbers, checked on every synthesized template.

A later stage adds its limits here as one more entry: Bedrock agent instructions and prompt variants are
registered already and apply as soon as a stack defines such a resource. docs/limits.md lists them all
(`make docs`), in this order.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from stacks.limits.rules import (
    ItemsRule,
    Limit,
    PropertyRule,
    Quota,
    RolePoliciesRule,
    Rule,
    SizeRule,
    StackNameRule,
    TemplateRule,
    definition_size,
    environment_size,
    policy_size,
)
from stacks.limits.token_lengths import RESOLVE_REFERENCE

CFN = "CloudFormation"
RESOURCES_PER_STACK = 500
STACK_RESOURCES_QUOTA = Quota(
    "CloudFormation", "cloudformation", "resources per stack", otherwise="; or split the stack"
)
LAMBDA_ENVIRONMENT_BYTES = 4096
STATE_MACHINE_DEFINITION_BYTES = 1_048_576
# CloudFormation: 1 MB for a template uploaded through S3; aws-cdk-lib warns from 1,000,000 bytes on, as here.
TEMPLATE_BYTES = 1_000_000


@dataclass(frozen=True)
class _Form:
    """The form a service allows for a name: its characters, those in words, and the whole pattern where it
    is stricter than any string of them."""

    charset: str
    words: str
    pattern: str | None = None


# The forms several services share.
_LETTERS_DIGITS_DASH_UNDERSCORE = _Form("[a-zA-Z0-9_-]", "letters, digits, - and _")
_IAM_NAME = _Form(r"[\w+=,.@-]", "letters, digits and +=,.@-_")
_S3_NAME = _Form(
    "[a-z0-9.-]",
    "lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit",
    r"[a-z0-9][a-z0-9.-]*[a-z0-9]",
)
_FIFO_NAME = _Form(r"[A-Za-z0-9_.-]", "letters, digits, - and _ (and .fifo)", r"[A-Za-z0-9_-]+(\.fifo)?")
_BEDROCK_NAME = _Form(
    "[0-9a-zA-Z_-]",
    "1-100 letters or digits, each optionally followed by one - or _",
    r"([0-9a-zA-Z][_-]?){1,100}",
)
_COMPREHEND_NAME = _Form(
    "[a-zA-Z0-9-]",
    "letters, digits and hyphens, starting and ending with a letter or digit",
    r"[a-zA-Z0-9](-*[a-zA-Z0-9])*",
)


def _name(resource_type: str, prop: str, service: str, maximum: int, form: _Form, *, minimum: int = 1) -> PropertyRule:
    """A name's length and form; a name with tokens has each literal character checked against the charset."""
    return PropertyRule(
        resource_type,
        prop,
        Limit(service, f"{prop} length", maximum, "characters", minimum=minimum),
        pattern=form.pattern or f"{form.charset}+",
        words=form.words,
        charset=form.charset,
    )


def _text(resource_type: str, prop: str, service: str, maximum: int, *, minimum: int = 0) -> PropertyRule:
    """A free text's length (a description, an instruction, a message)."""
    return PropertyRule(resource_type, prop, Limit(service, f"{prop} length", maximum, "characters", minimum=minimum))


def _bedrock_name(resource_type: str, prop: str = "Name") -> PropertyRule:
    """The name of a knowledge base, data source, agent or prompt: one form across Bedrock's APIs."""
    return _name(resource_type, prop, "Bedrock", 200, _BEDROCK_NAME)


def _bedrock_description(resource_type: str) -> PropertyRule:
    return _text(resource_type, "Description", "Bedrock", 200, minimum=1)


def _per_stack(section: str, maximum: int, quota: Quota | None = None) -> TemplateRule:
    """How many entries one section of the template (Resources, Outputs, ...) holds."""
    what = section.lower()
    return TemplateRule(
        Limit(CFN, what, maximum, what, quota=quota), lambda s: len(s.template.get(section, {})), f"{what} per stack"
    )


RULES: tuple[Rule, ...] = (
    # --- Lambda
    SizeRule(
        "AWS::Lambda::Function",
        "Environment",
        Limit("Lambda", "environment variables", LAMBDA_ENVIRONMENT_BYTES, "bytes"),
        environment_size,
        "`AWS::Lambda::Function` `Environment`: all variables together, as the JSON Lambda measures",
    ),
    ItemsRule("AWS::Lambda::Function", "Layers", Limit("Lambda", "layers", 5, "layers")),
    _name("AWS::Lambda::Function", "FunctionName", "Lambda", 64, _LETTERS_DIGITS_DASH_UNDERSCORE),
    _text("AWS::Lambda::Function", "Description", "Lambda", 256),
    _name("AWS::Lambda::LayerVersion", "LayerName", "Lambda", 140, _LETTERS_DIGITS_DASH_UNDERSCORE),
    _text("AWS::Lambda::LayerVersion", "Description", "Lambda", 256),
    # --- Step Functions
    SizeRule(
        "AWS::StepFunctions::StateMachine",
        "DefinitionString",
        Limit("Step Functions", "state machine definition", STATE_MACHINE_DEFINITION_BYTES, "bytes"),
        definition_size,
        "`AWS::StepFunctions::StateMachine` `DefinitionString`, tokens resolved",
    ),
    _name(
        "AWS::StepFunctions::StateMachine",
        "StateMachineName",
        "Step Functions",
        80,
        _Form(
            r"[^\s<>{}\[\]?*\"#%\\^|~`$&,;:/\x00-\x1f\x7f-\x9f]",
            'free of white space, brackets, wildcards and "#%\\^|~`$&,;:/',
        ),
    ),
    # --- EventBridge
    _name(
        "AWS::Events::Rule", "Name", "EventBridge", 64, _Form(r"[.\-_A-Za-z0-9]", "letters, digits, '.', '-' and '_'")
    ),
    _text("AWS::Events::Rule", "Description", "EventBridge", 512),
    _name("AWS::Events::EventBus", "Name", "EventBridge", 256, _Form(r"[/.\-_A-Za-z0-9]", "letters, digits and /.-_")),
    # --- S3 and S3 Vectors
    _name("AWS::S3::Bucket", "BucketName", "S3", 63, _S3_NAME, minimum=3),
    _name(
        "AWS::S3Vectors::VectorBucket",
        "VectorBucketName",
        "S3 Vectors",
        63,
        _Form(
            "[a-z0-9-]",
            "lowercase letters, digits and hyphens, starting and ending with a letter or digit",
            r"[a-z0-9][a-z0-9-]*[a-z0-9]",
        ),
        minimum=3,
    ),
    _name("AWS::S3Vectors::Index", "IndexName", "S3 Vectors", 63, _S3_NAME, minimum=3),
    # --- IAM
    _name("AWS::IAM::Role", "RoleName", "IAM", 64, _IAM_NAME),
    _text("AWS::IAM::Role", "Description", "IAM", 1000),
    _name("AWS::IAM::Policy", "PolicyName", "IAM", 128, _IAM_NAME),
    _name("AWS::IAM::ManagedPolicy", "ManagedPolicyName", "IAM", 128, _IAM_NAME),
    RolePoliciesRule(Limit("IAM", "inline policies of the role", 10_240, "characters")),
    SizeRule(
        "AWS::IAM::ManagedPolicy", "PolicyDocument", Limit("IAM", "managed policy", 6_144, "characters"), policy_size
    ),
    SizeRule(
        "AWS::IAM::Role",
        "AssumeRolePolicyDocument",
        Limit(
            "IAM",
            "trust policy",
            2_048,
            "characters",
            quota=Quota("IAM", "iam", "Role trust policy length", code="L-C07B4B0D"),
        ),
        policy_size,
    ),
    # --- KMS
    _name(
        "AWS::KMS::Alias",
        "AliasName",
        "KMS",
        256,
        _Form(
            "[a-zA-Z0-9:/_-]",
            "'alias/' and letters, digits and :/_-, not starting with alias/aws/",
            r"alias/(?!aws/)[a-zA-Z0-9:/_-]+",
        ),
    ),
    SizeRule("AWS::KMS::Key", "KeyPolicy", Limit("KMS", "key policy", 32_768, "bytes"), policy_size),
    _text("AWS::KMS::Key", "Description", "KMS", 8192),
    SizeRule("AWS::S3::BucketPolicy", "PolicyDocument", Limit("S3", "bucket policy", 20_480, "bytes"), policy_size),
    # --- Logs, CloudTrail, CloudWatch, SQS, SNS, DynamoDB, Secrets Manager
    _name(
        "AWS::Logs::LogGroup",
        "LogGroupName",
        "CloudWatch Logs",
        512,
        _Form(r"[.\-_/#A-Za-z0-9]", "letters, digits and ._-/#"),
    ),
    _name(
        "AWS::CloudTrail::Trail",
        "TrailName",
        "CloudTrail",
        128,
        _Form(
            r"[a-zA-Z0-9._-]",
            "letters, digits, '.', '_' and '-', starting and ending with a letter or digit",
            r"[a-zA-Z0-9]([a-zA-Z0-9._-]*[a-zA-Z0-9])?",
        ),
        minimum=3,
    ),
    _name("AWS::CloudWatch::Alarm", "AlarmName", "CloudWatch", 255, _Form(r"[^\x00-\x1f]", "printable characters")),
    _text("AWS::CloudWatch::Alarm", "AlarmDescription", "CloudWatch", 1024),
    _name("AWS::SQS::Queue", "QueueName", "SQS", 80, _FIFO_NAME),
    _name("AWS::SNS::Topic", "TopicName", "SNS", 256, _FIFO_NAME),
    _text("AWS::SNS::Topic", "DisplayName", "SNS", 100),
    _name(
        "AWS::DynamoDB::Table",
        "TableName",
        "DynamoDB",
        255,
        _Form(r"[a-zA-Z0-9_.-]", "letters, digits and _.-"),
        minimum=3,
    ),
    _name(
        "AWS::SecretsManager::Secret",
        "Name",
        "Secrets Manager",
        512,
        _Form(r"[A-Za-z0-9/_+=.@-]", "letters, digits and /_+=.@-"),
    ),
    _text("AWS::SecretsManager::Secret", "Description", "Secrets Manager", 2048),
    # --- Bedrock
    _bedrock_name("AWS::Bedrock::KnowledgeBase"),
    _bedrock_description("AWS::Bedrock::KnowledgeBase"),
    _bedrock_name("AWS::Bedrock::DataSource"),
    _bedrock_description("AWS::Bedrock::DataSource"),
    _name("AWS::Bedrock::Guardrail", "Name", "Bedrock", 50, _LETTERS_DIGITS_DASH_UNDERSCORE),
    _bedrock_description("AWS::Bedrock::Guardrail"),
    _text("AWS::Bedrock::Guardrail", "BlockedInputMessaging", "Bedrock", 500, minimum=1),
    _text("AWS::Bedrock::Guardrail", "BlockedOutputsMessaging", "Bedrock", 500, minimum=1),
    _bedrock_description("AWS::Bedrock::GuardrailVersion"),
    _bedrock_name("AWS::Bedrock::Agent", "AgentName"),
    _text("AWS::Bedrock::Agent", "Instruction", "Bedrock", 4000, minimum=40),
    _bedrock_description("AWS::Bedrock::Agent"),
    _bedrock_name("AWS::Bedrock::Prompt"),
    _bedrock_description("AWS::Bedrock::Prompt"),
    ItemsRule("AWS::Bedrock::Prompt", "Variants", Limit("Bedrock", "prompt variants", 1, "variants")),
    # --- Comprehend
    _name("AWS::Comprehend::DocumentClassifier", "DocumentClassifierName", "Comprehend", 63, _COMPREHEND_NAME),
    _name("AWS::Comprehend::DocumentClassifier", "VersionName", "Comprehend", 63, _COMPREHEND_NAME),
    _name("AWS::Comprehend::EntityRecognizer", "RecognizerName", "Comprehend", 63, _COMPREHEND_NAME),
    _name("AWS::Comprehend::EntityRecognizer", "VersionName", "Comprehend", 63, _COMPREHEND_NAME),
    _name("AWS::Comprehend::DocumentClassifierEndpoint", "EndpointName", "Comprehend", 40, _COMPREHEND_NAME),
    _name("AWS::Comprehend::EntityRecognizerEndpoint", "EndpointName", "Comprehend", 40, _COMPREHEND_NAME),
    # --- CloudFormation, per stack
    StackNameRule(Limit(CFN, "stack name", 128, "characters")),
    _per_stack("Resources", RESOURCES_PER_STACK, STACK_RESOURCES_QUOTA),
    _per_stack("Outputs", 200),
    _per_stack("Parameters", 200),
    _per_stack("Mappings", 200),
    TemplateRule(
        Limit(CFN, "template", TEMPLATE_BYTES, "bytes"), lambda s: s.size, "template file size (uploaded through S3)"
    ),
    TemplateRule(
        Limit(CFN, "template description", 1024, "bytes"),
        lambda s: len(str(s.template.get("Description", "")).encode()),
        "template `Description`",
    ),
    TemplateRule(
        Limit(CFN, "dynamic references", 60, "references"),
        lambda s: len(RESOLVE_REFERENCE.findall(json.dumps(s.template))),
        "`{{resolve:...}}` dynamic references per template",
    ),
)
