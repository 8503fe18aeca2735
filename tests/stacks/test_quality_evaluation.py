"""`QualityEvaluation` in a small stack beside an Api stack on the same imported resources (every nag pack, one
synth for the file): RunTask's role mirrors what the Api stack grants its chat functions for the pipeline, Score
and the judge role hold exactly their statements, the schedule's role starts exactly this state machine, the
failed-executions alarm reaches the topic, the settings carry the golden set and the use case's thresholds,
and the metric names are the dashboard's (stacks/observability/quality_metrics.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from common.evaluation import scoring
from evaluation import assessment
from evaluation.contract import EVALUATION_SECTION

from stacks.common.dependency_layer import LAYER_PYTHON_DIR
from stacks.config import USECASES_DIR, ConfigError
from stacks.observability import quality_metrics
from stacks.observability.evaluation import RUN_TASK_HANDLER, SCORE_HANDLER
from stacks.synth_gate import report_findings
from tests.lambdas.import_closure import Source, code_source, powertools_sources, runtime_sources, top_levels, walk
from tests.lambdas.pipeline.harness import layer_folder
from tests.stacks.quality_evaluation_stack import (
    ACCOUNT,
    GUARDRAIL_ARN,
    KEY_ARN,
    REGION,
    REPORTS,
    TOPIC_ARN,
    Built,
    build,
)

pytestmark = pytest.mark.synth

OBJECTS = f"arn:aws:s3:::{REPORTS}/quality-evaluation/"
S3_KEYS = {
    "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
    "Condition": {
        "StringEquals": {"kms:ViaService": {"Fn::Join": ["", ["s3.", {"Ref": "AWS::Region"}, ".amazonaws.com"]]}}
    },
    "Effect": "Allow",
    "Resource": KEY_ARN,
}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    return build(tmp_path_factory.mktemp("quality-cdk.out"), with_api=True)


def of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def one(template: dict[str, Any], kind: str, prefix: str) -> tuple[str, dict[str, Any]]:
    (found,) = [(k, v) for k, v in of_type(template, kind).items() if k.startswith(prefix)]
    return found


def statements(template: dict[str, Any], role_prefix: str) -> list[dict[str, Any]]:
    role, _ = one(template, "AWS::IAM::Role", role_prefix)
    return [
        statement
        for policy in of_type(template, "AWS::IAM::Policy").values()
        if {"Ref": role} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def by_action(found: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Action -> the (resource, condition) it is granted on, statement by statement."""
    table: dict[str, list[dict[str, Any]]] = {}
    for statement in found:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        for action in actions:
            table.setdefault(action, []).append(
                {"Resource": statement["Resource"], "Condition": statement.get("Condition")}
            )
    return table


FUNCTION_BASICS = {"logs:CreateLogStream", "logs:PutLogEvents", "xray:PutTraceSegments", "xray:PutTelemetryRecords"}


def test_no_unacknowledged_nag_finding(built: Built) -> None:
    assert report_findings(built.outdir) == []


def test_run_task_gets_exactly_the_chat_functions_pipeline_permissions(built: Built) -> None:
    assert built.api_template is not None
    chat = by_action(statements(built.api_template, "ChatFunctionRole"))
    run_task = by_action(statements(built.template, "QualityEvaluationRunTaskRole"))
    pipeline = {a: grants for a, grants in chat.items() if not a.startswith("dynamodb:")}
    # What the chat functions have beyond the pipeline: the tables (and DynamoDB's use of the key).
    assert set(chat) - set(pipeline) == {"dynamodb:BatchWriteItem", "dynamodb:GetItem", "dynamodb:Query",
                                         "dynamodb:UpdateItem", "dynamodb:PutItem"}  # fmt: skip
    for action in set(pipeline) - FUNCTION_BASICS - {"kms:Decrypt", "kms:GenerateDataKey"}:
        assert run_task.get(action) == pipeline[action], action
    assert set(run_task) - set(pipeline) == {"s3:PutObject"}
    assert run_task["s3:PutObject"] == [{"Resource": f"{OBJECTS}runs/*", "Condition": None}]
    assert run_task["bedrock:ApplyGuardrail"] == [{"Resource": GUARDRAIL_ARN, "Condition": None}]
    kb_arn = {
        "Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, f":bedrock:{REGION}:{ACCOUNT}:knowledge-base/KB12345678"]]
    }
    assert run_task["bedrock:Retrieve"] == [{"Resource": kb_arn, "Condition": None}]
    assert not any(action.startswith(("dynamodb:", "cloudwatch:", "iam:")) for action in run_task)


def test_score_reads_and_writes_its_prefix_and_may_start_the_judge_nothing_more(built: Built) -> None:
    found = statements(built.template, "QualityEvaluationScoreRole")
    judge_role, _ = one(built.template, "AWS::IAM::Role", "QualityEvaluationJudgeRole")
    for statement in (
        {"Action": ["s3:GetObject", "s3:PutObject"], "Effect": "Allow", "Resource": f"{OBJECTS}*"},
        {
            "Action": "s3:ListBucket",
            "Condition": {"StringLike": {"s3:prefix": ["quality-evaluation/*"]}},
            "Effect": "Allow",
            "Resource": f"arn:aws:s3:::{REPORTS}",
        },
        S3_KEYS,
        {
            "Action": "bedrock:CreateEvaluationJob",
            "Effect": "Allow",
            "Resource": f"arn:aws:bedrock:{REGION}:{ACCOUNT}:evaluation-job/*",
        },
        {
            "Action": "iam:PassRole",
            "Condition": {"StringEquals": {"iam:PassedToService": "bedrock.amazonaws.com"}},
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [judge_role, "Arn"]},
        },
    ):
        assert statement in found, statement
    actions = set(by_action(found))
    assert actions - FUNCTION_BASICS - {"kms:Decrypt", "kms:GenerateDataKey"} == {
        "s3:GetObject", "s3:PutObject", "s3:ListBucket", "bedrock:CreateEvaluationJob",
        "iam:PassRole",
    }  # fmt: skip


def test_the_judge_role_trusts_bedrock_for_this_accounts_evaluation_jobs_only(built: Built) -> None:
    _, role = one(built.template, "AWS::IAM::Role", "QualityEvaluationJudgeRole")
    (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust == {
        "Action": "sts:AssumeRole",
        "Condition": {
            "StringEquals": {"aws:SourceAccount": ACCOUNT},
            "ArnLike": {"aws:SourceArn": f"arn:aws:bedrock:{REGION}:{ACCOUNT}:evaluation-job/*"},
        },
        "Effect": "Allow",
        "Principal": {"Service": "bedrock.amazonaws.com"},
    }
    found = statements(built.template, "QualityEvaluationJudgeRole")
    assert {
        "Action": "bedrock:InvokeModel",
        "Effect": "Allow",
        "Resource": f"arn:aws:bedrock:{REGION}::foundation-model/anthropic.claude-3-5-sonnet-20240620-v1:0",
    } in found
    assert {"Action": ["s3:GetObject", "s3:PutObject"], "Effect": "Allow", "Resource": f"{OBJECTS}runs/*"} in found


def test_the_daily_schedule_may_start_exactly_this_state_machine(built: Built) -> None:
    machine, _ = one(built.template, "AWS::StepFunctions::StateMachine", "QualityEvaluationStateMachine")
    _, schedule = one(built.template, "AWS::Scheduler::Schedule", "QualityEvaluationSchedule")
    props = schedule["Properties"]
    assert props["ScheduleExpression"] == "cron(0 5 * * ? *)"
    assert props["ScheduleExpressionTimezone"] == "UTC"
    assert props["State"] == "ENABLED"
    assert props["Target"]["Arn"] == {"Ref": machine}
    role_id = props["Target"]["RoleArn"]["Fn::GetAtt"][0]
    assert statements(built.template, role_id) == [
        {"Action": "states:StartExecution", "Effect": "Allow", "Resource": {"Ref": machine}}
    ]
    (trust,) = built.template["Resources"][role_id]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert trust["Condition"] == {
        "StringEquals": {"aws:SourceAccount": ACCOUNT},
        "ArnLike": {"aws:SourceArn": f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule/default/{props['Name']}"},
    }


def test_failed_executions_and_function_errors_alarm_to_the_topic(built: Built) -> None:
    machine, _ = one(built.template, "AWS::StepFunctions::StateMachine", "QualityEvaluationStateMachine")
    _, failed = one(built.template, "AWS::CloudWatch::Alarm", "QualityEvaluationFailedRuns")
    props = failed["Properties"]
    assert (props["Namespace"], props["MetricName"], props["Statistic"]) == ("AWS/States", "ExecutionsFailed", "Sum")
    assert props["Dimensions"] == [{"Name": "StateMachineArn", "Value": {"Ref": machine}}]
    assert (props["Threshold"], props["ComparisonOperator"]) == (1, "GreaterThanOrEqualToThreshold")
    alarms = of_type(built.template, "AWS::CloudWatch::Alarm").values()
    assert len(alarms) == 3
    for alarm in alarms:
        assert alarm["Properties"]["AlarmActions"] == alarm["Properties"]["OKActions"] == [TOPIC_ARN]


def test_the_workflow_maps_the_golden_tasks_then_scores_and_fails_on_the_gate(built: Built) -> None:
    _, machine = one(built.template, "AWS::StepFunctions::StateMachine", "QualityEvaluationStateMachine")
    text = "".join(p if isinstance(p, str) else "ARN" for p in machine["Properties"]["DefinitionString"]["Fn::Join"][1])
    definition = json.loads(text)
    states = definition["States"]
    tasks = sorted(p.stem for p in (USECASES_DIR / "customer-retention" / "golden").glob("*.jsonl"))
    assert states["Plan"]["Parameters"]["tasks"] == tasks
    assert states["RunTasks"]["MaxConcurrency"] == 2
    assert "Throttled" in states["RunTasks"]["ItemProcessor"]["States"]["EvaluateTask"]["Retry"][0]["ErrorEquals"]
    assert states["Gate"]["Choices"] == [{"Variable": "$.verdict.passed", "BooleanEquals": True, "Next": "Accepted"}]
    assert states["QualityGateFailed"] == {
        "Type": "Fail",
        "Error": "QualityGateFailed",
        "CausePath": "$.verdict.summary",
    }


def test_the_settings_carry_the_golden_set_thresholds_and_deploy_time_ids(built: Built) -> None:
    _, run_task = one(built.template, "AWS::Lambda::Function", "QualityEvaluationRunTaskFunction")
    _, score = one(built.template, "AWS::Lambda::Function", "QualityEvaluationScoreFunction")
    layer_id, _ = one(built.template, "AWS::Lambda::LayerVersion", "QualityEvaluationSettingsLayer")
    settings = json.loads((layer_folder(built.outdir, built.template, layer_id) / "evaluation.json").read_text())
    evaluation = settings[EVALUATION_SECTION]
    golden = USECASES_DIR / "customer-retention" / "golden" / "answer.jsonl"
    assert [case["id"] for case in evaluation["golden"]["answer"]] == [
        json.loads(line)["id"] for line in golden.read_text().splitlines()
    ]
    assert evaluation["thresholds"] == {"BLEU": 20, "ROUGEL": 0.35, "WER": 0.6}
    assert (evaluation["margin"], evaluation["namespace"]) == (0.05, quality_metrics.NAMESPACE)
    assert settings["api"]["architecture"] == "rag"
    variables = run_task["Properties"]["Environment"]["Variables"]
    judge_role, _ = one(built.template, "AWS::IAM::Role", "QualityEvaluationJudgeRole")
    assert variables["EVALUATION_SETTINGS"] == {
        "Fn::Join": ["", ['{"bedrock_evaluation":{"role_arn":"', {"Fn::GetAtt": [judge_role, "Arn"]}, '"}}']]
    }
    assert score["Properties"]["Environment"]["Variables"] == variables
    layers = [layer["Ref"] for layer in score["Properties"]["Layers"] if isinstance(layer, dict) and "Ref" in layer]
    assert any(layer.startswith("EvaluationLayer") for layer in layers)  # the metric libraries: Score only
    assert not any(
        isinstance(layer, dict) and layer.get("Ref", "").startswith("EvaluationLayer")
        for layer in run_task["Properties"]["Layers"]
    )


def test_the_published_metric_names_are_the_dashboards() -> None:
    published = {name for names in scoring.QUALITY_METRICS.values() for name in names}
    published |= {assessment.PERPLEXITY, assessment.GATE_PASSED}
    assert published == set(quality_metrics.ALL)


def test_without_a_reports_bucket_it_makes_its_own(tmp_path: Path) -> None:
    built = build(tmp_path, judge=False, own_bucket=True)
    assert report_findings(tmp_path) == []
    (bucket,) = of_type(built.template, "AWS::S3::Bucket")
    found = by_action(statements(built.template, "QualityEvaluationScoreRole"))
    assert found["s3:PutObject"][0]["Resource"] == {
        "Fn::Join": ["", [{"Fn::GetAtt": [bucket, "Arn"]}, "/quality-evaluation/*"]]
    }
    assert "iam:PassRole" not in found
    assert not of_type(built.template, "AWS::IAM::Role").keys() & {"QualityEvaluationJudgeRole"}


def test_each_function_imports_only_what_its_own_layers_hold(built: Built) -> None:
    """RunTask runs the pipeline with the dependency layer alone; Score needs the evaluation layer it has (walked
    over the staged code asset and layers, as tests/lambdas/test_import_closure.py walks the app's functions)."""
    assets = {p.name.removeprefix("asset."): p for p in built.outdir.rglob("asset.*") if p.is_dir()}

    def folder(s3_key: str) -> Path:
        return assets[s3_key.removesuffix(".zip")]

    for prefix, handler in (("QualityEvaluationRunTask", RUN_TASK_HANDLER), ("QualityEvaluationScore", SCORE_HANDLER)):
        _, function = one(built.template, "AWS::Lambda::Function", f"{prefix}Function")
        props = function["Properties"]
        assert props["Handler"] == handler
        sources = [code_source(folder(props["Code"]["S3Key"]), "the code asset")]
        for layer in props["Layers"]:
            if isinstance(layer, dict) and "Ref" in layer:
                content = built.template["Resources"][layer["Ref"]]["Properties"]["Content"]["S3Key"]
                packages = folder(content) / LAYER_PYTHON_DIR
                if packages.is_dir():
                    sources.append(Source(layer["Ref"], top_levels(packages), packages))
        closure = walk([(handler.rpartition(".")[0], prefix)], [*sources, *powertools_sources(), *runtime_sources()])
        assert not closure.problems, sorted({str(p) for p in closure.problems})
        assert ("sacrebleu" in closure.modules) is (prefix == "QualityEvaluationScore")


def test_a_golden_set_or_architecture_the_functions_would_refuse_fails_synth(tmp_path: Path) -> None:
    golden = tmp_path / "golden"
    golden.mkdir()
    case = {"id": "a-1", "variables": {"question": "q"}, "reference": "r"}
    (golden / "answer.jsonl").write_text(json.dumps(case) + "\n" + json.dumps(case) + "\n")
    with pytest.raises(ConfigError, match="golden set of 'answer' repeats a case id"):
        build(tmp_path / "out1", golden_dir=golden)
    (golden / "answer.jsonl").write_text(json.dumps(case) + "\n")
    with pytest.raises(ConfigError, match="'agent' is not offered"):
        build(tmp_path / "out2", golden_dir=golden, architecture="agent")
    (golden / "answer.jsonl").write_text('{"id": "a-1"}\n')
    with pytest.raises(ConfigError, match=r"answer\.jsonl:1: golden case"):
        build(tmp_path / "out3", golden_dir=golden)
