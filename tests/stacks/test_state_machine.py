"""stacks/common/state_machine.py in a one-state-machine stack: the Lambda step's single retrier (the Data
pipeline's numbers by default), and the state machine's logging, tracing, timeout and cfn-lint note. The kit's
own state machines are checked in place by test_data.py, test_quality_evaluation.py, test_scale.py and
test_deploy_traps.py (the vended log group names)."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk.assertions import Template

from stacks.common.stage_policy import StagePolicy
from stacks.common.state_machine import LAMBDA_ERRORS, Retry, kit_state_machine, lambda_step

FUNCTION_ARN = "arn:aws:lambda:eu-west-1:123456789012:function:step"
KEY_ARN = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def build(retry: Retry | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """The template, and the state machine's definition as Step Functions reads it."""
    stack = cdk.Stack(cdk.App(), "Machine", env=cdk.Environment(account="123456789012", region="eu-west-1"))
    function = lambda_.Function.from_function_arn(stack, "Function", FUNCTION_ARN)
    step = lambda_step(
        stack,
        "Step",
        function,
        payload={"run": sfn.JsonPath.string_at("$.run")},
        result_path="$.out",
        **({"retry": retry} if retry is not None else {}),
    )
    kit_state_machine(
        stack,
        "Machine",
        name="team-dev-thing",
        definition=step,
        key=kms.Key.from_key_arn(stack, "Key", KEY_ARN),
        stage=StagePolicy("prod"),
        timeout=cdk.Duration.hours(3),
        log_id="MachineLogs",
    )
    template = dict(Template.from_stack(stack).to_json())
    (machine,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::StepFunctions::StateMachine"]
    # A literal: the function is imported by ARN and the stack pinned, so nothing in the definition is a token.
    return template, json.loads(machine["Properties"]["DefinitionString"])


def test_a_step_retries_once_as_the_data_pipeline_does_and_never_by_cdks_default():
    _, definition = build()
    step = definition["States"]["Step"]
    assert step["Retry"] == [
        {
            "ErrorEquals": [*LAMBDA_ERRORS, "Throttled"],
            "IntervalSeconds": 2,
            "MaxAttempts": 6,
            "BackoffRate": 2,
            "MaxDelaySeconds": 60,
            "JitterStrategy": "FULL",
        }
    ]
    # payload_response_only: the function itself is the resource (not states:::lambda:invoke) and the answer is
    # the function's payload, with no envelope to select from.
    assert (step["Resource"], step["Parameters"], step["ResultPath"]) == (FUNCTION_ARN, {"run.$": "$.run"}, "$.out")


def test_a_caller_s_retry_replaces_every_number_and_the_errors():
    _, definition = build(Retry(errors=("A", "B"), interval_seconds=30, max_attempts=4, max_delay_seconds=300))
    assert definition["States"]["Step"]["Retry"] == [
        {
            "ErrorEquals": ["A", "B"],
            "IntervalSeconds": 30,
            "MaxAttempts": 4,
            "BackoffRate": 2,
            "MaxDelaySeconds": 300,
            "JitterStrategy": "FULL",
        }
    ]


def test_the_state_machine_logs_without_execution_data_to_a_vended_group_and_traces():
    template, definition = build()
    assert definition["TimeoutSeconds"] == 3 * 3600
    (log_id,) = [k for k, r in template["Resources"].items() if r["Type"] == "AWS::Logs::LogGroup"]
    assert log_id.startswith("MachineLogs")
    log_group = template["Resources"][log_id]
    assert log_group["Properties"]["LogGroupName"] == "/aws/vendedlogs/states/team-dev-thing"
    assert log_group["Properties"]["KmsKeyId"] == KEY_ARN
    assert (log_group["Properties"]["RetentionInDays"], log_group["DeletionPolicy"]) == (365, "Retain")  # prod
    (machine,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::StepFunctions::StateMachine"]
    props = machine["Properties"]
    assert props["StateMachineName"] == "team-dev-thing"
    assert props["StateMachineType"] == "STANDARD"
    assert props["TracingConfiguration"] == {"Enabled": True}
    logging = props["LoggingConfiguration"]
    assert (logging["Level"], logging["IncludeExecutionData"]) == ("ALL", False)
    assert logging["Destinations"] == [{"CloudWatchLogsLogGroup": {"LogGroupArn": {"Fn::GetAtt": [log_id, "Arn"]}}}]
    assert machine["Metadata"]["cfn-lint"] == {"config": {"ignore_checks": ["W3005"]}}
