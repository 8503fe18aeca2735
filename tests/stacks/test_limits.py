"""The deploy-time limits check: each limit pinned at its threshold, the token estimates against values
resolved by hand, the registry against AWS's own schemas, and the app's exit on a violation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import botocore.session
import pytest
from aws_cdk import aws_events as events
from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

import app as app_module
from stacks.limits import (
    LAMBDA_ENVIRONMENT_BYTES,
    PSEUDO,
    RESOURCES_PER_STACK,
    RULES,
    STATE_MACHINE_DEFINITION_BYTES,
    TEMPLATE_BYTES,
    UNKNOWN_TOKEN,
    ItemsRule,
    LimitsError,
    PropertyRule,
    Stack,
    Templates,
    assembly_stacks,
    check_limits,
    check_templates,
    environment_size,
    environment_sizes,
)
from stacks.synth_gate import gated_synth
from tests.stacks.test_wide_usecase import ENVIRONMENT_BUDGET

STACK = "kit-dev-Data"
BOTOCORE = botocore.session.get_session()


def stack(resources: dict[str, Any], name: str = STACK, size: int | None = None, /, **sections: Any) -> Stack:
    template = {"Resources": resources, **sections}
    return Stack(name, template, len(json.dumps(template, indent=1)) if size is None else size)


def problems(*stacks: Stack) -> list[str]:
    return [str(v) for v in check_templates(list(stacks))]


def resource(resource_type: str, **properties: Any) -> dict[str, Any]:
    return {"Type": resource_type, "Properties": properties}


# -------------------------------------------------------------------------------- names and lengths

PROPERTY_RULES = [r for r in RULES if isinstance(r, PropertyRule)]


def value_of_length(rule: PropertyRule, n: int) -> str:
    """A value of ``n`` characters in the form ``rule`` allows."""
    if rule.prop == "AliasName":
        return "alias/" + "a" * (n - 6)
    if rule.pattern and "{1,100}" in rule.pattern:  # Bedrock: letters or digits, each optionally followed by -/_
        return "a-" * (n // 2) + "a" * (n % 2)
    return "a" * n


@pytest.mark.parametrize("rule", PROPERTY_RULES, ids=[f"{r.resource_type} {r.prop}" for r in PROPERTY_RULES])
def test_each_length_passes_at_its_maximum_and_fails_one_past_it(rule: PropertyRule):
    maximum = rule.limit.maximum
    at_limit = stack({"R": resource(rule.resource_type, **{rule.prop: value_of_length(rule, maximum)})})
    assert problems(at_limit) == []
    over = stack({"R": resource(rule.resource_type, **{rule.prop: value_of_length(rule, maximum + 1)})})
    (line,) = problems(over)
    assert line.startswith(f"{STACK}/R ({rule.resource_type}): {rule.prop}")
    assert f": {maximum + 1:,} characters, over {rule.limit.service}'s maximum of {maximum:,} (a hard limit)" in line
    assert "\n" not in line


# An alias name is "alias/" and more: its form, not its length, is what a short one gets wrong.
MINIMUM_RULES = [r for r in PROPERTY_RULES if r.limit.minimum and r.prop != "AliasName"]


@pytest.mark.parametrize("rule", MINIMUM_RULES, ids=[f"{r.resource_type} {r.prop}" for r in MINIMUM_RULES])
def test_each_minimum_length_passes_and_one_less_fails(rule: PropertyRule):
    minimum = rule.limit.minimum
    assert problems(stack({"R": resource(rule.resource_type, **{rule.prop: value_of_length(rule, minimum)})})) == []
    (line,) = problems(stack({"R": resource(rule.resource_type, **{rule.prop: "a" * (minimum - 1)})}))
    assert f"{minimum - 1:,} characters, under {rule.limit.service}'s minimum of {minimum:,}" in line


@pytest.mark.parametrize(
    ("resource_type", "prop", "value", "words"),
    [
        ("AWS::S3::Bucket", "BucketName", "Raw-Bucket", "lowercase letters"),
        ("AWS::S3::Bucket", "BucketName", "raw-", "starting and ending with a letter or digit"),
        ("AWS::KMS::Alias", "AliasName", "alias/aws/mine", "not starting with alias/aws/"),
        ("AWS::Bedrock::KnowledgeBase", "Name", "kb--docs", "each optionally followed by one - or _"),
        ("AWS::Events::Rule", "Name", "my rule", "letters, digits"),
        ("AWS::StepFunctions::StateMachine", "StateMachineName", "a/b", "free of white space"),
    ],
)
def test_a_name_in_the_wrong_form_says_what_the_service_allows(resource_type, prop, value, words):
    (line,) = problems(stack({"R": resource(resource_type, **{prop: value})}))
    assert line.startswith(f"{STACK}/R ({resource_type}): {prop} '{value}': must be ")
    assert words in line


def test_a_name_with_tokens_is_measured_at_its_longest_and_its_literal_characters_checked():
    name: dict[str, Any] = {"Fn::Join": ["", [{"Ref": "AWS::AccountId"}, "-", "x" * 51]]}  # 12 + 1 + 51 = 64
    assert problems(stack({"R": resource("AWS::Events::Rule", Name=name)})) == []
    name["Fn::Join"][1][2] += "x"
    (line,) = problems(stack({"R": resource("AWS::Events::Rule", Name=name)}))
    assert "Name: 65 characters, over EventBridge's maximum of 64" in line
    bad = {"Fn::Join": ["", [{"Ref": "AWS::AccountId"}, " rule"]]}
    (line,) = problems(stack({"R": resource("AWS::Events::Rule", Name=bad)}))
    assert "' ' not allowed" in line


def test_the_registry_agrees_with_cloudformations_schemas_and_the_api_models():
    """Every maximum and minimum the CloudFormation schema (cfn-lint's copy) states, the registry states too;
    where the kit is stricter, the service's own API model (botocore) is the source."""
    stricter = {
        ("AWS::DynamoDB::Table", "TableName"): ("dynamodb", "TableName"),  # the schema also allows an ARN
        ("AWS::Bedrock::Prompt", "Variants"): ("bedrock-agent", "PromptVariantList"),  # CreatePrompt takes one
    }
    checked = 0
    for rule in RULES:
        if not isinstance(rule, PropertyRule | ItemsRule):
            continue
        schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", rule.resource_type).schema
        spec = schema["properties"][rule.prop]
        if "$ref" in spec:
            spec = schema["definitions"][spec["$ref"].split("/")[-1]]
        maximum, minimum = spec.get("maxItems" if isinstance(rule, ItemsRule) else "maxLength"), spec.get("minLength")
        if (rule.resource_type, rule.prop) in stricter:
            service, shape = stricter[rule.resource_type, rule.prop]
            api = BOTOCORE.get_service_model(service).shape_for(shape).metadata
            maximum, minimum = api["max"], api.get("min") or None
        if maximum is not None:
            assert rule.limit.maximum == maximum, (rule.resource_type, rule.prop)
            checked += 1
        if minimum:
            assert rule.limit.minimum == minimum, (rule.resource_type, rule.prop)
    assert checked >= 40


def test_the_registered_bedrock_and_step_functions_limits_are_the_api_models():
    agent = BOTOCORE.get_service_model("bedrock-agent").operation_model("CreateAgent").input_shape
    instruction = next(r for r in PROPERTY_RULES if r.prop == "Instruction")
    assert (instruction.limit.minimum, instruction.limit.maximum) == (
        agent.members["instruction"].metadata["min"],
        agent.members["instruction"].metadata["max"],
    )
    machine = BOTOCORE.get_service_model("stepfunctions").operation_model("CreateStateMachine").input_shape
    assert machine.members["definition"].metadata["max"] == STATE_MACHINE_DEFINITION_BYTES


# -------------------------------------------------------------------------------- the hook for later stages


def test_agent_instructions_and_prompt_variants_are_checked_as_soon_as_a_stack_has_them():
    agent = "You answer retention questions from the curated knowledge base only."
    assert problems(stack({"A": resource("AWS::Bedrock::Agent", AgentName="a", Instruction=agent)})) == []
    (line,) = problems(stack({"A": resource("AWS::Bedrock::Agent", AgentName="a", Instruction="x" * 4001)}))
    assert line.startswith(f"{STACK}/A (AWS::Bedrock::Agent): Instruction: 4,001 characters, over Bedrock's")
    variants = [{"Name": "a"}, {"Name": "b"}]
    (line,) = problems(stack({"P": resource("AWS::Bedrock::Prompt", Name="p", Variants=variants)}))
    assert "Variants: 2 variants, over Bedrock's maximum of 1" in line


# -------------------------------------------------------------------------------- function environments


# The documented longest values (docs/limits.md), written out by hand: what the tokens below resolve to.
REGION = "r" * 20
PARTITION = "aws-us-gov"
ACCOUNT = "123456789012"


def test_the_environment_estimate_is_the_json_lambda_measures_with_every_token_at_its_longest():
    variables = {
        "BUCKET": {"Ref": "Bucket"},
        "TABLE": {"Ref": "Table"},
        "SECRET": {"Ref": "Secret"},
        "FUNCTION_ARN": {"Fn::GetAtt": ["Function", "Arn"]},
        "QUEUE_URL": {"Ref": "Queue"},
        "KNOWLEDGE_BASE_ID": {"Ref": "KnowledgeBase"},
        "NAMED": {"Ref": "Named"},
        "QUOTED": {"Fn::Join": ["", ['{"bucket": "', {"Ref": "Bucket"}, '", "note": "a\\\\b"}']]},
        "KEY": {"Fn::GetStackOutput": {"StackName": "kit-dev-Foundation", "OutputName": "KeyArn"}},
        "PLAIN": "plain é",
    }
    resolved = {
        "BUCKET": "b" * 63,
        "TABLE": "t" * 255,
        "SECRET": f"arn:{PARTITION}:secretsmanager:{REGION}:{ACCOUNT}:secret:{'s' * 512}-AbCdEf",
        "FUNCTION_ARN": f"arn:{PARTITION}:lambda:{REGION}:{ACCOUNT}:function:{'f' * 64}",
        "QUEUE_URL": f"https://sqs.{REGION}.amazonaws.com.cn/{ACCOUNT}/{'q' * 80}",
        "KNOWLEDGE_BASE_ID": "K" * 10,
        "NAMED": "exactly-this-function",
        "QUOTED": '{"bucket": "' + "b" * 63 + '", "note": "a\\\\b"}',
        "KEY": f"arn:{PARTITION}:kms:{REGION}:{ACCOUNT}:key/{'k' * 36}",
        "PLAIN": "plain é",
    }
    data = stack(
        {
            "Bucket": resource("AWS::S3::Bucket"),
            "Table": resource("AWS::DynamoDB::Table"),
            "Secret": resource("AWS::SecretsManager::Secret"),
            "Function": resource("AWS::Lambda::Function"),
            "Queue": resource("AWS::SQS::Queue"),
            "KnowledgeBase": resource("AWS::Bedrock::KnowledgeBase"),
            "Named": resource("AWS::Lambda::Function", FunctionName="exactly-this-function"),
            "Fn": resource("AWS::Lambda::Function", Environment={"Variables": variables}),
        }
    )
    foundation = stack(
        {"Key": resource("AWS::KMS::Key")},
        "kit-dev-Foundation",
        None,
        Outputs={"KeyArn": {"Value": {"Fn::GetAtt": ["Key", "Arn"]}}},
    )
    # Lambda's "String measured" is the variables as compact JSON (non-ASCII escaped is the longer form).
    measured = len(json.dumps(resolved, separators=(",", ":")).encode())
    assert environment_sizes([data, foundation])[(STACK, "Fn")] == measured


def _function_with_environment_of(size: int) -> Stack:
    """One function whose environment measures exactly ``size`` bytes (one variable, padded)."""
    overhead = len(json.dumps({"PAD": ""}, separators=(",", ":")))
    return stack({"Fn": resource("AWS::Lambda::Function", Environment={"Variables": {"PAD": "p" * (size - overhead)}})})


def test_an_environment_of_exactly_4_kb_passes_and_one_byte_more_fails():
    assert problems(_function_with_environment_of(LAMBDA_ENVIRONMENT_BYTES)) == []
    (line,) = problems(_function_with_environment_of(LAMBDA_ENVIRONMENT_BYTES + 1))
    assert line == (
        f"{STACK}/Fn (AWS::Lambda::Function): environment variables: 4,097 bytes once every token resolves at its "
        "longest, over Lambda's maximum of 4,096 (a hard limit)"
    )


def test_a_token_the_table_does_not_know_counts_as_the_longest_arn_and_is_named():
    variables = {"THING": {"Fn::GetAtt": ["Thing", "Endpoint"]}, "MORE": {"Ref": "Other"}, "X": "x" * 100}
    resources = {
        "Thing": resource("AWS::Custom::Thing"),
        "Other": resource("AWS::Custom::Other"),
        "Fn": resource("AWS::Lambda::Function", Environment={"Variables": variables}),
    }
    (line,) = problems(stack(resources))
    assert f"counting 2 token(s) of unknown length at {UNKNOWN_TOKEN:,} each" in line
    assert "GetAtt Thing.Endpoint (AWS::Custom::Thing)" in line
    assert "add their type to RESOLVED in stacks/limits/token_lengths.py" in line


def test_pseudo_parameters_and_pinned_values():
    templates = Templates({STACK: {"Resources": {}}})
    assert templates.estimate({"Fn::Sub": "${AWS::Region}-${AWS::AccountId}"}, STACK).length == 20 + 1 + 12
    assert templates.estimate({"Ref": "AWS::StackName"}, STACK).length == len(STACK)
    assert templates.estimate("eu-west-1", STACK).length == 9  # a pinned region is a literal
    assert templates.estimate("{{resolve:ssm:/some/name}}", STACK).length == 4096
    assert PSEUDO["AWS::Partition"] == len(PARTITION)


# -------------------------------------------------------------------------------- definitions, policies, templates


def test_a_state_machine_definition_of_exactly_1_mb_passes_and_one_byte_more_fails():
    arn = {"Fn::GetAtt": ["Fn", "Arn"]}
    arn_length = len(f"arn:{PARTITION}:lambda:{REGION}:{ACCOUNT}:function:") + 64

    def machine(size: int) -> Stack:
        padding = "x" * (size - arn_length)
        definition = {"Fn::Join": ["", [padding, arn]]}
        resources = {
            "Fn": resource("AWS::Lambda::Function"),
            "M": resource("AWS::StepFunctions::StateMachine", DefinitionString=definition),
        }
        return stack(resources, STACK, 1000)  # the template size is its own rule

    assert problems(machine(STATE_MACHINE_DEFINITION_BYTES)) == []
    (line,) = problems(machine(STATE_MACHINE_DEFINITION_BYTES + 1))
    assert "state machine definition: 1,048,577 bytes once every token resolves at its longest" in line


def _role_with_policy_of(size: int) -> Stack:
    document: dict[str, Any] = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Sid": ""}]}
    document["Statement"][0]["Sid"] = "s" * (size - len(json.dumps(document, separators=(",", ":"))))
    trust = {"Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}}]}
    return stack(
        {
            "Role": resource("AWS::IAM::Role", AssumeRolePolicyDocument=trust),
            "Policy": resource("AWS::IAM::Policy", PolicyName="p", PolicyDocument=document, Roles=[{"Ref": "Role"}]),
        }
    )


def test_a_roles_inline_policies_of_exactly_10240_characters_pass_and_one_more_fails():
    assert problems(_role_with_policy_of(10_240)) == []
    (line,) = problems(_role_with_policy_of(10_241))
    assert line.startswith(f"{STACK}/Role (AWS::IAM::Role): inline policies of the role: 10,241 characters")


def test_a_trust_policy_past_its_quota_says_how_to_raise_it():
    principal = {"AWS": ["arn:aws:iam::123456789012:root"] * 80}
    role = stack({"Role": resource("AWS::IAM::Role", AssumeRolePolicyDocument={"Statement": [principal]})})
    (line,) = problems(role)
    assert "trust policy: " in line
    assert "(IAM quota 'Role trust policy length', not a hard limit: request more in the Service Quotas" in line
    assert "--service-code iam --quota-code L-C07B4B0D --desired-value <n>" in line


def _stack_of(resources: int = 1, outputs: int = 0, size: int | None = None, references: int = 0) -> Stack:
    items = {f"R{i}": {"Type": "AWS::CloudFormation::WaitConditionHandle"} for i in range(resources)}
    layer = "{{resolve:ssm:/aws/service/x}}"
    if references:
        items["F"] = resource("AWS::Lambda::Function", Layers=[layer] * references)
    return stack(items, STACK, size, Outputs={f"O{i}": {"Value": "v"} for i in range(outputs)})


def test_500_resources_pass_and_501_fail_with_how_to_raise_the_quota():
    assert problems(_stack_of(RESOURCES_PER_STACK)) == []
    (line,) = problems(_stack_of(RESOURCES_PER_STACK + 1))
    assert line.startswith(f"{STACK}: resources: 501 resources, over CloudFormation's maximum of 500 (CloudFormation")
    assert "quota 'resources per stack', not a hard limit: request more in the Service Quotas console" in line
    assert "aws service-quotas request-service-quota-increase --service-code cloudformation" in line
    assert "; or split the stack)" in line


def test_200_outputs_pass_and_201_fail():
    assert problems(_stack_of(outputs=200)) == []
    (line,) = problems(_stack_of(outputs=201))
    assert line == f"{STACK}: outputs: 201 outputs, over CloudFormation's maximum of 200 (a hard limit)"


def test_a_template_of_exactly_the_maximum_size_passes_and_one_byte_more_fails():
    assert problems(_stack_of(size=TEMPLATE_BYTES)) == []
    (line,) = problems(_stack_of(size=TEMPLATE_BYTES + 1))
    assert line == f"{STACK}: template: 1,000,001 bytes, over CloudFormation's maximum of 1,000,000 (a hard limit)"


def test_60_dynamic_references_pass_and_61_fail():
    # Layers over 5 fail too; the references are counted over the whole template.
    assert [p for p in problems(_stack_of(references=60)) if "dynamic references" in p] == []
    assert [p for p in problems(_stack_of(references=61)) if "dynamic references: 61 references" in p]


def test_five_layers_pass_and_six_fail():
    def function(layers: int) -> Stack:
        return stack({"F": resource("AWS::Lambda::Function", Layers=[f"arn:layer:{i}" for i in range(layers)])})

    assert problems(function(5)) == []
    (line,) = problems(function(6))
    assert line.endswith("Layers: 6 layers, over Lambda's maximum of 5 (a hard limit)")


def test_stack_names_over_128_characters_fail():
    assert problems(stack({}, "a" * 128)) == []
    (line,) = problems(stack({}, "a" * 129))
    assert "stack name: 129 characters, over CloudFormation's maximum of 128" in line


# -------------------------------------------------------------------------------- the shipped stacks and the app


@pytest.mark.synth
def test_the_shipped_stacks_pass_and_every_function_environment_stays_within_the_budget(synth, pinned_synth):
    stacks = assembly_stacks(synth.outdir)
    assert {s.name for s in stacks} == set(synth.templates)
    assert check_templates(stacks) == []
    assert check_templates(assembly_stacks(pinned_synth.outdir)) == []  # the second use case, pinned regions
    sizes = environment_sizes(stacks)
    assert len(sizes) >= 18
    assert max(sizes.values()) <= ENVIRONMENT_BUDGET


def _too_long_rule(folder: Path) -> None:
    app = app_module.gated_app(folder)
    events.CfnRule(cdk.Stack(app, "Rules"), "Ready", name="r" * 65, schedule_expression="rate(1 hour)")
    app.synth()


def test_a_template_past_a_limit_fails_synth_with_one_clean_line_and_publishes_nothing(tmp_path, monkeypatch, capsys):
    outdir = tmp_path / "cdk.out"
    outdir.mkdir()
    (outdir / "last-good.txt").write_text("the previous assembly")
    with pytest.raises(LimitsError) as raised:
        gated_synth(_too_long_rule, outdir)
    assert [str(v) for v in raised.value.violations] == [
        f"Rules/Ready (AWS::Events::Rule): Name '{'r' * 65}': 65 characters, over EventBridge's maximum of 64 "
        "(a hard limit)"
    ]
    assert [p.name for p in outdir.iterdir()] == ["last-good.txt"]
    monkeypatch.setenv("CDK_OUTDIR", str(outdir))
    monkeypatch.setattr(app_module, "synthesize", _too_long_rule)
    assert app_module.main() == 1
    assert capsys.readouterr().err.splitlines()[-1] == f"limits: {raised.value.violations[0]}"
    assert [p.name for p in outdir.iterdir()] == ["last-good.txt"]


def test_check_limits_reads_every_stack_of_an_assembly(tmp_path):
    app = cdk.App(outdir=str(tmp_path))
    events.CfnRule(cdk.Stack(app, "Ok"), "Ready", name="r" * 64, schedule_expression="rate(1 hour)")
    app.synth()
    check_limits(tmp_path)
    assert [s.name for s in assembly_stacks(tmp_path)] == ["Ok"]
    assert environment_size({}, Templates({}), "Ok").length == 2


POLICY_RULES = [
    ("AWS::IAM::ManagedPolicy", "PolicyDocument", 6_144, "managed policy: 6,145 characters"),
    ("AWS::IAM::Role", "AssumeRolePolicyDocument", 2_048, "trust policy: 2,049 characters"),
    ("AWS::KMS::Key", "KeyPolicy", 32_768, "key policy: 32,769 bytes"),
    ("AWS::S3::BucketPolicy", "PolicyDocument", 20_480, "bucket policy: 20,481 bytes"),
]


@pytest.mark.parametrize(
    ("resource_type", "prop", "maximum", "message"), POLICY_RULES, ids=[r[2] for r in POLICY_RULES]
)
def test_each_policy_document_passes_at_its_maximum_and_fails_one_past_it(resource_type, prop, maximum, message):
    def with_document(size: int) -> Stack:
        document: dict[str, Any] = {"Statement": [{"Effect": "Allow", "Sid": ""}]}
        document["Statement"][0]["Sid"] = "s" * (size - len(json.dumps(document, separators=(",", ":"))))
        return stack({"R": resource(resource_type, **{prop: document})})

    assert problems(with_document(maximum)) == []
    (line,) = problems(with_document(maximum + 1))
    assert line.startswith(f"{STACK}/R ({resource_type}): {message} once every token resolves at its longest, over")


@pytest.mark.parametrize(("section", "what"), [("Parameters", "parameters"), ("Mappings", "mappings")])
def test_200_parameters_or_mappings_pass_and_201_fail(section, what):
    def with_items(n: int) -> Stack:
        return stack({}, **{section: {f"P{i}": {"Type": "String"} for i in range(n)}})

    assert problems(with_items(200)) == []
    (line,) = problems(with_items(201))
    assert line == f"{STACK}: {what}: 201 {what}, over CloudFormation's maximum of 200 (a hard limit)"


def test_a_template_description_of_1024_bytes_passes_and_1025_fail():
    assert problems(stack({}, Description="é" * 512)) == []  # bytes, not characters
    (line,) = problems(stack({}, Description="é" * 512 + "e"))
    assert "template description: 1,025 bytes, over CloudFormation's maximum of 1,024" in line
