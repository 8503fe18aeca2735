"""Guardrails stack standalone under all nag packs, its policy model, and the safety settings it hands out."""

from __future__ import annotations

import hashlib
import json
import re
import textwrap
from pathlib import Path
from typing import Any, get_args

import aws_cdk as cdk
import botocore.session
import pytest
import yaml
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Match, Template
from common.safety.policy import SafetySettings
from pydantic import BaseModel, ValidationError

from stacks.app_builder import cdk_json_context
from stacks.common.kit_function import KitFunction
from stacks.common.nag import add_nag_packs
from stacks.common.stage_policy import StagePolicy
from stacks.config import ConfigError
from stacks.foundation.stack import FoundationProps, FoundationStack
from stacks.guardrails.guardrail import render_policy
from stacks.guardrails.policy import (
    MAX_BLOCKED_MESSAGE,
    MAX_REGEX_PATTERN,
    MAX_TOPIC_DEFINITION,
    MAX_TOPIC_EXAMPLE,
    MAX_TOPIC_EXAMPLES,
    MAX_TOPIC_NAME,
    MAX_TOPICS,
    MAX_WORD,
    GuardrailPolicy,
    PiiType,
    Strength,
    load_guardrail_policy,
    parse_guardrail_policy,
)
from stacks.guardrails.safety_settings import ComprehendPiiType, SafetyConfig, ToxicityLabel, load_safety_config
from stacks.guardrails.stack import GuardrailsProps, GuardrailsStack
from tools.iam_check import check, load_allowlist

USECASE = "customer-retention"
US_EAST = cdk.Environment(account="111111111111", region="us-east-1")


NAME_PREFIX = "journey-customer-retention-prod"  # <project>-<usecase>-<stage>, as the stage builds it


def _training(safety: SafetyConfig, train: list[str]) -> SafetyConfig:
    """The use case's safety settings with `custom_models.train` replaced (validated like the file)."""
    data = safety.model_dump(mode="json")
    data["custom_models"]["train"] = train
    return SafetyConfig.model_validate(data)


@pytest.fixture(scope="module")
def app_stacks(tmp_path_factory) -> dict[str, Any]:
    """One synth, each stack with a caller: the default guardrail (env-agnostic), custom models at step 1
    (prod is not yet in `train`: the training-data bucket alone) and at step 2 (prod trains)."""
    app = cdk.App(outdir=str(tmp_path_factory.mktemp("guardrails")), context=cdk_json_context())
    stage = StagePolicy("prod")
    policy = load_guardrail_policy(USECASE)
    safety = load_safety_config(USECASE)
    out: dict[str, Any] = {"policy": policy}
    for name, custom, train, env in (
        ("Default", False, [], None),
        ("Bucket", True, ["dev"], US_EAST),
        ("Custom", True, ["dev", "prod"], US_EAST),
    ):
        foundation = FoundationStack(
            app, f"Foundation{name}", props=FoundationProps(name_prefix=f"t{name.lower()}-prod", stage=stage), env=env
        )
        stack = GuardrailsStack(
            app,
            f"Guardrails{name}",
            env=env,
            props=GuardrailsProps(
                key=foundation.key,
                stage=stage,
                usecase_id=USECASE,
                policy=policy,
                name_prefix=NAME_PREFIX,
                safety=_training(safety, train),
                custom_models=custom,
                access_logs=foundation.access_logs.bucket if custom else None,
            ),
        )
        caller = KitFunction(
            stack,
            "Chat",
            handler="common.clients.client",  # any importable function: this test only synthesizes
            description="uses the safety library",
            service="chat",
            namespace="Tests",
            key=foundation.key,
            stage=stage,
            environment={"SAFETY_SETTINGS": stack.safety_settings_json()},
        )
        stack.grant_apply(caller.role)
        stack.grant_safety_checks(caller.role)
        out[name] = stack
    add_nag_packs(app)  # synth raises on any unacknowledged finding of the four packs
    assembly = app.synth()
    out["templates"] = {s.stack_name: s.template for s in assembly.stacks}
    for name in ("Default", "Bucket", "Custom"):
        out[f"t{name}"] = Template.from_json(assembly.get_stack_by_name(f"Guardrails{name}").template)
    return out


def _guardrail(template: Template) -> dict[str, Any]:
    (resource,) = template.find_resources("AWS::Bedrock::Guardrail").values()
    return resource["Properties"]


def _caller_statements(template: Template) -> list[dict[str, Any]]:
    policies = template.find_resources("AWS::IAM::Policy")
    (policy,) = [p for p in policies.values() if "ChatRole" in p["Properties"]["Roles"][0]["Ref"]]
    return policy["Properties"]["PolicyDocument"]["Statement"]


# ------------------------------------------------------------------------------------------ stack


def test_guardrail_renders_every_filter_with_explicit_actions(app_stacks):
    props = _guardrail(app_stacks["tDefault"])
    filters = {f["Type"]: f for f in props["ContentPolicyConfig"]["FiltersConfig"]}
    assert set(filters) == {"SEXUAL", "VIOLENCE", "HATE", "INSULTS", "MISCONDUCT", "PROMPT_ATTACK"}
    assert filters["INSULTS"] == {
        "Type": "INSULTS",
        "InputStrength": "MEDIUM",
        "OutputStrength": "HIGH",
        "InputEnabled": True,
        "OutputEnabled": True,
        "InputAction": "BLOCK",
        "OutputAction": "BLOCK",
    }
    assert filters["PROMPT_ATTACK"]["InputStrength"] == "HIGH"
    assert filters["PROMPT_ATTACK"]["OutputStrength"] == "NONE"
    assert props["KmsKeyArn"]  # the kit key (a cross-stack reference)
    assert props["Name"] == NAME_PREFIX


def test_pii_actions_are_explicit_for_both_directions(app_stacks):
    props = _guardrail(app_stacks["tDefault"])
    pii = {e["Type"]: e for e in props["SensitiveInformationPolicyConfig"]["PiiEntitiesConfig"]}
    expected = app_stacks["policy"].sensitive_information.pii
    assert set(pii) == set(expected)
    for pii_type, rule in expected.items():
        entity = pii[pii_type]
        assert (entity["InputAction"], entity["OutputAction"], entity["Action"]) == (
            rule.input,
            rule.output,
            rule.output,
        )
        assert entity["InputEnabled"] is True
        assert entity["OutputEnabled"] is True
    assert pii["EMAIL"]["InputAction"] == "ANONYMIZE"  # the alpha L2 would have made this BLOCK
    (regex,) = props["SensitiveInformationPolicyConfig"]["RegexesConfig"]
    assert regex["Name"] == "customer-key"
    assert (regex["InputAction"], regex["OutputAction"]) == ("ANONYMIZE", "ANONYMIZE")


def test_topics_words_and_grounding(app_stacks):
    props = _guardrail(app_stacks["tDefault"])
    topics = props["TopicPolicyConfig"]["TopicsConfig"]
    assert [t["Name"] for t in topics] == ["Competitor disparagement", "Investment advice", "Legal advice"]
    assert all(t["Type"] == "DENY" and t["InputAction"] == t["OutputAction"] == "BLOCK" for t in topics)
    assert all(1 <= len(t["Examples"]) <= 5 for t in topics)
    words = props["WordPolicyConfig"]
    assert [w["Text"] for w in words["WordsConfig"]] == ["churn score", "internal use only", "retention playbook"]
    assert words["ManagedWordListsConfig"][0]["Type"] == "PROFANITY"
    grounding = {f["Type"]: f["Threshold"] for f in props["ContextualGroundingPolicyConfig"]["FiltersConfig"]}
    assert grounding == {"GROUNDING": 0.75, "RELEVANCE": 0.5}


def test_version_is_named_after_the_policy_fingerprint(app_stacks):
    template = app_stacks["tDefault"]
    fingerprint = app_stacks["policy"].fingerprint()
    versions = template.find_resources("AWS::Bedrock::GuardrailVersion")
    assert list(versions) == [f"Version{fingerprint[:12]}"]
    (version,) = versions.values()
    assert version["Properties"]["Description"] == f"policy sha256:{fingerprint[:16]}"
    assert version["Properties"]["GuardrailIdentifier"] == {"Fn::GetAtt": ["Guardrail", "GuardrailId"]}
    assert version["DeletionPolicy"] == "Retain"  # prod keeps superseded versions


def test_custom_models_are_off_by_default(app_stacks):
    assert not [t for t in app_stacks["tDefault"].to_json()["Resources"].values() if "Comprehend" in t["Type"]]
    statements = _caller_statements(app_stacks["tDefault"])
    actions = sorted(a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"]))
    assert "comprehend:ClassifyDocument" not in actions
    assert "comprehend:DetectEntities" not in actions


def _outputs(template: Template) -> dict[str, Any]:
    return template.to_json().get("Outputs", {})


def _safety_settings(template: Template) -> str:
    (function,) = template.find_resources("AWS::Lambda::Function").values()
    return json.dumps(function["Properties"]["Environment"]["Variables"]["SAFETY_SETTINGS"])


def test_outputs_name_what_the_docs_read(app_stacks):
    outputs = _outputs(app_stacks["tDefault"])
    assert set(outputs) == {"GuardrailId", "GuardrailVersion"}
    assert outputs["GuardrailId"]["Value"] == {"Fn::GetAtt": ["Guardrail", "GuardrailId"]}
    (version,) = app_stacks["tDefault"].find_resources("AWS::Bedrock::GuardrailVersion")
    assert outputs["GuardrailVersion"]["Value"] == {"Fn::GetAtt": [version, "Version"]}
    assert all(len(o["Description"]) >= 20 for o in outputs.values())


def test_custom_models_step_one_is_the_training_bucket_alone(app_stacks):
    """A stage not listed in custom_models.train gets the bucket to upload to, and nothing that trains."""
    template = app_stacks["tBucket"]
    resources = template.to_json()["Resources"]
    assert not [r for r in resources.values() if r["Type"].startswith("AWS::Comprehend::")]
    assert not [
        r
        for r in template.find_resources("AWS::IAM::Role").values()
        if "comprehend.amazonaws.com" in json.dumps(r["Properties"]["AssumeRolePolicyDocument"])
    ]
    (bucket,) = [lid for lid in template.find_resources("AWS::S3::Bucket") if lid.startswith("TrainingData")]
    assert resources[bucket]["DeletionPolicy"] == "Retain"  # prod: the labelled data outlives the stack
    outputs = _outputs(template)
    assert outputs["TrainingDataBucketName"]["Value"] == {"Ref": bucket}
    assert "ToxicityClassifierEndpointArn" not in outputs
    assert "EntityRecognizerEndpointArn" not in outputs
    # The safety library gets no custom endpoints, and the caller no grant on any.
    settings = _safety_settings(template)
    assert "endpoint_arn" not in settings
    actions = {a for a, _ in _grants(_caller_statements(template))}
    assert not actions & {"comprehend:ClassifyDocument", "comprehend:DetectEntities"}


def test_custom_models_step_two_trains_from_the_bucket_of_step_one(app_stacks):
    """Listing the stage keeps the bucket (same logical id, so the uploaded data stays) and adds the models."""
    step_one, step_two = app_stacks["tBucket"], app_stacks["tCustom"]
    buckets = {lid for lid in step_two.find_resources("AWS::S3::Bucket") if lid.startswith("TrainingData")}
    assert buckets == {lid for lid in step_one.find_resources("AWS::S3::Bucket") if lid.startswith("TrainingData")}
    (bucket,) = buckets
    for resource_type in (
        "AWS::Comprehend::DocumentClassifier",
        "AWS::Comprehend::DocumentClassifierEndpoint",
        "AWS::Comprehend::EntityRecognizer",
        "AWS::Comprehend::EntityRecognizerEndpoint",
    ):
        step_two.resource_count_is(resource_type, 1)
    (classifier,) = step_two.find_resources("AWS::Comprehend::DocumentClassifier").values()
    assert {"Ref": bucket} in classifier["Properties"]["InputDataConfig"]["S3Uri"]["Fn::Join"][1]
    outputs = _outputs(step_two)
    assert outputs["TrainingDataBucketName"]["Value"] == {"Ref": bucket}
    assert outputs["ToxicityClassifierEndpointArn"]["Value"] == {"Fn::GetAtt": ["ToxicityClassifierEndpoint", "Arn"]}
    assert outputs["EntityRecognizerEndpointArn"]["Value"] == {"Fn::GetAtt": ["EntityRecognizerEndpoint", "Arn"]}
    assert "ToxicityClassifierEndpoint" in _safety_settings(step_two)


def guardrails_beside_foundation(
    name_prefix: str, *, safety: SafetyConfig | None = None, custom_models: bool = False
) -> GuardrailsStack:
    """A dev Guardrails stack of the shipped use case next to a Foundation stack, in a fresh app (no synth)."""
    app = cdk.App(context=cdk_json_context())
    stage = StagePolicy("dev")
    foundation = FoundationStack(app, "F", props=FoundationProps(name_prefix=name_prefix, stage=stage))
    return GuardrailsStack(
        app,
        "G",
        props=GuardrailsProps(
            key=foundation.key,
            stage=stage,
            usecase_id=USECASE,
            policy=load_guardrail_policy(USECASE),
            name_prefix=name_prefix,
            safety=safety if safety is not None else load_safety_config(USECASE),
            custom_models=custom_models,
            access_logs=foundation.access_logs.bucket if custom_models else None,
        ),
    )


def _models(safety: SafetyConfig) -> dict[str, dict[str, Any]]:
    """The Comprehend resources of a dev Guardrails stack trained with these settings (no synth, no nag)."""
    stack = guardrails_beside_foundation("t-dev", safety=safety, custom_models=True)
    resources = Template.from_stack(stack).to_json()["Resources"]
    return {lid: r for lid, r in resources.items() if r["Type"].startswith("AWS::Comprehend::")}


def test_new_training_data_trains_a_new_model_version_under_the_same_name():
    """CloudFormation replaces a model whose input changed; the version name, a digest of that input, lets
    the new version exist beside the old one (same name) until the endpoint has moved to it."""
    base = _training(load_safety_config(USECASE), ["dev"])
    model = botocore.session.get_session().get_service_model("comprehend")
    version_shape = model.operation_model("CreateDocumentClassifier").input_shape.members["VersionName"]

    def versions(safety: SafetyConfig) -> dict[str, tuple[str, str]]:
        names = {"ToxicityClassifier": "DocumentClassifierName", "EntityRecognizer": "RecognizerName"}
        models = _models(safety)
        return {
            lid: (models[lid]["Properties"][key], models[lid]["Properties"]["VersionName"])
            for lid, key in names.items()
        }

    before = versions(base)
    for _, version in before.values():
        assert re.fullmatch(version_shape.metadata["pattern"], version)
        assert len(version) <= version_shape.metadata["max"]

    def changed(path: str, value: Any) -> SafetyConfig:
        data = base.model_dump(mode="json")
        node = data["custom_models"]
        *parents, leaf = path.split(".")
        for part in parents:
            node = node[part]
        node[leaf] = value
        return SafetyConfig.model_validate(data)

    retrained = versions(changed("toxicity_classifier.training_csv", "safety/toxicity/v2/train.csv"))
    assert retrained["ToxicityClassifier"][0] == before["ToxicityClassifier"][0]
    assert retrained["ToxicityClassifier"][1] != before["ToxicityClassifier"][1]
    assert retrained["EntityRecognizer"] == before["EntityRecognizer"]
    assert (
        versions(changed("entity_recognizer.entity_list", "safety/entities/v2.csv"))["EntityRecognizer"][1]
        != (before["EntityRecognizer"][1])
    )
    # Runtime-only settings never retrain.
    assert versions(changed("toxicity_classifier.threshold", 0.9)) == before
    assert versions(changed("entity_recognizer.inference_units", 2)) == before


def _grants(statements: list[dict[str, Any]]) -> set[tuple[str, str]]:
    """(action, resource as JSON) pairs, whatever way CDK merged the statements."""
    pairs = set()
    for statement in statements:
        actions = [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        pairs |= {
            (a, json.dumps(r, sort_keys=True)) for a in actions for r in resources if "Condition" not in statement
        }
    return pairs


def test_caller_gets_exactly_the_named_actions(app_stacks):
    statements = _caller_statements(app_stacks["tCustom"])
    grants = {(a, r) for a, r in _grants(statements) if not a.startswith(("logs:", "xray:"))}
    assert grants == {
        ("bedrock:ApplyGuardrail", json.dumps({"Fn::GetAtt": ["Guardrail", "GuardrailArn"]})),
        ("comprehend:DetectPiiEntities", '"*"'),
        ("comprehend:DetectToxicContent", '"*"'),
        ("comprehend:ClassifyDocument", json.dumps({"Fn::GetAtt": ["ToxicityClassifierEndpoint", "Arn"]})),
        ("comprehend:DetectEntities", json.dumps({"Fn::GetAtt": ["EntityRecognizerEndpoint", "Arn"]})),
    }
    (kms,) = [s for s in statements if s["Action"] == "kms:Decrypt" and "bedrock" in json.dumps(s["Condition"])]
    assert kms["Condition"]["StringEquals"]["kms:ViaService"] == {
        "Fn::Join": ["", ["bedrock.", {"Ref": "AWS::Region"}, ".amazonaws.com"]]
    }


def test_templates_pass_the_offline_iam_check(app_stacks):
    templates = {k: v for k, v in app_stacks["templates"].items() if k.startswith("Guardrails")}
    assert check(templates, load_allowlist()) == []


def test_custom_models_train_from_the_stack_bucket_with_a_scoped_role(app_stacks):
    template = app_stacks["tCustom"]
    template.has_resource_properties(
        "AWS::Comprehend::DocumentClassifier",
        {
            "Mode": "MULTI_CLASS",
            "LanguageCode": "en",
            "InputDataConfig": {
                "DataFormat": "COMPREHEND_CSV",
                "S3Uri": {
                    "Fn::Join": [
                        "",
                        ["s3://", {"Ref": Match.string_like_regexp("TrainingData")}, "/safety/toxicity/train.csv"],
                    ]
                },
            },
            "ModelKmsKeyId": Match.any_value(),
            "VolumeKmsKeyId": Match.any_value(),
        },
    )
    template.has_resource_properties(
        "AWS::Comprehend::EntityRecognizer",
        {"InputDataConfig": Match.object_like({"EntityTypes": [{"Type": "COMPETITOR"}, {"Type": "INTERNAL_PROJECT"}]})},
    )
    template.has_resource_properties("AWS::Comprehend::DocumentClassifierEndpoint", {"DesiredInferenceUnits": 1})
    template.has_resource_properties(
        "AWS::IAM::Role",
        {
            "AssumeRolePolicyDocument": {
                "Statement": [
                    Match.object_like(
                        {
                            "Principal": {"Service": "comprehend.amazonaws.com"},
                            "Condition": {
                                "StringEquals": {"aws:SourceAccount": "111111111111"},
                                "ArnLike": {
                                    "aws:SourceArn": [
                                        "arn:aws:comprehend:us-east-1:111111111111:document-classifier/*",
                                        "arn:aws:comprehend:us-east-1:111111111111:entity-recognizer/*",
                                    ]
                                },
                            },
                        }
                    )
                ]
            }
        },
    )


def test_function_gets_the_safety_settings_with_deployed_ids(app_stacks):
    template = app_stacks["tCustom"]
    functions = template.find_resources("AWS::Lambda::Function")
    (function,) = functions.values()
    joined = function["Properties"]["Environment"]["Variables"]["SAFETY_SETTINGS"]["Fn::Join"][1]
    tokens = [part for part in joined if isinstance(part, dict)]
    assert {"Fn::GetAtt": ["Guardrail", "GuardrailId"]} in tokens
    assert {"Fn::GetAtt": [next(iter(template.find_resources("AWS::Bedrock::GuardrailVersion"))), "Version"]} in tokens
    assert {"Fn::GetAtt": ["EntityRecognizerEndpoint", "Arn"]} in tokens
    # With the tokens replaced by deploy-time values, the JSON is what the Lambda's model accepts.
    values = {
        "GuardrailId": "abc123def456",
        "Version": "3",
        "ToxicityClassifierEndpoint": "arn:aws:comprehend:us-east-1:111111111111:document-classifier-endpoint/tox",
        "EntityRecognizerEndpoint": "arn:aws:comprehend:us-east-1:111111111111:entity-recognizer-endpoint/ents",
    }
    rendered = "".join(
        part if isinstance(part, str) else values.get(part["Fn::GetAtt"][1], values.get(part["Fn::GetAtt"][0], ""))
        for part in joined
    )
    settings = SafetySettings.model_validate_json(rendered)
    assert settings.guardrail.identifier == "abc123def456"
    assert settings.guardrail.version == "3"
    assert settings.toxicity.classifier_block_labels == frozenset({"toxic"})
    assert settings.entities.endpoint_arn == values["EntityRecognizerEndpoint"]


def test_custom_models_refuse_a_region_without_the_comprehend_resources():
    app = cdk.App(context=cdk_json_context())
    env = cdk.Environment(account="111111111111", region="eu-west-1")
    stage = StagePolicy("dev")
    foundation = FoundationStack(app, "F", props=FoundationProps(name_prefix="t-dev", stage=stage), env=env)
    props = GuardrailsProps(
        key=foundation.key,
        stage=stage,
        usecase_id=USECASE,
        policy=load_guardrail_policy(USECASE),
        name_prefix="t-dev",
        safety=load_safety_config(USECASE),
        custom_models=True,
        access_logs=foundation.access_logs.bucket,
    )
    with pytest.raises(ValueError, match="eu-west-1 lacks the Comprehend endpoint resources"):
        GuardrailsStack(app, "G", props=props, env=env)


# ----------------------------------------------------------------------------------- policy model

GOOD = yaml.safe_load((Path(__file__).resolve().parents[2] / "usecases" / USECASE / "guardrail.yaml").read_text())


def _with(path: str, value: Any) -> dict[str, Any]:
    data = json.loads(json.dumps(GOOD))
    node = data
    *parents, leaf = path.split(".")
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if value is _DELETE:
        del node[leaf]
    else:
        node[leaf] = value
    return data


_DELETE = object()

BAD_POLICIES = {
    "missing harm category": (
        "content_filters.HATE",
        _DELETE,
        "content_filters.HATE",
        "required, but missing",
    ),
    "unknown strength": (
        "content_filters.SEXUAL",
        {"input": "EXTREME", "output": "HIGH"},
        "content_filters.SEXUAL.input",
        "must be 'NONE', 'LOW', 'MEDIUM' or 'HIGH'",
    ),
    "prompt attack off": (
        "content_filters.PROMPT_ATTACK",
        "NONE",
        "content_filters",
        "PROMPT_ATTACK must be",
    ),
    "unknown pii type": (
        "sensitive_information.pii",
        {"SSN": {"input": "BLOCK", "output": "BLOCK"}},
        "sensitive_information.pii.SSN",
        "not an allowed key",
    ),
    "pii output action missing": (
        "sensitive_information.pii",
        {"EMAIL": {"input": "ANONYMIZE"}},
        "sensitive_information.pii.EMAIL.output",
        "required, but missing",
    ),
    "pii action not block/anonymize": (
        "sensitive_information.pii",
        {"EMAIL": {"input": "NONE", "output": "BLOCK"}},
        "sensitive_information.pii.EMAIL.input",
        "must be 'BLOCK' or 'ANONYMIZE'",
    ),
    "regex does not compile": (
        "sensitive_information.regexes.0.pattern",
        "CUST-[0-9{8}",
        "sensitive_information.regexes.0.pattern",
        "does not compile",
    ),
    "regex too long": (
        "sensitive_information.regexes.0.pattern",
        "a" * (MAX_REGEX_PATTERN + 1),
        "sensitive_information.regexes.0.pattern",
        "at most 500",
    ),
    "topic name characters": (
        "denied_topics.0.name",
        "Investment/advice",
        "denied_topics.0.name",
        "must be letters, digits, spaces and - _ ! ? . only",
    ),
    "topic definition too long": (
        "denied_topics.0.definition",
        "x" * (MAX_TOPIC_DEFINITION + 1),
        "denied_topics.0.definition",
        "at most 200",
    ),
    "too many examples": (
        "denied_topics.0.examples",
        [f"example {i}" for i in range(6)],
        "denied_topics.0.examples",
        "at most 5",
    ),
    "no examples": (
        "denied_topics.0.examples",
        [],
        "denied_topics.0.examples",
        "at least 1",
    ),
    "duplicate topics": (
        "denied_topics.1.name",
        "investment advice",
        "denied_topics",
        "topic names must be unique",
    ),
    "blocked message too long": (
        "blocked_messages.input",
        "x" * (MAX_BLOCKED_MESSAGE + 1),
        "blocked_messages.input",
        "at most 500",
    ),
    "word too long": (
        "words.deny",
        ["x" * (MAX_WORD + 1)],
        "words.deny.0",
        "at most 100",
    ),
    "grounding threshold 1": (
        "contextual_grounding.grounding",
        1.0,
        "contextual_grounding.grounding",
        "less than or equal to 0.99",
    ),
    "unknown field": (
        "content_filters.MISCHIEF",
        {"input": "HIGH", "output": "HIGH"},
        "content_filters.MISCHIEF",
        "unknown field",
    ),
}


@pytest.mark.parametrize("case", BAD_POLICIES, ids=list(BAD_POLICIES))
def test_bad_policy_fails_with_field_and_reason(case):
    path, value, field, reason = BAD_POLICIES[case]
    with pytest.raises(ConfigError) as caught:
        parse_guardrail_policy(_with(path, value), source="usecases/x/guardrail.yaml")
    assert caught.value.source == "usecases/x/guardrail.yaml"
    assert caught.value.field == field
    assert reason in caught.value.reason


def test_missing_or_broken_policy_file(tmp_path):
    (tmp_path / "uc").mkdir()
    with pytest.raises(ConfigError, match="missing: every use case needs a guardrail policy"):
        load_guardrail_policy("uc", root=tmp_path)
    (tmp_path / "uc" / "guardrail.yaml").write_text("description: [unclosed\n")
    with pytest.raises(ConfigError, match=r"line \d+: invalid YAML"):
        load_guardrail_policy("uc", root=tmp_path)


def test_fingerprint_ignores_order_and_wrapping_but_not_content():
    base = parse_guardrail_policy(GOOD, source="s")
    reordered = json.loads(json.dumps(GOOD))
    reordered["denied_topics"].reverse()
    reordered["words"]["deny"].reverse()
    reordered["sensitive_information"]["pii"] = dict(reversed(list(GOOD["sensitive_information"]["pii"].items())))
    reordered["description"] = "  " + textwrap.fill(GOOD["description"], 30) + "\n"
    assert parse_guardrail_policy(reordered, source="s").fingerprint() == base.fingerprint()
    for path, value in [
        ("contextual_grounding.grounding", 0.76),
        ("content_filters.INSULTS", {"input": "HIGH", "output": "HIGH"}),
        ("sensitive_information.pii.EMAIL", {"input": "BLOCK", "output": "ANONYMIZE"}),
        ("words.managed_profanity", False),
        ("blocked_messages.output", "No."),
    ]:
        assert parse_guardrail_policy(_with(path, value), source="s").fingerprint() != base.fingerprint(), path


def test_policy_limits_match_the_bedrock_api_model():
    model = botocore.session.get_session().get_service_model("bedrock")

    def shape(name: str) -> Any:
        return model.shape_for(name)

    assert set(get_args(PiiType)) == set(shape("GuardrailPiiEntityType").enum)
    assert set(get_args(Strength)) == set(shape("GuardrailFilterStrength").enum)
    assert shape("GuardrailBlockedMessaging").metadata["max"] == MAX_BLOCKED_MESSAGE
    assert shape("GuardrailTopicsConfig").metadata["max"] == MAX_TOPICS
    assert shape("GuardrailTopicName").metadata["max"] == MAX_TOPIC_NAME
    assert shape("GuardrailTopicDefinition").metadata["max"] == MAX_TOPIC_DEFINITION
    assert shape("GuardrailTopicExamples").metadata["max"] == MAX_TOPIC_EXAMPLES
    assert shape("GuardrailTopicExample").metadata["max"] == MAX_TOPIC_EXAMPLE
    assert shape("GuardrailWordConfig").members["text"].metadata["max"] == MAX_WORD
    assert shape("GuardrailRegexConfig").members["pattern"].metadata["max"] == MAX_REGEX_PATTERN
    assert re.fullmatch(shape("GuardrailTopicName").metadata["pattern"], "Investment advice")


# ---------------------------------------------------------------------------------- safety config


def test_the_stack_builds_the_lambdas_settings_model_and_its_json_is_what_the_lambda_parses():
    config = load_safety_config(USECASE)
    settings = config.runtime_settings(guardrail_identifier="abc123", guardrail_version="2")
    assert isinstance(settings, SafetySettings)
    assert SafetySettings.model_validate_json(settings.model_dump_json()) == settings
    assert settings.entities.deny_terms == frozenset(config.entities.deny_terms)
    assert (settings.guardrail.identifier, settings.guardrail.version) == ("abc123", "2")
    # mypy catches a field renamed or removed on either side; this, a runtime field safety.yaml cannot set.
    assert set(SafetySettings.model_fields) == set(SafetyConfig.model_fields) - {"custom_models"}


def test_deploy_time_tokens_go_in_after_everything_else_was_validated():
    config = SafetyConfig.model_validate({"guardrail": {"apply_on_input": True}})
    guardrail_id, version = cdk.Token.as_string({"Ref": "Guardrail"}), cdk.Token.as_string({"Ref": "Version"})
    settings = config.runtime_settings(guardrail_identifier=guardrail_id, guardrail_version=version)
    assert (settings.guardrail.identifier, settings.guardrail.version) == (guardrail_id, version)
    assert settings.guardrail.apply_on_input
    # The cross-field rule still holds: applying the guardrail without its identifier is refused at synth.
    with pytest.raises(ValidationError, match="need the guardrail identifier"):
        config.runtime_settings()
    # A concrete value is validated as given.
    with pytest.raises(ValidationError, match=r"EntitySettings\s+endpoint_arn"):
        config.runtime_settings(guardrail_identifier=guardrail_id, recognizer_endpoint_arn="arn:aws:s3:::bucket")


def test_safety_config_types_match_the_comprehend_api_model():
    model = botocore.session.get_session().get_service_model("comprehend")
    assert set(get_args(ComprehendPiiType)) == set(model.shape_for("PiiEntityType").enum) - {"ALL"}
    assert set(get_args(ToxicityLabel)) - {"TOXICITY"} == set(model.shape_for("ToxicContentType").enum)


BAD_SAFETY = {
    "threshold above 1": ({"toxicity": {"thresholds": {"INSULT": 1.5}}}, "toxicity.thresholds.INSULT"),
    "unknown toxicity label": ({"toxicity": {"thresholds": {"RUDE": 0.5}}}, "toxicity.thresholds.RUDE"),
    "unknown pii type": ({"pii": {"entity_types": ["SOCIAL"]}}, "pii.entity_types.0"),
    "lower-case entity type": ({"entities": {"deny_types": ["competitor"]}}, "entities.deny_types"),
    "denied type the recognizer does not know": (
        {
            "entities": {"deny_types": ["RIVAL"]},
            "custom_models": {
                "entity_recognizer": {"entity_types": ["COMPETITOR"], "documents": "d.txt", "entity_list": "e.csv"}
            },
        },
        "(root)",
    ),
    "unknown key": ({"injection": {"threshold": 0.5, "mode": "strict"}}, "injection.mode"),
    "train an unknown stage": (
        {"custom_models": {"train": ["qa"], "toxicity_classifier": {"training_csv": "t.csv", "block_labels": ["x"]}}},
        "custom_models.train.0",
    ),
    "train with nothing to train": ({"custom_models": {"train": ["dev"]}}, "custom_models"),
}


@pytest.mark.parametrize("case", BAD_SAFETY, ids=list(BAD_SAFETY))
def test_bad_safety_config_fails_before_synth(case, tmp_path):
    data, field = BAD_SAFETY[case]
    (tmp_path / "uc").mkdir()
    (tmp_path / "uc" / "safety.yaml").write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError) as caught:
        load_safety_config("uc", root=tmp_path)
    assert caught.value.field == field


def test_guardrail_grant_is_the_one_action_on_the_one_arn():
    stack = guardrails_beside_foundation("t-dev")
    role = iam.Role(stack, "R", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    stack.grant_apply(role)
    statements = stack.resolve(role.node.find_child("DefaultPolicy").node.default_child.policy_document)["Statement"]  # type: ignore[union-attr]
    assert statements[0] == {
        "Action": "bedrock:ApplyGuardrail",
        "Effect": "Allow",
        "Resource": {"Fn::GetAtt": ["Guardrail", "GuardrailArn"]},
    }
    assert stack.version.node.id.startswith("Version")


# ------------------------------------------------------------------------- fingerprint, every field

# One change per field of the policy model (leaf paths of GuardrailPolicy); each must change the fingerprint.
FIELD_CHANGES: dict[str, Any] = {
    "description": "Another assistant.",
    "blocked_messages.input": "No.",
    "blocked_messages.output": "Not that.",
    **{f"content_filters.{c}.input": "LOW" for c in ("SEXUAL", "VIOLENCE", "HATE", "INSULTS", "MISCONDUCT")},
    **{f"content_filters.{c}.output": "LOW" for c in ("SEXUAL", "VIOLENCE", "HATE", "INSULTS", "MISCONDUCT")},
    "content_filters.PROMPT_ATTACK": "MEDIUM",
    "denied_topics.0.name": "Tax advice",
    "denied_topics.0.definition": "Advice on taxes.",
    "denied_topics.0.examples": ["How do I pay less tax?"],
    "words.managed_profanity": False,
    "words.deny": ["internal use only"],
    "sensitive_information.pii.EMAIL.input": "BLOCK",
    "sensitive_information.pii.EMAIL.output": "BLOCK",
    "sensitive_information.regexes.0.name": "account-key",
    "sensitive_information.regexes.0.description": "Another key.",
    "sensitive_information.regexes.0.pattern": "\\bACCT-[0-9]{8}\\b",
    "sensitive_information.regexes.0.input": "BLOCK",
    "sensitive_information.regexes.0.output": "BLOCK",
    "contextual_grounding.grounding": 0.74,
    "contextual_grounding.relevance": 0.51,
}


def _leaf_fields(model: Any, prefix: str = "") -> set[str]:
    """Every leaf field of a pydantic model, as a dotted path (list and dict items stand for their element)."""
    fields: set[str] = set()
    for name, info in model.model_fields.items():
        path = f"{prefix}{name}"
        nested = [a for a in (info.annotation, *get_args(info.annotation)) for a in (a, *get_args(a))]
        models = [a for a in nested if isinstance(a, type) and issubclass(a, BaseModel)]
        fields |= _leaf_fields(models[0], f"{path}.") if models else {path}
    return fields


def _field_of(path: str) -> str:
    """`denied_topics.0.name` -> `denied_topics.name`; `sensitive_information.pii.EMAIL.input` -> `...pii.input`."""
    parts = path.split(".")
    return ".".join(p for i, p in enumerate(parts) if not p.isdigit() and not (i > 0 and parts[i - 1] == "pii"))


def test_the_field_changes_cover_every_field_of_the_policy_model():
    assert {_field_of(path) for path in FIELD_CHANGES} | {"sensitive_information.pii"} >= _leaf_fields(
        GuardrailPolicy
    ) - {"sensitive_information.pii"}
    assert "sensitive_information.pii.input" in {_field_of(p) for p in FIELD_CHANGES}


@pytest.mark.parametrize(("path", "value"), list(FIELD_CHANGES.items()), ids=list(FIELD_CHANGES))
def test_the_fingerprint_changes_with_every_policy_field(path, value):
    base = parse_guardrail_policy(GOOD, source="s")
    changed = parse_guardrail_policy(_with(path, value), source="s")
    assert changed != base  # the change reached the model
    assert changed.fingerprint() != base.fingerprint(), path


def test_the_fingerprint_changes_when_a_pii_type_or_grounding_is_added_or_removed():
    base = parse_guardrail_policy(GOOD, source="s").fingerprint()
    added = _with("sensitive_information.pii.USERNAME", {"input": "ANONYMIZE", "output": "ANONYMIZE"})
    assert parse_guardrail_policy(added, source="s").fingerprint() != base
    assert parse_guardrail_policy(_with("sensitive_information.pii.EMAIL", _DELETE), source="s").fingerprint() != base
    assert parse_guardrail_policy(_with("contextual_grounding", _DELETE), source="s").fingerprint() != base


def test_the_fingerprint_is_sha256_of_the_canonical_policy_json():
    """Computed independently: sorted keys, compact separators, ASCII, over the model's JSON dump."""
    policy = parse_guardrail_policy(GOOD, source="s")
    canonical = json.dumps(policy.model_dump(mode="json"), sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    assert policy.fingerprint() == hashlib.sha256(canonical.encode()).hexdigest()
    assert re.fullmatch(r"[0-9a-f]{64}", policy.fingerprint())


# ------------------------------------------------------------------ input and output actions that differ


def test_pii_and_regex_actions_that_differ_per_direction_are_rendered_as_written():
    data = _with("sensitive_information.pii.EMAIL", {"input": "ANONYMIZE", "output": "BLOCK"})
    data["sensitive_information"]["pii"]["PASSWORD"] = {"input": "BLOCK", "output": "ANONYMIZE"}
    data["sensitive_information"]["regexes"][0] |= {"input": "BLOCK", "output": "ANONYMIZE"}
    rendered = render_policy(parse_guardrail_policy(data, source="s"))
    sensitive: Any = rendered["sensitive_information_policy_config"]
    pii = {e.type: e for e in sensitive.pii_entities_config}
    assert (pii["EMAIL"].input_action, pii["EMAIL"].output_action, pii["EMAIL"].action) == (
        "ANONYMIZE",
        "BLOCK",
        "BLOCK",
    )
    assert (pii["PASSWORD"].input_action, pii["PASSWORD"].output_action, pii["PASSWORD"].action) == (
        "BLOCK",
        "ANONYMIZE",
        "ANONYMIZE",
    )
    assert (pii["PHONE"].input_action, pii["PHONE"].output_action) == ("ANONYMIZE", "ANONYMIZE")
    assert all(e.input_enabled is True and e.output_enabled is True for e in pii.values())
    (regex,) = sensitive.regexes_config
    assert (regex.name, regex.input_action, regex.output_action, regex.action) == (
        "customer-key",
        "BLOCK",
        "ANONYMIZE",
        "ANONYMIZE",
    )
    filters: Any = rendered["content_policy_config"]
    insults = next(f for f in filters.filters_config if f.type == "INSULTS")
    assert (insults.input_strength, insults.output_strength) == ("MEDIUM", "HIGH")
