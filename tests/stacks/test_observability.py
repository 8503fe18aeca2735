"""Observability stack: the dashboard's sections and the metrics they read, alarms and their actions, an errors alarm
for every function of every stage, the composite alarm, the investigation queries, invocation logging (role trust,
exact PassRole, the custom resource) and the use case's observability.yaml.

The session synth (customer-retention, both stages, invocation logging off) is what most tests read; invocation
logging is proven on the stack alone in a fresh App with every nag pack, cfn-lint and the IAM check.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from common.evaluation.cost import price_of

from stacks.app_builder import cdk_json_context
from stacks.common.nag import add_nag_packs
from stacks.common.stage_policy import StagePolicy
from stacks.config import ConfigError, Features
from stacks.observability import quality_metrics as quality
from stacks.observability.dashboard import SECTIONS
from stacks.observability.invocation_logging import LOGGING_ACTIONS, RECORD_ACTIONS
from stacks.observability.queries import CHAT_LINE_FIELDS, INVESTIGATIONS
from stacks.observability.settings import ObservabilitySettings, load_observability_settings
from stacks.observability.signals import (
    ApiSignals,
    DataSignals,
    GuardrailSignals,
    JourneySignals,
    ModelPrice,
    ModelSignals,
)
from stacks.observability.stack import ObservabilityProps, ObservabilityStack
from stacks.synth_gate import report_findings
from tests.cfn_lint import problems
from tools.iam_check import check, load_allowlist

DEV = "journey-customer-retention-dev-Observability"
PROD = "journey-customer-retention-prod-Observability"
TEXT_MODEL = "global.anthropic.claude-haiku-4-5-20251001-v1:0"
EMBEDDING_MODEL = "amazon.titan-embed-text-v2:0"
ROOT = Path(__file__).resolve().parents[2]


def resources(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {lid: r for lid, r in template["Resources"].items() if r["Type"] == resource_type}


def alarm(template: dict[str, Any], logical_start: str) -> dict[str, Any]:
    (found,) = [
        r["Properties"]
        for lid, r in resources(template, "AWS::CloudWatch::Alarm").items()
        if lid.startswith(logical_start)
    ]
    return found


def flatten(value: Any) -> str:
    """A template value as text: Fn::Join joined, other intrinsics as compact JSON (tokens stay visible)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(flatten(part) for part in parts)
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def dashboard_body(template: dict[str, Any]) -> dict[str, Any]:
    """The dashboard JSON, each deploy-time token replaced by a placeholder string."""
    ((_, dashboard),) = resources(template, "AWS::CloudWatch::Dashboard").items()
    body = dashboard["Properties"]["DashboardBody"]
    if isinstance(body, dict) and "Fn::Join" in body:
        body = "".join(part if isinstance(part, str) else "TOKEN" for part in body["Fn::Join"][1])
    return json.loads(body)


def widget_metrics(body: dict[str, Any]) -> list[list[Any]]:
    return [m for w in body["widgets"] for m in w.get("properties", {}).get("metrics", [])]


def read_series(body: dict[str, Any]) -> set[tuple[str, str]]:
    """(namespace, metric name) of every plain metric on the dashboard (math and search expressions aside)."""
    return {
        (entry[0], entry[1])
        for entry in widget_metrics(body)
        if len(entry) >= 2 and isinstance(entry[0], str) and isinstance(entry[1], str)
    }


def expressions(body: dict[str, Any]) -> list[str]:
    return [e[-1]["expression"] for e in widget_metrics(body) if isinstance(e[-1], dict) and "expression" in e[-1]]


# ------------------------------------------------------------------------------------------ dashboard


def test_the_dashboard_has_a_section_per_journey_stage_in_order(synth):
    body = dashboard_body(synth.templates[DEV])
    headers = [w["properties"]["markdown"].split("\n")[0] for w in body["widgets"] if w["type"] == "text"]
    assert headers == [f"## {s}" for s in SECTIONS]
    assert SECTIONS == ("Data", "Knowledge", "Api", "Bedrock", "Safety", "Users", "Quality", "Cost")


def test_one_dashboard_per_environment(synth):
    names = {
        stack: r["Properties"]["DashboardName"]
        for stack in (DEV, PROD)
        for r in resources(synth.templates[stack], "AWS::CloudWatch::Dashboard").values()
    }
    assert names == {DEV: "journey-customer-retention-dev-journey", PROD: "journey-customer-retention-prod-journey"}


def test_the_dashboard_reads_the_series_the_stacks_publish(synth):
    series = read_series(dashboard_body(synth.templates[DEV]))
    data = "journey-customer-retention-dev/data"
    assert {
        (data, "RecordsIn"),
        (data, "RecordsCurated"),
        (data, "RecordsQuarantined"),
        (data, "QuarantineRate"),
        (data, "BiasStatus"),
        ("AWS/States", "ExecutionsFailed"),
        ("JourneyKit/Knowledge", "DocumentsScanned"),
        ("JourneyKit/Knowledge", "DocumentsIndexed"),
        ("JourneyKit/Knowledge", "DocumentsFailed"),
        ("JourneyKit/Knowledge", "IngestionJobSeconds"),
        ("AWS/ApiGateway", "Count"),
        ("AWS/ApiGateway", "4XXError"),
        ("AWS/ApiGateway", "5XXError"),
        ("AWS/ApiGateway", "Latency"),
        ("JourneyKit/Api", "ChatFirstEventLatency"),
        ("AWS/WAFV2", "BlockedRequests"),
        ("AWS/Bedrock", "Invocations"),
        ("AWS/Bedrock", "InvocationLatency"),
        ("AWS/Bedrock", "InputTokenCount"),
        ("AWS/Bedrock", "OutputTokenCount"),
        ("AWS/Bedrock", "InvocationThrottles"),
        ("AWS/Bedrock/Guardrails", "InvocationsIntervened"),
        ("JourneyKit/Api", "session_seconds"),
        (quality.NAMESPACE, quality.GATE_PASSED),
    } <= series


def test_search_expressions_name_the_dimension_sets_the_code_writes(synth):
    found = "\n".join(expressions(dashboard_body(synth.templates[DEV])))
    for schema, name in [
        ('{"JourneyKit/Api",architecture,cause,service,stage}', "ChatBlocked"),  # app.py measure()
        ('{"JourneyKit/Api",cause,service}', "PassageFlagged"),  # rag.py
        ('{"JourneyKit/Api",cause,service,stage}', "SafetyCheckErrors"),  # safety/chain.py
        ('{"JourneyKit/Api",code,service}', "RequestsThrottled"),  # app.py on_error
        ('{"JourneyKit/Agent",service,tool}', "ToolResultWithheld"),  # retention_analyst.py
        ('{"journey-customer-retention-dev/data",EntityType,service}', "PiiEntities"),  # finalize.py
        ('{"journey-customer-retention-dev/data",Group,service}', "PopulationStabilityIndex"),
        (f'{{"{quality.NAMESPACE}",Task,UseCase}}', quality.BLEU),
    ]:
        assert f'{schema} MetricName="{name}"' in found, name
    assert 'UseCase="customer-retention"' in found


KIT_NAMESPACES = ("JourneyKit/Api", "JourneyKit/Knowledge", "JourneyKit/Agent", "journey-customer-retention-dev/data")


def test_every_kit_metric_on_the_dashboard_is_written_by_the_lambdas(synth):
    """No metric is invented: each name the dashboard reads from the kit's own namespaces is a string literal of
    the runtime code (the quality namespace is the evaluation workflow's, named in quality_metrics.py)."""
    body = dashboard_body(synth.templates[DEV])
    names = {name for namespace, name in read_series(body) if namespace in KIT_NAMESPACES}
    names |= {
        m.group(1)
        for e in expressions(body)
        for m in re.finditer(r'MetricName="([^"]+)"', e)
        if not e.startswith(f'SEARCH(\'{{"{quality.NAMESPACE}"') and "AWS/" not in e
    }
    source = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "lambdas").rglob("*.py"))
    literals = set(re.findall(r'"([A-Za-z_]+)"', source))
    assert names, "the walk found no kit metric"
    assert names - literals == set()


def test_user_signals_read_the_buffered_functions_counts(synth):
    body = json.dumps(dashboard_body(synth.templates[DEV]))
    for name in ("thumbs_up", "thumbs_down", "copy", "regenerate"):
        assert f'["JourneyKit/Api","{name}","service","api-chat"' in body.replace(" ", ""), name


def test_cost_is_tokens_times_the_price_per_model(synth):
    body = dashboard_body(synth.templates[DEV])
    # The pricing page's Claude Haiku 4.5 rate through the global profile: $1 in, $5 out per million tokens.
    text_price = price_of(TEXT_MODEL)
    assert text_price is not None
    assert (text_price.input_per_1k, text_price.output_per_1k) == pytest.approx((1.0 / 1000, 5.0 / 1000))
    assert "(FILL(tin0, 0) * 0.001 + FILL(tout0, 0) * 0.005) / 1000" in expressions(body)
    cost_header = next(w for w in body["widgets"] if w["type"] == "text" and "## Cost" in w["properties"]["markdown"])
    assert price_of(EMBEDDING_MODEL) is None  # the kit's table has no embedding price: never guessed, said so
    assert f"No price is configured for {EMBEDDING_MODEL}" in cost_header["properties"]["markdown"]
    assert "tin1" not in json.dumps(body)


# ------------------------------------------------------------------------------------------ alarms


def test_every_alarm_of_every_stack_has_an_action(synth):
    found = 0
    for stack, template in synth.templates.items():
        for kind in ("AWS::CloudWatch::Alarm", "AWS::CloudWatch::CompositeAlarm"):
            for lid, r in resources(template, kind).items():
                found += 1
                props = r["Properties"]
                assert props.get("AlarmActions"), (stack, lid)
                assert props.get("OKActions"), (stack, lid)
    assert found > 40


def _function_ref(synth, stack: str, value: Any) -> tuple[str, str] | None:
    """(stack, logical id) of the function an alarm's FunctionName dimension names, across stacks too."""
    if isinstance(value, dict) and "Ref" in value:
        return stack, value["Ref"]
    if isinstance(value, dict) and "Fn::GetStackOutput" in value:
        out = value["Fn::GetStackOutput"]
        produced = synth.templates[out["StackName"]]["Outputs"][out["OutputName"]]["Value"]
        return _function_ref(synth, out["StackName"], produced)
    return None


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_every_function_of_the_stage_has_an_errors_alarm(synth, stage):
    prefix = f"journey-customer-retention-{stage}-"
    stacks = {name: t for name, t in synth.templates.items() if name.startswith(prefix)}
    functions = {(name, lid) for name, t in stacks.items() for lid in resources(t, "AWS::Lambda::Function")}
    watched = set()
    for name, template in stacks.items():
        for props in (r["Properties"] for r in resources(template, "AWS::CloudWatch::Alarm").values()):
            if (props.get("Namespace"), props.get("MetricName")) != ("AWS/Lambda", "Errors"):
                continue
            for dimension in props["Dimensions"]:
                if dimension["Name"] == "FunctionName":
                    watched.add(_function_ref(synth, name, dimension["Value"]))
    assert len(functions) >= 15
    assert functions - watched == set()


def test_the_journey_alarms_hold_the_use_cases_thresholds(synth):
    template, defaults = synth.templates[DEV], ObservabilitySettings()
    five_xx = alarm(template, "AlarmsApi5xxRate")
    assert (five_xx["MetricName"], five_xx["Statistic"], five_xx["Threshold"]) == ("5XXError", "Average", 0.05)
    assert five_xx["ComparisonOperator"] == "GreaterThanThreshold"
    latency = alarm(template, "AlarmsApiLatencyP90")
    assert (latency["ExtendedStatistic"], latency["Threshold"]) == ("p90", defaults.api_latency_p90_ms)
    throttles = alarm(template, "AlarmsBedrockThrottles0")
    assert throttles["Dimensions"] == [{"Name": "ModelId", "Value": TEXT_MODEL}]
    assert (throttles["Threshold"], throttles["ComparisonOperator"]) == (5, "GreaterThanOrEqualToThreshold")
    regression = alarm(template, "AlarmsQualityRegression")
    assert (regression["Namespace"], regression["MetricName"]) == (quality.NAMESPACE, quality.GATE_PASSED)
    assert sorted(regression["Dimensions"], key=lambda d: d["Name"]) == [
        {"Name": "Task", "Value": "all"},
        {"Name": "UseCase", "Value": "customer-retention"},
    ]
    assert (regression["Threshold"], regression["ComparisonOperator"], regression["Period"]) == (
        1,
        "LessThanThreshold",
        86_400,
    )


def _expression(props: dict[str, Any]) -> str:
    (math,) = [m for m in props["Metrics"] if "Expression" in m]
    return math["Expression"]


def test_the_thumbs_down_alarm_waits_for_enough_ratings(synth):
    props = alarm(synth.templates[DEV], "AlarmsThumbsDownRatio")
    assert _expression(props) == (
        "IF((FILL(up, 0) + FILL(down, 0)) >= 10, FILL(down, 0) / (FILL(up, 0) + FILL(down, 0)), 0)"
    )
    assert props["Threshold"] == 0.3
    named = {m["Id"]: m["MetricStat"]["Metric"]["MetricName"] for m in props["Metrics"] if "MetricStat" in m}
    assert named == {"up": "thumbs_up", "down": "thumbs_down"}
    assert {m["MetricStat"]["Period"] for m in props["Metrics"] if "MetricStat" in m} == {3600}


def test_the_regenerate_rate_counts_answers_of_both_functions_and_every_offered_architecture(synth):
    props = alarm(synth.templates[DEV], "AlarmsRegenerateRate")
    answers = [
        m["MetricStat"]
        for m in props["Metrics"]
        if m.get("MetricStat", {}).get("Metric", {}).get("MetricName") == "ChatLatency"
    ]
    seen = {
        (d["service"], d["architecture"])
        for d in ({x["Name"]: x["Value"] for x in s["Metric"]["Dimensions"]} for s in answers)
    }
    # usecase.yaml rag, api.yaml per_request direct, agent, multi-task; the buffered and the streaming function
    assert seen == {(s, a) for s in ("api-chat", "api-chat-stream") for a in ("rag", "direct", "agent", "multi-task")}
    assert {s["Stat"] for s in answers} == {"SampleCount"}
    assert len(props["Metrics"]) <= 10  # an alarm's metric math may use at most 10 metrics
    assert props["Threshold"] == 0.2


def test_guardrail_interventions_alarm_on_an_anomaly_band(synth):
    props = alarm(synth.templates[DEV], "AlarmsGuardrailInterventionSpike")
    band = next(m for m in props["Metrics"] if "Expression" in m)
    assert band["Expression"].startswith("ANOMALY_DETECTION_BAND(")
    assert band["Expression"].endswith(", 3)")
    assert props["ThresholdMetricId"] == band["Id"]
    assert props["ComparisonOperator"] == "GreaterThanUpperThreshold"
    stat = next(m["MetricStat"] for m in props["Metrics"] if "MetricStat" in m)
    assert (stat["Metric"]["Namespace"], stat["Metric"]["MetricName"]) == (
        "AWS/Bedrock/Guardrails",
        "InvocationsIntervened",
    )
    assert {d["Name"] for d in stat["Metric"]["Dimensions"]} == {"GuardrailArn", "GuardrailVersion"}


def test_the_composite_alarm_watches_the_critical_alarms(synth):
    template = synth.templates[DEV]
    ((_, composite),) = resources(template, "AWS::CloudWatch::CompositeAlarm").items()
    props = composite["Properties"]
    assert props["AlarmName"] == "journey-customer-retention-dev-journey-unhealthy"
    rule = flatten(props["AlarmRule"])
    assert rule.count("ALARM(") == 8
    for own in (
        "AlarmsApi5xxRate",
        "AlarmsApiLatencyP90",
        "AlarmsBedrockThrottles0",
        "AlarmsQualityRegression",
        "QualityEvaluationFailedRuns",  # the scheduled evaluation failed: its gate or a step
    ):
        assert own in rule, own
    assert "AlarmsBedrockThrottles1" not in rule  # the embedding model's throttles are not journey-critical
    for stack in ("journey-customer-retention-dev-Data", "journey-customer-retention-dev-Api"):
        assert f'"StackName":"{stack}"' in rule, stack  # PipelineExecutionsFailed; ChatErrors and StreamErrors
    assert props["AlarmActions"]
    assert props["OKActions"]


# ------------------------------------------------------------------------------------------ quality evaluation


def _quality_header(template: dict[str, Any]) -> str:
    body = dashboard_body(template)
    (text,) = [
        w["properties"]["markdown"]
        for w in body["widgets"]
        if w["type"] == "text" and "## Quality" in w["properties"]["markdown"]
    ]
    return str(text)


def test_the_scheduled_evaluation_runs_in_the_observability_stack_on_the_golden_set(synth):
    """customer-retention has the Api stack, an `evaluation` section and golden/: the evaluation is built, daily,
    with one Map item per golden file, reporting to the Data stack's reports bucket under quality-evaluation/."""
    template = synth.templates[DEV]
    ((machine_id, machine),) = resources(template, "AWS::StepFunctions::StateMachine").items()
    assert machine["Properties"]["StateMachineName"] == "journey-customer-retention-dev-quality-evaluation"
    tasks = sorted(path.stem for path in (ROOT / "usecases" / "customer-retention" / "golden").glob("*.jsonl"))
    assert tasks == ["answer", "classify", "summarize"]
    definition = flatten(machine["Properties"]["DefinitionString"])
    assert f'"tasks":{json.dumps(tasks, separators=(",", ":"))}' in definition
    ((_, schedule),) = resources(template, "AWS::Scheduler::Schedule").items()
    assert schedule["Properties"]["ScheduleExpression"] == "cron(0 5 * * ? *)"
    assert schedule["Properties"]["Target"]["Arn"] == {"Ref": machine_id}
    writes = [
        s["Resource"]
        for lid, r in resources(template, "AWS::IAM::Policy").items()
        if lid.startswith("QualityEvaluationScore")
        for s in r["Properties"]["PolicyDocument"]["Statement"]
        if "s3:PutObject" in s["Action"]
    ]
    (write,) = writes
    reports = write["Fn::Join"][1]
    assert reports[1] == "/quality-evaluation/*"
    output = reports[0]["Fn::GetStackOutput"]
    assert output["StackName"] == "journey-customer-retention-dev-Data"
    data = synth.templates[output["StackName"]]
    produced = data["Outputs"][output["OutputName"]]["Value"]["Fn::GetAtt"][0]
    assert produced.startswith("ReportsBucket")  # the Data stack's reports bucket, not a bucket of its own
    assert resources(template, "AWS::S3::Bucket") == {}
    assert template["Outputs"]["QualityEvaluationStateMachineArn"]["Value"] == {"Ref": machine_id}


def test_the_quality_section_reads_the_evaluations_runs_and_metrics(synth):
    template = synth.templates[DEV]
    (machine_id,) = resources(template, "AWS::StepFunctions::StateMachine")
    body = dashboard_body(template)
    (runs,) = [w["properties"] for w in body["widgets"] if w["properties"].get("title") == "Evaluation runs"]
    assert {m[1] for m in runs["metrics"]} == {"ExecutionsStarted", "ExecutionsSucceeded", "ExecutionsFailed"}
    assert {m[0] for m in runs["metrics"]} == {"AWS/States"}
    raw = json.dumps(resources(template, "AWS::CloudWatch::Dashboard"))
    assert machine_id in raw  # the runs graph names this evaluation's state machine
    searched = {
        m.group(1)
        for e in expressions(body)
        if e.startswith(f'SEARCH(\'{{"{quality.NAMESPACE}",Task,UseCase}}')
        for m in re.finditer(r'MetricName="([^"]+)" UseCase="customer-retention"', e)
    }
    assert searched == set(quality.SCORES)  # every score the evaluation publishes, per task of this use case
    assert "tasks: answer, classify, summarize" in _quality_header(template)


def test_a_use_case_without_a_golden_set_has_no_evaluation_and_the_dashboard_says_so(pinned_synth):
    """it-helpdesk ships no golden/: no evaluation, no quality alarm waiting on a metric nobody writes."""
    assert not (ROOT / "usecases" / "it-helpdesk" / "golden").exists()
    (name,) = [n for n in pinned_synth.templates if n.endswith("-dev-Observability")]
    template = pinned_synth.templates[name]
    assert resources(template, "AWS::StepFunctions::StateMachine") == {}
    assert not [lid for lid in resources(template, "AWS::CloudWatch::Alarm") if lid.startswith("AlarmsQuality")]
    assert "No scheduled evaluation in this deployment" in _quality_header(template)
    assert "QualityEvaluationStateMachineArn" not in template["Outputs"]
    ((_, composite),) = resources(template, "AWS::CloudWatch::CompositeAlarm").items()
    assert "Quality" not in flatten(composite["Properties"]["AlarmRule"])


# ------------------------------------------------------------------------------------------ queries


def test_the_investigations_are_saved_queries_over_the_chat_logs(synth):
    template = synth.templates[DEV]
    definitions = {
        r["Properties"]["Name"]: r["Properties"] for r in resources(template, "AWS::Logs::QueryDefinition").values()
    }
    assert set(definitions) == {f"journey-customer-retention-dev/{i.slug}" for i in INVESTIGATIONS}
    blocked = definitions["journey-customer-retention-dev/blocked-requests-by-user-and-cause"]
    assert blocked["QueryString"] == (
        'filter message = "chat"\n| filter outcome = "blocked"\n'
        "| stats count(*) as blocked, latest(request_id) as last_request by user_id, causes\n"
        "| sort blocked desc\n| limit 100"
    )
    assert len(blocked["LogGroupNames"]) == 2  # the buffered and the streaming function
    slowest = definitions["journey-customer-retention-dev/slowest-requests-with-stage-timings"]["QueryString"]
    assert "sum(safety.latency_ms) as safety_ms" in slowest
    assert "by request_id" in slowest
    last = definitions["journey-customer-retention-dev/user-last-requests"]["QueryString"]
    assert 'user_id = "REPLACE-WITH-USER-SUB"' in last
    assert "limit 20" in last
    tokens = definitions["journey-customer-retention-dev/invocation-log-token-outliers"]
    assert tokens.get("LogGroupNames", []) == []  # invocation logging is off: the operator picks the log group
    assert "input.inputTokenCount + output.outputTokenCount as total_tokens" in tokens["QueryString"]


def test_the_queries_read_only_fields_the_chat_line_writes():
    chat = [i for i in INVESTIGATIONS if not i.invocation_logs]
    fields_used = set()
    for investigation in chat:
        text = investigation.query.to_string()
        fields_used |= {f for f in CHAT_LINE_FIELDS if re.search(rf"\b{f}\b", text)}
    assert {"user_id", "causes", "request_id", "latency_ms", "first_event_ms", "outcome"} <= fields_used


# ------------------------------------------------------------------------------------------ settings, switches


def test_observability_yaml_is_optional_and_validated(tmp_path):
    folder = tmp_path / "uc"
    folder.mkdir()
    assert load_observability_settings("uc", tmp_path) == ObservabilitySettings()
    (folder / "observability.yaml").write_text("thumbs_down_ratio_max: 0.5\nmin_samples: 3\n")
    loaded = load_observability_settings("uc", tmp_path)
    assert (loaded.thumbs_down_ratio_max, loaded.min_samples) == (0.5, 3)
    (folder / "observability.yaml").write_text("thumbs_down_ratio_max: 1.5\nuser_signal_period_minutes: 7\n")
    with pytest.raises(ConfigError) as raised:
        load_observability_settings("uc", tmp_path)
    assert "uc/observability.yaml" in str(raised.value)
    assert "thumbs_down_ratio_max" in str(raised.value)


def test_the_feature_switches():
    assert (Features().observability, Features().invocation_logging) == (True, False)
    with pytest.raises(ValueError, match="invocation_logging needs observability"):
        Features(observability=False, invocation_logging=True)


# ------------------------------------------------------------------------------------------ alone, with logging

ENV = cdk.Environment(account="111122223333", region="us-east-1")
KEY_ARN = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"


@pytest.fixture(scope="module")
def alone(tmp_path_factory) -> tuple[dict[str, Any], Path]:
    """The stack alone in a fresh App against a team's resources, invocation logging on, every nag pack."""
    outdir = tmp_path_factory.mktemp("observability-alone")
    app = cdk.App(outdir=str(outdir), context=cdk_json_context())
    existing = cdk.Stack(cdk.App(), "Existing", env=ENV)
    key = kms.Key.from_key_arn(existing, "Key", KEY_ARN)
    topic = sns.Topic.from_topic_arn(existing, "Alarms", "arn:aws:sns:us-east-1:111122223333:platform-alarms")
    access_logs = s3.Bucket.from_bucket_name(existing, "AccessLogs", "platform-access-logs")
    pipeline = sfn.StateMachine.from_state_machine_arn(
        existing, "Pipeline", "arn:aws:states:us-east-1:111122223333:stateMachine:team-pipeline"
    )
    chat_logs = logs.LogGroup.from_log_group_name(existing, "ChatLogs", "/aws/lambda/team-chat")
    stack = ObservabilityStack(
        app,
        "Observability",
        env=ENV,
        props=ObservabilityProps(
            name_prefix="team-dev",
            stage=StagePolicy("dev"),
            key=key,
            alarm_topic=topic,
            access_logs=access_logs,
            signals=JourneySignals(
                usecase_id="team-uc",
                data=DataSignals(namespace="team-dev/data", state_machine=pipeline),
                api=ApiSignals(
                    api_name="team-api",
                    web_acl_name="team-acl",
                    namespace="JourneyKit/Api",
                    chat_service="api-chat",
                    stream_service="api-chat-stream",
                    architectures=("direct",),
                    log_groups=(chat_logs,),
                ),
                guardrail=GuardrailSignals("arn:aws:bedrock:us-east-1:111122223333:guardrail/gr1", "2"),
                models=(ModelSignals("team.model-v1:0", "text", ModelPrice(0.002, 0.004)),),
            ),
            settings=ObservabilitySettings(thumbs_down_ratio_max=0.4, min_samples=25),
            invocation_logging=True,
        ),
    )
    add_nag_packs(app)
    assembly = app.synth()
    return assembly.get_stack_artifact(stack.artifact_id).template, outdir


def test_alone_with_invocation_logging_every_nag_pack_is_clean(alone):
    template, outdir = alone
    assert report_findings(outdir) == []
    assert problems(template, ("us-east-1",)) == []
    assert check({"Observability": template}, load_allowlist()) == []


def test_the_logging_role_trusts_bedrock_of_this_account_only(alone):
    template, _ = alone
    (role,) = [
        r for lid, r in resources(template, "AWS::IAM::Role").items() if lid.startswith("InvocationLoggingDeliveryRole")
    ]
    (statement,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "bedrock.amazonaws.com"}
    assert statement["Condition"] == {
        "StringEquals": {"aws:SourceAccount": "111122223333"},
        "ArnLike": {"aws:SourceArn": "arn:aws:bedrock:us-east-1:111122223333:*"},
    }
    (policy,) = [
        r
        for lid, r in resources(template, "AWS::IAM::Policy").items()
        if lid.startswith("InvocationLoggingDeliveryRole")
    ]
    (write,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert write["Action"] == ["logs:CreateLogStream", "logs:PutLogEvents"]
    assert write["Resource"] == {
        "Fn::GetAtt": [next(lid for lid in template["Resources"] if lid.startswith("InvocationLoggingLogs")), "Arn"]
    }


def test_the_provider_passes_exactly_the_logging_role_and_only_to_bedrock(alone):
    template, _ = alone
    role_id = next(
        lid for lid in resources(template, "AWS::IAM::Role") if lid.startswith("InvocationLoggingDeliveryRole")
    )
    (policy,) = [
        r
        for lid, r in resources(template, "AWS::IAM::Policy").items()
        if lid.startswith("InvocationLoggingProviderRole")
    ]
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    passes = [
        s for s in statements if "iam:PassRole" in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
    ]
    assert passes == [
        {
            "Action": "iam:PassRole",
            "Condition": {"StringEquals": {"iam:PassedToService": "bedrock.amazonaws.com"}},
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [role_id, "Arn"]},
        }
    ]
    by_action: dict[str, list[Any]] = {}
    for statement in statements:
        for action in statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]:
            by_action.setdefault(action, []).append(statement["Resource"])
    parameter = "arn:aws:ssm:us-east-1:111122223333:parameter/team-dev/observability/invocation-logging-prior"
    assert {a: by_action[a] for a in LOGGING_ACTIONS} == {key: ["*"] for key in LOGGING_ACTIONS}
    assert {a: by_action[a] for a in RECORD_ACTIONS} == {key: [parameter] for key in RECORD_ACTIONS}
    # nothing else beyond what every KitFunction has (its logs, tracing, its environment key)
    assert set(by_action) == {
        *LOGGING_ACTIONS,
        *RECORD_ACTIONS,
        "iam:PassRole",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "xray:PutTelemetryRecords",
        "xray:PutTraceSegments",
        "kms:Decrypt",
    }


def test_the_custom_resource_names_the_kits_destinations(alone):
    template, _ = alone
    ((_, setting),) = resources(template, "Custom::BedrockInvocationLogging").items()
    props = setting["Properties"]
    assert props["ServiceToken"]["Fn::GetAtt"][0].startswith("InvocationLoggingProviderFunction")
    assert props["KeyPrefix"] == "bedrock-invocations/"
    assert props["RecordParameter"] == "/team-dev/observability/invocation-logging-prior"
    assert (props["TextDataDelivery"], props["ImageDataDelivery"], props["EmbeddingDataDelivery"]) == (
        "true",
        "false",
        "false",
    )
    # the grants exist before Bedrock checks the destinations
    depends = set(setting.get("DependsOn", []))
    assert any(d.startswith("InvocationLoggingBucketPolicy") or "BucketPolicy" in d for d in depends)
    assert any(d.startswith("InvocationLoggingDeliveryRoleDefaultPolicy") for d in depends)
    (log_group,) = [
        r for lid, r in resources(template, "AWS::Logs::LogGroup").items() if lid.startswith("InvocationLoggingLogs")
    ]
    assert log_group["Properties"]["KmsKeyId"] == KEY_ARN


def test_bedrock_may_write_only_under_the_prefix_of_this_account(alone):
    template, _ = alone
    policies = [
        r["Properties"]["PolicyDocument"]["Statement"] for r in resources(template, "AWS::S3::BucketPolicy").values()
    ]
    (delivery,) = [s for statements in policies for s in statements if s.get("Sid") == "BedrockInvocationLogDelivery"]
    assert delivery["Principal"] == {"Service": "bedrock.amazonaws.com"}
    assert delivery["Action"] == "s3:PutObject"
    assert flatten(delivery["Resource"]).endswith("/bedrock-invocations/*")
    assert delivery["Condition"]["StringEquals"] == {"aws:SourceAccount": "111122223333"}


def test_alone_every_function_has_an_errors_alarm_and_thresholds_come_from_settings(alone):
    template, _ = alone
    functions = set(resources(template, "AWS::Lambda::Function"))
    assert len(functions) == 2  # the provider and CDK's bucket cleanup (dev)
    watched = {
        d["Value"]["Ref"]
        for p in (r["Properties"] for r in resources(template, "AWS::CloudWatch::Alarm").values())
        if p.get("MetricName") == "Errors"
        for d in p["Dimensions"]
    }
    assert functions == watched
    assert "No scheduled evaluation" in _quality_header(template)  # no evaluation props: none built
    assert not [lid for lid in resources(template, "AWS::CloudWatch::Alarm") if lid.startswith("AlarmsQuality")]
    thumbs = alarm(template, "AlarmsThumbsDownRatio")
    assert thumbs["Threshold"] == 0.4
    assert _expression(thumbs).startswith("IF((FILL(up, 0) + FILL(down, 0)) >= 25,")
    tokens = next(
        r["Properties"]
        for r in resources(template, "AWS::Logs::QueryDefinition").values()
        if r["Properties"]["Name"] == "team-dev/invocation-log-token-outliers"
    )
    assert tokens["LogGroupNames"] == [
        {"Ref": next(lid for lid in template["Resources"] if lid.startswith("InvocationLoggingLogs"))}
    ]
