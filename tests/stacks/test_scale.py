"""Scale stack (features.hosted_model and features.fine_tuning on): built by the app builder with `-c` context from
a copy of the shipped use case with scale.yaml's two sections; nag-clean, cfn-lint-clean, the IAM check, exact
IAM (iam:PassRole only to the customization role), autoscaling to zero, the CMK, the task-token state, and every
customization-job status routed. Variants (classic scaling, a CMK-capable instance type, provisioned throughput,
weights from S3) are built in a small app of Foundation + Scale."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import boto3
import pytest
import yaml
from api.deployed_settings import API_SECTION, SETTINGS_FILE
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Match, Template

from stacks.app_builder import cdk_json_context
from stacks.common.nag import add_nag_packs
from stacks.common.stage_policy import StagePolicy
from stacks.config import USECASES_DIR, ConfigError
from stacks.config.kit import Features
from stacks.foundation.stack import FoundationProps, FoundationStack
from stacks.scale.fine_tuning import JOB_STATUSES, REJECTED
from stacks.scale.hosted_model import LMI_IMAGE_TAG, has_instance_storage
from stacks.scale.settings import (
    ACCEPTANCE_FILE,
    SCALE_FILE,
    FineTuningSettings,
    HostedModelSettings,
    load_golden,
)
from stacks.scale.stack import FineTuningSource, ScaleProps, ScaleStack
from stacks.synth_gate import report_findings
from tests.cfn_lint import problems
from tests.conftest import Synth, synthesize
from tests.lambdas.import_closure import walk
from tests.lambdas.test_import_closure import Assembly
from tools.iam_check import check, load_allowlist

USECASE = "customer-retention"
PREFIX = "journey-customer-retention-dev"
STACK = f"{PREFIX}-Scale"
SECTIONS = {
    "hosted_model": {
        "model_id": "Qwen/Qwen2.5-7B-Instruct-AWQ",
        "quantization": "awq",
        "max_instances": 2,
        "serve_direct": True,
    },
    "fine_tuning": {"base_model": "amazon.nova-micro-v1:0:128k", "margin": 0.02, "approval_hours": 48},
}
BEDROCK_MODEL = boto3.client("bedrock", region_name="us-east-1").meta.service_model


def usecase_root(tmp: Path, sections: dict[str, Any] = SECTIONS) -> Path:
    """A copy of the shipped use case whose scale.yaml (the TCO tool's, if shipped) gains the Scale sections, and
    whose directly served model is accepted (hosted-acceptance.json; tests/stacks/test_accept_quantized.py)."""
    root = tmp / "usecases"
    shutil.copytree(USECASES_DIR / USECASE, root / USECASE)
    path = root / USECASE / SCALE_FILE
    existing = yaml.safe_load(path.read_text()) if path.is_file() else {}
    path.write_text(yaml.safe_dump({**(existing or {}), **sections}, sort_keys=False))
    hosted = sections.get("hosted_model")
    if hosted:
        accepted = {"model_id": hosted["model_id"], "quantization": hosted.get("quantization", "none")}
        (root / USECASE / ACCEPTANCE_FILE).write_text(json.dumps(accepted))
    return root


@pytest.fixture(scope="module")
def scale(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    tmp = tmp_path_factory.mktemp("scale")
    return synthesize(
        tmp / "cdk.out",
        usecase_root(tmp),
        stage="dev",
        **{"features.hosted_model": True, "features.fine_tuning": True},
    )


@pytest.fixture(scope="module")
def template(scale: Synth) -> dict[str, Any]:
    return scale.templates[STACK]


def resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def statements(template: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (logical, statement)
        for logical, policy in resources(template, "AWS::IAM::Policy").items()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def actions(statement: dict[str, Any]) -> list[str]:
    value = statement["Action"]
    return [value] if isinstance(value, str) else value


def logical_id(template: dict[str, Any], kind: str, path_part: str) -> str:
    (found,) = [k for k in resources(template, kind) if path_part in k]
    return found


def definition(template: dict[str, Any]) -> dict[str, Any]:
    """The state machine's ASL, its tokens replaced by their logical ids (they sit inside JSON strings)."""
    (machine,) = resources(template, "AWS::StepFunctions::StateMachine").values()
    value = machine["Properties"]["DefinitionString"]
    parts = value["Fn::Join"][1] if isinstance(value, dict) else [value]

    def text(part: Any) -> str:
        if isinstance(part, str):
            return part
        if "Ref" in part:
            return f"<{part['Ref']}>"
        if "Fn::GetAtt" in part:
            return f"<{part['Fn::GetAtt'][0]}.{part['Fn::GetAtt'][1]}>"
        return "<token>"

    return json.loads("".join(text(p) for p in parts))


# ------------------------------------------------------------------ the whole app, both features on


def test_the_app_synthesizes_the_scale_stack_with_no_unacknowledged_finding(scale: Synth):
    assert STACK in scale.templates
    assert report_findings(scale.outdir) == []


def test_the_scale_template_passes_the_iam_check_and_cfn_lint(template):
    assert check({STACK: template}, load_allowlist()) == []
    assert problems(template) == []


def test_pass_role_is_granted_once_to_exactly_the_customization_role_for_bedrock_only(template):
    role = logical_id(template, "AWS::IAM::Role", "CustomizationRole")
    passes = [(owner, s) for owner, s in statements(template) if "iam:PassRole" in actions(s)]
    assert len(passes) == 1
    owner, statement = passes[0]
    assert "StateMachine" in owner
    assert statement == {
        "Action": "iam:PassRole",
        "Condition": {"StringEquals": {"iam:PassedToService": "bedrock.amazonaws.com"}},
        "Effect": "Allow",
        "Resource": {"Fn::GetAtt": [role, "Arn"]},
    }


def test_the_customization_role_is_assumable_by_bedrock_for_this_accounts_jobs_only(template):
    role = template["Resources"][logical_id(template, "AWS::IAM::Role", "CustomizationRole")]
    (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "bedrock.amazonaws.com"}
    assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    source_arn = json.dumps(trust["Condition"]["ArnEquals"]["aws:SourceArn"])
    assert ":model-customization-job/*" in source_arn


def test_the_customization_role_reads_only_training_and_writes_only_output(template):
    role = logical_id(template, "AWS::IAM::Role", "CustomizationRole")
    owned = [
        s
        for logical, s in statements(template)
        if template["Resources"][logical]["Properties"]["Roles"] == [{"Ref": role}]
    ]
    s3_grants = {a: json.dumps(s["Resource"]) for s in owned for a in actions(s) if a.startswith("s3:")}
    assert set(s3_grants) == {"s3:GetObject", "s3:ListBucket", "s3:PutObject"}
    assert s3_grants["s3:GetObject"].endswith('"/training/*"]]}')
    assert s3_grants["s3:PutObject"].endswith('"/output/*"]]}')
    (listing,) = [s for s in owned if "s3:ListBucket" in actions(s)]
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["training/*"]}}
    assert not any(a.startswith(("bedrock:", "iam:")) for s in owned for a in actions(s))


def test_the_job_is_created_on_the_base_model_and_this_accounts_job_and_model_arns(template):
    (create,) = [s for _, s in statements(template) if "bedrock:CreateModelCustomizationJob" in actions(s)]
    rendered = json.dumps(create["Resource"])
    assert "foundation-model/amazon.nova-micro-v1:0:128k" in rendered
    assert ":model-customization-job/*" in rendered
    assert ":custom-model/*" in rendered
    assert len(create["Resource"]) == 3


def test_the_evaluate_step_invokes_only_the_evaluation_deployments_and_the_base_model(template):
    role = logical_id(template, "AWS::IAM::Role", "EvaluateFunctionRole")
    owned = [
        s
        for logical, s in statements(template)
        if template["Resources"][logical]["Properties"]["Roles"] == [{"Ref": role}]
    ]
    (invoke,) = [s for s in owned if "bedrock:InvokeModel" in actions(s)]
    rendered = json.dumps(invoke["Resource"])
    assert ":custom-model-deployment/*" in rendered
    assert "foundation-model/amazon.nova-micro-v1:0" in rendered
    assert len(invoke["Resource"]) == 2
    (decrypt,) = [s for s in owned if actions(s) == ["kms:Decrypt"] and "kms:ViaService" in json.dumps(s)]
    assert "bedrock." in json.dumps(decrypt["Condition"])


def test_the_workflow_writes_reports_and_reads_only_the_export_prefix_of_the_curated_bucket(template):
    readers = [s for _, s in statements(template) if "s3:ListBucket" in actions(s) and "Condition" in s]
    assert {tuple(s["Condition"]["StringLike"]["s3:prefix"]) for s in readers} == {("finetune/*",), ("training/*",)}


def test_approval_waits_on_a_task_token_and_a_reviewers_rejection_is_reported(template):
    states = definition(template)["States"]
    approval = states["RequestApproval"]
    assert approval["Resource"].endswith("lambda:invoke.waitForTaskToken")
    assert approval["Parameters"]["Payload"]["token.$"] == "$$.Task.Token"
    assert approval["TimeoutSeconds"] == 48 * 3600
    catches = {tuple(c["ErrorEquals"]): c["Next"] for c in approval["Catch"]}
    assert catches[(REJECTED,)] == "ReviewerRejected"
    assert catches[("States.ALL",)] == "RequestApprovalFailed"
    assert states["ReviewerRejected"]["Next"] == "ReportRejected"


def test_every_task_but_the_reports_has_a_catch_that_names_the_step_and_reports(template):
    states = definition(template)["States"]
    tasks = {name: s for name, s in states.items() if s["Type"] == "Task" and not name.startswith("Report")}
    assert set(tasks) == {
        "Validate",
        "CreateCustomizationJob",
        "GetCustomizationJob",
        "CreateEvaluationDeployment",
        "GetEvaluationDeployment",
        "Evaluate",
        "DeleteEvaluationDeployment",
        "Gate",
        "RequestApproval",
        "Promote",
    }
    for name, state in tasks.items():
        (catch_all,) = [c for c in state["Catch"] if c["ErrorEquals"] == ["States.ALL"]]
        assert catch_all["ResultPath"] == "$.error"
        named = states[catch_all["Next"]]
        assert named["ResultPath"] == "$.failed_step"
        assert named["Next"] == "ReportFailure", name
    assert states["ReportFailure"]["Next"] == "FineTuningFailed"
    assert states["FineTuningFailed"]["Type"] == "Fail"


def _route(choice: dict[str, Any], value: str) -> str:
    """The next state of a Choice for one string value (the rules the workflow uses: StringEquals and Or)."""

    def matches(rule: dict[str, Any]) -> bool:
        if "Or" in rule:
            return any(matches(r) for r in rule["Or"])
        return rule["StringEquals"] == value

    return next((rule["Next"] for rule in choice["Choices"] if matches(rule)), choice["Default"])


def test_a_failed_timed_out_or_aborted_execution_alarms_on_the_topic(template):
    alarms = [
        a["Properties"]
        for a in resources(template, "AWS::CloudWatch::Alarm").values()
        if "fine-tuning run" in json.dumps(a["Properties"].get("AlarmDescription", ""))
    ]
    (alarm,) = alarms
    assert {m["Id"]: m.get("Expression") for m in alarm["Metrics"]}["expr_1"] == "failed + timedout + aborted"
    names = {m["MetricStat"]["Metric"]["MetricName"] for m in alarm["Metrics"] if "MetricStat" in m}
    assert names == {"ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted"}
    assert alarm["Threshold"] == 1
    assert alarm["AlarmActions"] == alarm["OKActions"]


def test_every_customization_job_status_bedrock_defines_is_routed(template):
    states = definition(template)["States"]
    statuses = BEDROCK_MODEL.shape_for("ModelCustomizationJobStatus").enum
    assert set(statuses) == set(JOB_STATUSES)
    routes = {status: _route(states["JobStatus"], status) for status in statuses}
    assert routes == {
        "InProgress": "WaitForJob",
        "Stopping": "WaitForJob",
        "Completed": "CreateEvaluationDeployment",
        "Failed": "JobFailed",
        "Stopped": "JobStopped",
    }
    assert _route(states["JobStatus"], "Paused") == "JobStatusUnknown"
    for failed in ("JobFailed", "JobStopped", "JobStatusUnknown"):
        assert states[states[failed]["Next"]]["Next"] == "ReportFailure"
    assert states["WaitForJob"]["SecondsPath"] == "$.dataset.poll_seconds"
    assert states["WaitForJob"]["Next"] == "GetCustomizationJob"


def test_every_evaluation_deployment_status_is_routed(template):
    states = definition(template)["States"]
    statuses = BEDROCK_MODEL.shape_for("CustomModelDeploymentStatus").enum
    routes = {status: _route(states["EvaluationDeploymentStatus"], status) for status in statuses}
    assert routes == {"Creating": "WaitForDeployment", "Active": "Evaluate", "Failed": "EvaluationDeploymentFailed"}


def test_the_gate_decides_between_approval_and_a_not_promoted_report(template):
    states = definition(template)["States"]
    (rule,) = states["Promotable"]["Choices"]
    assert rule == {"Variable": "$.gate.accepted", "BooleanEquals": True, "Next": "RequestApproval"}
    assert states["Promotable"]["Default"] == "ReportNotPromoted"
    assert states["RequestApproval"]["Next"] == "Promote"
    assert states["Promote"]["Resource"].endswith(":::aws-sdk:bedrock:createCustomModelDeployment")


def test_the_endpoint_scales_to_zero_on_invocations_per_copy(template):
    tpl = Template.from_json(template)
    tpl.has_resource_properties(
        "AWS::ApplicationAutoScaling::ScalableTarget",
        {
            "ServiceNamespace": "sagemaker",
            "ResourceId": f"inference-component/{PREFIX}-llm-ic",
            "ScalableDimension": "sagemaker:inference-component:DesiredCopyCount",
            "MinCapacity": 0,
            "MaxCapacity": 2,
        },
    )
    tpl.has_resource_properties(
        "AWS::ApplicationAutoScaling::ScalingPolicy",
        {
            "PolicyType": "TargetTrackingScaling",
            "TargetTrackingScalingPolicyConfiguration": Match.object_like(
                {
                    "PredefinedMetricSpecification": {
                        "PredefinedMetricType": "SageMakerInferenceComponentInvocationsPerCopy"
                    },
                    "TargetValue": 20,
                }
            ),
        },
    )
    tpl.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        Match.object_like(
            {
                "MetricName": "NoCapacityInvocationFailures",
                "Dimensions": [{"Name": "InferenceComponentName", "Value": f"{PREFIX}-llm-ic"}],
                "ComparisonOperator": "GreaterThanOrEqualToThreshold",
                "Threshold": 1,
            }
        ),
    )
    tpl.has_resource_properties(
        "AWS::SageMaker::EndpointConfig",
        {
            "ProductionVariants": [
                Match.object_like(
                    {
                        "InstanceType": "ml.g5.2xlarge",
                        "ManagedInstanceScaling": {"Status": "ENABLED", "MinInstanceCount": 0, "MaxInstanceCount": 2},
                    }
                )
            ]
        },
    )


def test_the_model_runs_the_pinned_lmi_image_with_the_quantization_of_scale_yaml(template):
    (model,) = resources(template, "AWS::SageMaker::Model").values()
    container = model["Properties"]["PrimaryContainer"]
    assert f"/djl-inference:{LMI_IMAGE_TAG}" in json.dumps(container["Image"])
    assert "763104351884.dkr.ecr." in json.dumps(container["Image"])
    assert container["Environment"]["OPTION_QUANTIZE"] == "awq"
    assert container["Environment"]["HF_MODEL_ID"] == "Qwen/Qwen2.5-7B-Instruct-AWQ"
    (ecr,) = [s for _, s in statements(template) if "ecr:BatchGetImage" in actions(s)]
    assert json.dumps(ecr["Resource"]).endswith(':763104351884:repository/djl-inference"]]}')


def test_a_local_storage_instance_type_takes_no_kms_key(template):
    assert has_instance_storage("ml.g5.2xlarge")
    (config,) = resources(template, "AWS::SageMaker::EndpointConfig").values()
    assert "KmsKeyId" not in config["Properties"]


def test_the_chat_api_answers_direct_from_the_endpoint_and_may_invoke_only_it(scale: Synth):
    api = scale.templates[f"{PREFIX}-Api"]
    invokes = [s for _, s in statements(api) if "sagemaker:InvokeEndpointWithResponseStream" in actions(s)]
    assert invokes, "the chat functions may not invoke the endpoint"
    for statement in invokes:
        assert actions(statement) == ["sagemaker:InvokeEndpoint", "sagemaker:InvokeEndpointWithResponseStream"]
        rendered = json.dumps(statement["Resource"])
        assert f":endpoint/{PREFIX}-llm" in rendered
        assert f":inference-component/{PREFIX}-llm-ic" in rendered
        assert len(statement["Resource"]) == 2
    settings = [
        json.loads(path.read_text())[API_SECTION]  # the static half of ApiSettings, as the chat functions read it
        for path in scale.outdir.glob(f"asset.*/settings/{SETTINGS_FILE}")
        if '"hosted_endpoint"' in path.read_text()
    ]
    assert settings
    assert {(s["hosted_endpoint"], s["hosted_inference_component"]) for s in settings} == {
        (f"{PREFIX}-llm", f"{PREFIX}-llm-ic")
    }


@pytest.mark.synth
def test_every_import_of_every_scale_function_resolves_with_its_layers(scale: Synth):
    assembly = Assembly(scale)
    functions = [f for f in assembly.functions() if f[0] == STACK]
    assert {props["Handler"] for _, _, props in functions} == {
        f"finetune.{step}.handler" for step in ("validate", "evaluate", "gate", "approval", "report")
    }
    problems, scoring = [], {}
    for stack, logical, props in functions:
        # The evaluation layer's third-party packages are resolved by name, not walked (as
        # tests/lambdas/test_import_closure.py walks it): their optional imports are not the kit's.
        sources = [
            dataclasses.replace(source, follow=False) if "EvaluationLayer" in source.label else source
            for source in assembly.sources(stack, props)
        ]
        closure = walk([(props["Handler"].rpartition(".")[0], f"{stack}/{logical}")], sources)
        problems += [str(problem) for problem in closure.problems]
        scoring[props["Handler"]] = "sacrebleu" in closure.modules
    assert problems == []
    # The functions that import the metric libraries are the ones given the evaluation layer.
    assert scoring == {
        "finetune.validate.handler": False,
        "finetune.evaluate.handler": True,
        "finetune.gate.handler": False,  # the gate needs the metric names only (common.evaluation.kinds)
        "finetune.approval.handler": False,
        "finetune.report.handler": False,
    }


# ------------------------------------------------------------------ variants in a small app


def small_app(hosted: HostedModelSettings | None, fine_tuning: FineTuningSettings | None) -> dict[str, Any]:
    app = cdk.App(context=cdk_json_context())
    stage = StagePolicy("dev")
    foundation = FoundationStack(app, "Foundation", props=FoundationProps(name_prefix=PREFIX, stage=stage))
    source = None
    if fine_tuning is not None:
        source = FineTuningSource(
            curated_bucket=s3.Bucket.from_bucket_name(foundation, "Curated", "team-curated-bucket"),
            settings=fine_tuning,
            thresholds={"BLEU": 20.0},
            golden=load_golden(USECASES_DIR / USECASE / "golden" / "answer.jsonl"),
        )
    stack = ScaleStack(
        app,
        "Scale",
        props=ScaleProps(
            name_prefix=PREFIX,
            stage=stage,
            key=foundation.key,
            alarm_topic=foundation.alarm_topic,
            access_logs=foundation.access_logs.bucket,
            usecase_id=USECASE,
            hosted_model=hosted,
            fine_tuning=source,
        ),
    )
    add_nag_packs(app)
    return dict(Template.from_stack(stack).to_json())


@pytest.fixture(scope="module")
def variant() -> dict[str, Any]:
    return small_app(
        HostedModelSettings(
            model_id="meta-llama/Llama-3.1-8B-Instruct",
            model_s3_uri="s3://team-models/llama-3-1-8b/",
            quantization="fp8",
            instance_type="ml.p3.2xlarge",
            scale_to_zero=False,
            min_instances=1,
            max_instances=3,
            target_invocations=50,
        ),
        FineTuningSettings(promotion="provisioned_throughput", model_units=2),
    )


def test_a_classic_variant_tracks_invocations_per_instance_from_its_minimum(variant):
    tpl = Template.from_json(variant)
    tpl.has_resource_properties(
        "AWS::ApplicationAutoScaling::ScalableTarget",
        {
            "ResourceId": f"endpoint/{PREFIX}-llm/variant/primary",
            "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
            "MinCapacity": 1,
            "MaxCapacity": 3,
        },
    )
    tpl.has_resource_properties(
        "AWS::ApplicationAutoScaling::ScalingPolicy",
        {
            "TargetTrackingScalingPolicyConfiguration": Match.object_like(
                {
                    "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"},
                    "TargetValue": 50,
                }
            )
        },
    )
    assert resources(variant, "AWS::SageMaker::InferenceComponent") == {}


def test_an_instance_type_without_local_storage_encrypts_with_the_cmk(variant):
    (config,) = resources(variant, "AWS::SageMaker::EndpointConfig").values()
    assert "Foundation" in json.dumps(config["Properties"]["KmsKeyId"])  # the stage key, from the Foundation stack
    assert "ExecutionRoleArn" not in config["Properties"]  # only inference components need it there


def test_weights_from_s3_are_read_from_exactly_their_prefix_and_the_model_is_network_isolated(variant):
    (model,) = resources(variant, "AWS::SageMaker::Model").values()
    assert model["Properties"]["EnableNetworkIsolation"] is True
    assert model["Properties"]["PrimaryContainer"]["Environment"]["HF_MODEL_ID"] == "/opt/ml/model"
    assert model["Properties"]["PrimaryContainer"]["ModelDataSource"]["S3DataSource"]["S3Uri"] == (
        "s3://team-models/llama-3-1-8b/"
    )
    (get,) = [s for _, s in statements(variant) if "s3:GetObject" in actions(s) and "team-models" in json.dumps(s)]
    assert json.dumps(get["Resource"]).endswith(':s3:::team-models/llama-3-1-8b/*"]]}')


def test_provisioned_throughput_promotion_is_granted_on_custom_models_only(variant):
    (create,) = [s for _, s in statements(variant) if "bedrock:CreateProvisionedModelThroughput" in actions(s)]
    assert json.dumps(create["Resource"]).endswith(':custom-model/*"]]}')
    states = definition(variant)["States"]
    assert states["Promote"]["Resource"].endswith(":::aws-sdk:bedrock:createProvisionedModelThroughput")
    assert states["Promote"]["Parameters"]["ModelUnits"] == 2


# ------------------------------------------------------------------ switches and settings


def test_both_features_are_off_by_default_and_fine_tuning_needs_data():
    assert (Features().hosted_model, Features().fine_tuning) == (False, False)
    with pytest.raises(ValueError, match="fine_tuning needs data"):
        Features(fine_tuning=True, data=False, knowledge=False)


def test_a_switched_on_feature_without_its_section_names_the_file_and_section(tmp_path):
    root = usecase_root(tmp_path, {})
    scale_file = root / USECASE / SCALE_FILE  # the shipped file has the section: this copy drops it
    scale_file.write_text(
        yaml.safe_dump({k: v for k, v in yaml.safe_load(scale_file.read_text()).items() if k != "hosted_model"})
    )
    off = {f"features.{f}": False for f in ("data", "knowledge", "agent", "prompts", "api", "guardrails")}
    with pytest.raises(ConfigError) as raised:
        synthesize(tmp_path / "out", root, **off, **{"features.hosted_model": True})
    assert str(raised.value) == (
        f"usecases/{USECASE}/{SCALE_FILE}: hosted_model: required by features.hosted_model "
        "(add the section, or -c features.hosted_model=false)"
    )
