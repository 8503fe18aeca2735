"""Prompts stack under all nag packs: one prompt per variant (per step), versions per content, the exports for the
serving stage, exact grants, cfn-lint, and the stack alone in a fresh App against a team's own key."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import botocore.session
import pytest
from aws_cdk.assertions import Match, Template
from common.prompts.contract import PROMPT_VERSION_ARN, TaskPrompts

from stacks.app_builder import cdk_json_context
from stacks.common.kit_function import KitFunction
from stacks.common.nag import add_nag_packs
from stacks.common.stage_policy import StagePolicy
from stacks.config import kit_config_from_context
from stacks.foundation.stack import FoundationProps, FoundationStack
from stacks.prompts.prompt import MAX_PROMPT_NAME, prompt_name
from stacks.prompts.settings import PromptsSettings, parse_prompts_settings
from stacks.prompts.stack import PromptsProps, PromptsStack
from stacks.stage import JourneyStage
from stacks.usecase_files import UseCaseFiles, load_usecase_files
from tests.cfn_lint import lint_template, problems
from tests.stacks.test_forking import ENV, KEY_ARN, KEY_POLICY_WARNING, Imported, _synth
from tools.iam_check import check, load_allowlist

USECASE = "customer-retention"
PREFIX = "journey-customer-retention-prod"
BOTOCORE = botocore.session.get_session()
BEDROCK_NAME = re.compile(r"^([0-9a-zA-Z][_-]?){1,100}$")  # CreatePrompt's name form (botocore model below)


@pytest.fixture(scope="module")
def files() -> UseCaseFiles:
    return load_usecase_files(USECASE)


def _prompts_stack(
    app: cdk.App, key: Any, settings: PromptsSettings, stage: str = "prod", **kwargs: Any
) -> PromptsStack:
    return PromptsStack(
        app,
        kwargs.pop("construct_id", "Prompts"),
        props=PromptsProps(
            name_prefix=kwargs.pop("name_prefix", PREFIX),
            stage=StagePolicy(stage),  # type: ignore[arg-type]
            key=key,
            model_id=kwargs.pop("model_id", "global.anthropic.claude-haiku-4-5-20251001-v1:0"),
            settings=settings,
        ),
        **kwargs,
    )


@pytest.fixture(scope="module")
def built(tmp_path_factory, files) -> dict[str, Any]:
    """Foundation and Prompts (prod) with a function that reads the prompts, under every nag pack."""
    app = cdk.App(outdir=str(tmp_path_factory.mktemp("prompts")), context=cdk_json_context())
    stage = StagePolicy("prod")
    foundation = FoundationStack(app, "Foundation", props=FoundationProps(name_prefix="tprompts-prod", stage=stage))
    assert files.prompts is not None
    stack = _prompts_stack(app, foundation.key, files.prompts)
    caller = KitFunction(
        stack,
        "Chat",
        handler="common.clients.client",  # any importable function: this test only synthesizes
        description="runs the selected prompts",
        service="chat",
        namespace="Tests",
        key=foundation.key,
        stage=stage,
    )
    stack.grant_read(caller.role)
    stack.grant_render(caller.role, "classify")
    add_nag_packs(app)  # synth raises on any unacknowledged finding of the four packs
    assembly = app.synth()
    templates = {s.stack_name: s.template for s in assembly.stacks}
    return {"stack": stack, "template": Template.from_json(templates["Prompts"]), "templates": templates}


def _resources(template: Template, kind: str) -> dict[str, Any]:
    return dict(template.find_resources(kind))


def _tags(resource: dict[str, Any]) -> dict[str, str]:
    return dict(resource["Properties"].get("Tags", {}))


# --------------------------------------------------------------------------------------------- prompts


def test_each_variant_is_one_prompt_and_a_multi_prompt_variant_one_per_step(built, files):
    prompts = _resources(built["template"], "AWS::Bedrock::Prompt")
    expected = {
        prompt_name(PREFIX, task, variant.name, *([step.name] if step else []))
        for task, spec in files.prompts.tasks.items()
        for variant in spec.variants
        for step in (variant.steps or [None])
    }
    assert {p["Properties"]["Name"] for p in prompts.values()} == expected
    assert "journey-customer-retention-prod-answer-extract-then-answer-facts" in expected
    assert all(len(p["Properties"]["Variants"]) == 1 for p in prompts.values())
    assert all(p["Properties"]["DefaultVariant"] == p["Properties"]["Variants"][0]["Name"] for p in prompts.values())


def test_prompts_are_tagged_with_task_variant_technique_and_step(built):
    prompts = _resources(built["template"], "AWS::Bedrock::Prompt")
    by_name = {p["Properties"]["Name"].removeprefix(f"{PREFIX}-"): _tags(p) for p in prompts.values()}
    assert by_name["answer-extract-then-answer-facts"] == {
        "task": "answer",
        "variant": "extract-then-answer",
        "technique": "multi-prompt",
        "step": "facts",
    }
    assert by_name["classify-chain-of-thought"] == {
        "task": "classify",
        "variant": "chain-of-thought",
        "technique": "chain-of-thought",
    }
    versions = _resources(built["template"], "AWS::Bedrock::PromptVersion")
    assert {json.dumps(_tags(v), sort_keys=True) for v in versions.values()} == {
        json.dumps(t, sort_keys=True) for t in by_name.values()
    }


def _variant(built: dict[str, Any], short_name: str) -> dict[str, Any]:
    for prompt in _resources(built["template"], "AWS::Bedrock::Prompt").values():
        if prompt["Properties"]["Name"] == f"{PREFIX}-{short_name}":
            variant: dict[str, Any] = prompt["Properties"]["Variants"][0]
            return variant
    raise AssertionError(short_name)


def test_text_template_with_its_variables_and_only_the_inference_settings_given(built, files):
    variant = _variant(built, "summarize-chain-of-thought")
    spec = files.prompts.tasks["summarize"].variants[1]
    assert variant == {
        "Name": "chain-of-thought",
        "TemplateType": "TEXT",
        "TemplateConfiguration": {
            "Text": {"Text": spec.template, "InputVariables": [{"Name": "channel"}, {"Name": "notes"}]}
        },
        "ModelId": "global.anthropic.claude-haiku-4-5-20251001-v1:0",
        "InferenceConfiguration": {"Text": {"Temperature": 0.2, "MaxTokens": 500}},
    }


def test_system_text_makes_a_chat_template_of_one_system_block_and_one_user_message(built, files):
    variant = _variant(built, "classify-few-shot")
    spec = files.prompts.tasks["classify"].variants[0]
    assert variant["TemplateType"] == "CHAT"
    assert variant["TemplateConfiguration"] == {
        "Chat": {
            "System": [{"Text": spec.system}],
            "Messages": [{"Role": "user", "Content": [{"Text": spec.template}]}],
            "InputVariables": [{"Name": "notes"}],
        }
    }


def test_a_later_step_takes_the_earlier_step_as_an_input_variable(built):
    variant = _variant(built, "answer-extract-then-answer-answer")
    assert variant["TemplateConfiguration"]["Chat"]["InputVariables"] == [{"Name": "facts"}, {"Name": "question"}]


def test_bedrock_takes_the_inference_profile_id_as_the_model_of_a_prompt(files):
    """Prompt Management's modelId is "the unique identifier of the model or inference profile" (CreatePrompt);
    the use case's `global.` profile id matches its pattern and CloudFormation's."""
    shape = BOTOCORE.get_service_model("bedrock-agent").operation_model("CreatePrompt").input_shape
    model_id = shape.members["variants"].member.members["modelId"]
    assert "inference profile" in model_id.documentation
    assert re.fullmatch(model_id.metadata["pattern"], files.usecase.models.text)
    assert shape.members["variants"].metadata["max"] == 1  # one variant per prompt


def test_names_fit_bedrock_even_at_the_longest_prefix_and_names():
    assert (
        BEDROCK_NAME.pattern.strip("^$")
        == BOTOCORE.get_service_model("bedrock-agent")
        .operation_model("CreatePrompt")
        .input_shape.members["name"]
        .metadata["pattern"]
    )
    long = [prompt_name("p" * 34 + "-prod", "t" * 31, f"v{i}" + "v" * 29, "s" * 40) for i in range(3)]
    assert all(len(n) == MAX_PROMPT_NAME and BEDROCK_NAME.match(n) for n in long)
    assert len(set(long)) == 3  # the digest keeps cut names apart
    assert prompt_name("a-prod", "answer", "few-shot") == "a-prod-answer-few-shot"


def test_every_prompt_is_encrypted_with_the_key_and_retained_in_prod(built):
    for resource in _resources(built["template"], "AWS::Bedrock::Prompt").values():
        assert "CustomerEncryptionKeyArn" in resource["Properties"]
        assert resource["DeletionPolicy"] == "Retain"
    for resource in _resources(built["template"], "AWS::Bedrock::PromptVersion").values():
        assert resource["DeletionPolicy"] == "Retain"
        assert resource["Properties"]["PromptArn"]["Fn::GetAtt"][1] == "Arn"


# --------------------------------------------------------------------------------------------- versions


def _version_ids(settings: PromptsSettings, stage: str = "prod") -> dict[str, str]:
    """Prompt name -> the logical id of its version, from a quick synth (no nag packs)."""
    app = cdk.App(context=cdk_json_context())
    key_scope = cdk.Stack(app, "Keys")
    key = cdk.aws_kms.Key(key_scope, "Key")
    stack = _prompts_stack(app, key, settings, stage=stage)
    template = app.synth().get_stack_by_name(stack.stack_name).template
    names = {
        lid: r["Properties"]["Name"] for lid, r in template["Resources"].items() if r["Type"] == "AWS::Bedrock::Prompt"
    }
    return {
        names[r["Properties"]["PromptArn"]["Fn::GetAtt"][0]]: lid
        for lid, r in template["Resources"].items()
        if r["Type"] == "AWS::Bedrock::PromptVersion"
    }


def _changed(settings: PromptsSettings, change: Any) -> PromptsSettings:
    data = copy.deepcopy(settings.model_dump(mode="json", exclude_none=True))
    change(data)
    return parse_prompts_settings(data, source="usecases/x/prompts.yaml")


def test_a_new_version_is_published_when_and_only_when_a_prompt_changes(files):
    before = _version_ids(files.prompts)
    assert all(re.search(r"Version[0-9a-f]{12}", lid) for lid in before.values())

    def new_template(data: dict[str, Any]) -> None:
        data["tasks"]["classify"]["variants"][1]["template"] += "\nBe brief."

    def new_temperature(data: dict[str, Any]) -> None:
        data["tasks"]["answer"]["variants"][2]["inference"]["temperature"] = 0.3

    def reselect(data: dict[str, Any]) -> None:  # which variant serves is not the content of any prompt
        data["tasks"]["summarize"]["variants"][0]["selected"] = False
        data["tasks"]["summarize"]["variants"][1]["selected"] = True

    after = _version_ids(_changed(files.prompts, new_template))
    assert {n for n in before if before[n] != after[n]} == {f"{PREFIX}-classify-chain-of-thought"}
    after = _version_ids(_changed(files.prompts, new_temperature))
    assert {n for n in before if before[n] != after[n]} == {
        f"{PREFIX}-answer-extract-then-answer-facts",
        f"{PREFIX}-answer-extract-then-answer-answer",
    }
    assert _version_ids(_changed(files.prompts, reselect)) == before


def test_dev_deletes_prompts_and_superseded_versions(files):
    app = cdk.App(context=cdk_json_context())
    key = cdk.aws_kms.Key(cdk.Stack(app, "Keys"), "Key")
    stack = _prompts_stack(app, key, files.prompts, stage="dev", name_prefix="journey-customer-retention-dev")
    template = app.synth().get_stack_by_name(stack.stack_name).template
    policies = {r["DeletionPolicy"] for r in template["Resources"].values() if r["Type"].startswith("AWS::Bedrock::")}
    assert policies == {"Delete"}


# --------------------------------------------------------------------------------------------- exports


def _resolve_arns(value: Any) -> str:
    """An SSM value (an Fn::Join of literals and version GetAtts) with each version ARN made up from its logical
    id, as CloudFormation would fill it in."""
    if isinstance(value, str):
        return value
    ((function, args),) = value.items()
    if function == "Fn::Join":
        return args[0].join(_resolve_arns(part) for part in args[1])
    assert function == "Fn::GetAtt", value
    assert args[1] == "Arn", value
    digits = sum(ord(c) for c in args[0]) % 99 + 1
    return f"arn:aws:bedrock:eu-west-1:111122223333:prompt/{args[0][:10].upper():X<10}:{digits}"


def test_one_parameter_per_task_holds_the_serving_contract(built, files):
    parameters = _resources(built["template"], "AWS::SSM::Parameter")
    by_name = {p["Properties"]["Name"]: p["Properties"] for p in parameters.values()}
    assert set(by_name) == {f"/{PREFIX}/prompts/{task}" for task in files.prompts.tasks}
    for task, spec in files.prompts.tasks.items():
        properties = by_name[f"/{PREFIX}/prompts/{task}"]
        assert properties["Type"] == "String"
        assert properties["Tier"] == "Standard"
        contract = TaskPrompts.model_validate_json(_resolve_arns(properties["Value"]))
        selected = files.prompts.selected(task)
        assert (contract.task, contract.variant, contract.technique) == (task, selected.name, selected.technique)
        assert contract.variables == spec.variables
        assert contract.inference == selected.inference
        assert contract.model_id == "global.anthropic.claude-haiku-4-5-20251001-v1:0"
        assert [p.step for p in contract.prompts] == [None]


def test_a_selected_multi_prompt_variant_exports_its_steps_in_order(files):
    def select_chain(data: dict[str, Any]) -> None:
        data["tasks"]["answer"]["variants"][0]["selected"] = False
        data["tasks"]["answer"]["variants"][2]["selected"] = True

    settings = _changed(files.prompts, select_chain)
    app = cdk.App(context=cdk_json_context())
    key = cdk.aws_kms.Key(cdk.Stack(app, "Keys"), "Key")
    stack = _prompts_stack(app, key, settings)
    template = app.synth().get_stack_by_name(stack.stack_name).template
    (value,) = [
        r["Properties"]["Value"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::SSM::Parameter" and r["Properties"]["Name"].endswith("/answer")
    ]
    contract = TaskPrompts.model_validate_json(_resolve_arns(value))
    assert [p.step for p in contract.prompts] == ["facts", "answer"]
    chain = stack.prompts["answer"]["extract-then-answer"]
    assert stack.selected_version_arns["answer"] == tuple(p.version_arn for p in chain)
    assert [stack.resolve(a) for a in stack.selected_version_arns["answer"]] == [
        {"Fn::GetAtt": [stack.get_logical_id(p.version), "Arn"]} for p in chain
    ]
    output = template["Outputs"]["TaskAnswer"]["Value"]
    assert output == {"Fn::Join": [",", [{"Fn::GetAtt": [stack.get_logical_id(p.version), "Arn"]} for p in chain]]}


def test_the_stack_exposes_the_selected_versions_and_parameter_names(built, files):
    stack: PromptsStack = built["stack"]
    assert set(stack.selected_version_arns) == set(files.prompts.tasks)
    assert all(len(arns) == 1 for arns in stack.selected_version_arns.values())
    assert stack.parameter_names.keys() == stack.selected.keys()
    outputs = built["templates"]["Prompts"]["Outputs"]
    assert {"TaskAnswer", "TaskSummarize", "TaskClassify", "ParameterPath"} <= set(outputs)
    assert outputs["ParameterPath"]["Value"] == f"/{PREFIX}/prompts/"
    assert PROMPT_VERSION_ARN.startswith("^arn:aws")
    with pytest.raises(ValueError, match="unknown task"):
        stack.grant_read(stack.selected["answer"].parameter.node.scope, "nonsense")  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------- IAM and lint


def _caller_statements(template: Template) -> list[dict[str, Any]]:
    policies = template.find_resources(
        "AWS::IAM::Policy", {"Properties": {"Roles": [{"Ref": Match.string_like_regexp("ChatRole")}]}}
    )
    (policy,) = policies.values()
    return list(policy["Properties"]["PolicyDocument"]["Statement"])


def test_the_caller_gets_exactly_the_named_actions_on_the_selected_versions(built):
    stack: PromptsStack = built["stack"]
    own = ("logs:", "xray:")  # the function's own logging and tracing (KitFunction)
    statements = [
        s for s in _caller_statements(built["template"]) if not json.dumps(s["Action"]).lstrip('["').startswith(own)
    ]
    version_ids = {
        task: stack.get_logical_id(prompts[0].version)
        for task, prompts in ((t, stack.prompts[t][s.variant]) for t, s in stack.selected.items())
    }
    versions = [{"Fn::GetAtt": [version_ids[t], "Arn"]} for t in ("answer", "summarize", "classify")]
    parameters = [stack.resolve(stack.selected[t].parameter.parameter_arn) for t in ("answer", "summarize", "classify")]
    by_action = {json.dumps(s["Action"]): s for s in statements}
    assert set(by_action) == {'"ssm:GetParameter"', '"bedrock:GetPrompt"', '"bedrock:RenderPrompt"', '"kms:Decrypt"'}
    assert sorted(map(json.dumps, by_action['"ssm:GetParameter"']["Resource"])) == sorted(map(json.dumps, parameters))
    assert sorted(map(json.dumps, by_action['"bedrock:GetPrompt"']["Resource"])) == sorted(map(json.dumps, versions))
    assert by_action['"bedrock:RenderPrompt"']["Resource"] == {"Fn::GetAtt": [version_ids["classify"], "Arn"]}
    decrypt = by_action['"kms:Decrypt"']
    assert decrypt["Condition"] == {
        "StringEquals": {"kms:ViaService": {"Fn::Join": ["", ["bedrock.", {"Ref": "AWS::Region"}, ".amazonaws.com"]]}}
    }


def test_the_templates_pass_the_offline_iam_check_and_cfn_lint(built):
    assert check(built["templates"], load_allowlist()) == []
    template = built["templates"]["Prompts"]
    assert problems(template) == []


def test_cfn_lint_knows_the_prompt_schema():
    """A prompt with two variants is refused by Bedrock; the check catches a variant of the wrong shape."""
    resource = {"Type": "AWS::Bedrock::Prompt", "Properties": {"Name": "a", "Variants": [{"Name": "v"}]}}
    matches = lint_template({"Resources": {"R": resource}})
    assert matches


# --------------------------------------------------------------------------------------------- the stage


def test_the_stage_builds_prompts_only_with_the_file_and_the_feature(tmp_path, files):
    def stage(context: dict[str, Any], usecase_files: UseCaseFiles) -> JourneyStage:
        app = cdk.App(context=cdk_json_context(**context))
        config = kit_config_from_context(cdk_json_context(**context))
        return JourneyStage(
            app, config=config, files=usecase_files, stage="dev", environment=config.environments["dev"]
        )

    assert stage({}, files).prompts is not None
    # The Api stack offers the multi-task architecture, which needs the prompts: it is switched off with them.
    assert stage({"features.prompts": False, "features.api": False}, files).prompts is None
    without = UseCaseFiles(**{**files.__dict__, "prompts": None})
    assert stage({"features.api": False}, without).prompts is None


# --------------------------------------------------------------------------------------------- forking


def test_the_prompts_stack_synthesizes_alone_in_a_fresh_app_with_a_teams_key(tmp_path: Path, files) -> None:
    app = cdk.App(outdir=str(tmp_path), context=cdk_json_context())
    existing = Imported()
    stack = _prompts_stack(app, existing.key, files.prompts, stage="dev", name_prefix="team-dev", env=ENV)
    caller = KitFunction(  # the team's function reading the prompts: its acknowledged findings prove the packs ran
        stack,
        "Chat",
        handler="common.clients.client",
        description="runs the selected prompts",
        service="chat",
        namespace="Team",
        key=existing.key,
        stage=StagePolicy("dev"),
    )
    stack.grant_read(caller.role)
    warnings = _synth(app, tmp_path, stack)
    template = app.synth().get_stack_by_name(stack.stack_name).template
    prompts = [r for r in template["Resources"].values() if r["Type"] == "AWS::Bedrock::Prompt"]
    assert prompts
    assert all(r["Properties"]["CustomerEncryptionKeyArn"] == KEY_ARN for r in prompts)
    assert not [w for w in warnings if KEY_POLICY_WARNING in w]  # nothing to add to the team's key policy
