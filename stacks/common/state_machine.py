"""The conventions every state machine of the kit follows (the Data pipeline, the quality evaluation, fine-tuning).

- A Lambda step (`lambda_step`) passes on the function's answer only and turns CDK's default retry of Lambda
  service errors off, so its one retry is the kit's (`Retry`): exponential backoff with full jitter, on errors
  the caller names.
- A state machine (`kit_state_machine`) is STANDARD, traced with X-Ray, bounded by a timeout, and logs every
  event without execution data (records, prompts and answers stay out of the logs) to a log group encrypted with
  the CMK and kept as the stage keeps logs. The group is named under /aws/vendedlogs/states/: Step Functions adds
  each destination log group to the account's CloudWatch Logs resource policy, which is capped at 5,120
  characters, and names under /aws/vendedlogs/ are covered without growing it (Step Functions Developer Guide,
  "Avoiding CloudWatch Logs resource policy size restrictions").
- cfn-lint W3005 is acknowledged on the CfnStateMachine, as on KitFunction: CDK orders the state machine after
  its role (DependsOn) although RoleArn's GetAtt already does; the DependsOn also carries the role's policy,
  which must stay.

Construct ids are the caller's, so every logical id stays where it was.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct, IConstruct

from stacks.common.kit_function import KitFunction
from stacks.common.nag import acknowledge_each, iam5_resource_finding, role_policy_reasons
from stacks.common.stage_policy import StagePolicy

VENDED_LOGS_STATES = "/aws/vendedlogs/states/"
# Lambda's own transient errors (with retry_on_service_exceptions off, nothing else retries them).
LAMBDA_ERRORS = (
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
)
# What the kit's Lambdas raise when throttling outlasted the SDK's retries (pipeline.errors, evaluation.runner).
THROTTLED = "Throttled"


@dataclass(frozen=True)
class Retry:
    """Exponential backoff with full jitter on ``errors``. The defaults are the Data pipeline's: a short step
    that Lambda or a throttled service failed runs again within about two minutes."""

    errors: tuple[str, ...] = (*LAMBDA_ERRORS, THROTTLED)
    interval_seconds: int = 2
    max_attempts: int = 6
    backoff_rate: float = 2
    max_delay_seconds: int = 60

    def add_to(self, task: sfn.TaskStateBase) -> None:
        task.add_retry(
            errors=list(self.errors),
            interval=cdk.Duration.seconds(self.interval_seconds),
            max_attempts=self.max_attempts,
            backoff_rate=self.backoff_rate,
            max_delay=cdk.Duration.seconds(self.max_delay_seconds),
            jitter_strategy=sfn.JitterType.FULL,
        )


STEP_RETRY = Retry()


def lambda_step(
    scope: Construct,
    construct_id: str,
    function: lambda_.IFunction,
    *,
    payload: Mapping[str, object] | None = None,
    result_path: str | None = None,
    retry: Retry = STEP_RETRY,
) -> tasks.LambdaInvoke:
    """Invoke ``function`` with ``payload`` (None: the state's input), its answer at ``result_path`` (None:
    replacing the state), retried as ``retry`` says and never by CDK's default retry."""
    task = tasks.LambdaInvoke(
        scope,
        construct_id,
        lambda_function=function,
        payload=sfn.TaskInput.from_object(dict(payload)) if payload is not None else None,
        payload_response_only=True,
        retry_on_service_exceptions=False,
        result_path=result_path,
    )
    retry.add_to(task)
    return task


def kit_state_machine(
    scope: Construct,
    construct_id: str,
    *,
    name: str,
    definition: sfn.IChainable,
    key: kms.IKey,
    stage: StagePolicy,
    timeout: cdk.Duration,
    log_id: str,
) -> sfn.StateMachine:
    """A STANDARD state machine ``name`` running ``definition``, logging to ``/aws/vendedlogs/states/<name>``
    (construct ``log_id``), encrypted with ``key``."""
    log_group = logs.LogGroup(
        scope,
        log_id,
        log_group_name=f"{VENDED_LOGS_STATES}{name}",
        encryption_key=key,
        retention=stage.log_retention,
        removal_policy=stage.removal_policy,
    )
    machine = sfn.StateMachine(
        scope,
        construct_id,
        state_machine_name=name,
        state_machine_type=sfn.StateMachineType.STANDARD,
        definition_body=sfn.DefinitionBody.from_chainable(definition),
        logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=False),
        tracing_enabled=True,
        timeout=timeout,
    )
    machine_resource = machine.node.default_child
    assert isinstance(machine_resource, sfn.CfnStateMachine)
    machine_resource.add_metadata("cfn-lint", {"config": {"ignore_checks": ["W3005"]}})
    return machine


def acknowledge_lambda_steps(machine: sfn.StateMachine, functions: Iterable[KitFunction]) -> IConstruct:
    """Acknowledges what the state machine's role policy raises by construction: the kit's role-policy findings
    and, per function its steps invoke, CDK's LambdaInvoke grant on the function's versions and aliases. Returns
    the policy, for the caller's own acknowledgments."""
    policy = machine.role.node.find_child("DefaultPolicy").node.default_child
    assert policy is not None
    invoke = (
        "lambda:InvokeFunction on the function's own versions and aliases (CDK's LambdaInvoke grant); "
        "no other function matches the ARN."
    )
    steps = {iam5_resource_finding(machine, f"{function.function_arn}:*"): invoke for function in functions}
    acknowledge_each(policy, role_policy_reasons() | steps)
    return policy
