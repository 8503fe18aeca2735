"""`QualityEvaluation`: the scheduled quality evaluation and its gate, as one construct of the Observability stack.

    EventBridge Scheduler (daily) or `aws stepfunctions start-execution` (on demand)
      -> Step Functions: Plan (the golden set's tasks, known at synth)
         -> RunTasks, a Map over tasks (at most ``task_concurrency`` at once): EvaluateTask
            (evaluation.run_task: the task's golden cases through the serving pipeline, in process)
         -> ScoreRun (evaluation.score: scores, gate, report, metrics, last accepted run)
         -> Accepted | QualityGateFailed (the execution fails; the failed-executions alarm goes to the topic)

The serving pipeline runs inside RunTask with the chat functions' own code (`api.wiring.real_pipeline`) and
settings (`ApiSettings` and the safety settings, split into the settings layer and the environment as the Api
stack splits them), so RunTask's role gets exactly what the Api stack grants its chat functions for the
pipeline (stacks/api/stack.py `_grant_chat`): the model (and, for an inference profile, the foundation model in
its regions), the guardrail and the safety checks, the knowledge base or the agent where those architectures are
offered, the selected prompts; not the conversation, quota and telemetry tables, which the pipeline never reads.
The golden set (usecases/<id>/golden/<task>.jsonl) travels in the same settings layer file.

One RunTask invocation runs one task's cases one after another within Lambda's 15 minutes: at about 5 s a case
(retrieval, model, guardrail, per-sentence checks) that is some 150 cases per task; split a bigger golden set
into tasks. Throttling retries the task with backoff (the task is idempotent).

Reports go to ``reports.bucket`` (the Data stack's reports bucket, for one) under ``prefix``, or to a
`SecureBucket` of its own. Optionally each run starts a Bedrock LLM-as-a-judge evaluation job on its own answers
(``judge``): Score then may create evaluation jobs and pass exactly the judge's service role, which trusts
bedrock.amazonaws.com for this account's evaluation jobs only.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from api.contract import API_SETTINGS_ENV, ApiSettings
from api.deployed_settings import API_SECTION, SAFETY_SECTION
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from common.safety.policy import ENVIRONMENT_VARIABLE as SAFETY_SETTINGS_ENV
from constructs import Construct
from evaluation.contract import (
    EVALUATION_SECTION,
    EVALUATION_SETTINGS_ENV,
    SETTINGS_FILE,
    EvaluationSettings,
    GoldenCase,
)
from pydantic import ValidationError

from stacks.common.buckets import SecureBucket, grant_read_prefix, grant_write_prefix
from stacks.common.dependency_layer import evaluation_layer
from stacks.common.deploy_time import split_deploy_time
from stacks.common.kit_function import KitFunction
from stacks.common.nag import acknowledge, acknowledge_all, acknowledge_role_policy, each_pack, iam5_resource_finding
from stacks.common.serving_grants import AgentGrants, GuardrailGrants, KnowledgeBaseGrants, PromptsGrants, grant_serving
from stacks.common.settings_layer import SettingsLayer
from stacks.common.stage_policy import StagePolicy
from stacks.common.state_machine import Retry, acknowledge_lambda_steps, kit_state_machine, lambda_step
from stacks.common.threshold_alarm import ThresholdAlarm
from stacks.common.vector_knowledge_base import model_arns
from stacks.config import ConfigError
from stacks.config.usecase import EvaluationThresholds
from stacks.observability import quality_metrics

RUN_TASK_HANDLER = "evaluation.run_task.handler"
SCORE_HANDLER = "evaluation.score.handler"
SERVICE = "quality-evaluation"
PREFIX = "quality-evaluation/"
DAILY = "cron(0 5 * * ? *)"  # 05:00 UTC, after the nightly data and export jobs
# Lambda's errors and evaluation.runner.Throttled (Bedrock throttled a case; the whole task runs again): a task
# runs for minutes, so it waits longer between fewer attempts than a Data pipeline step.
TASK_RETRY = Retry(interval_seconds=30, max_attempts=4, max_delay_seconds=300)
SETTINGS_NAME = SETTINGS_FILE.removesuffix(".json")


# ------------------------------------------------------------------ what the construct uses of other stacks


@dataclass(frozen=True)
class ServingPipeline:
    """The deployed serving pipeline: the Api stack's `settings` and what its `ApiProps` received (the kit's stacks
    fit these protocols as they are: GuardrailsStack, the Knowledge stack's knowledge base, the Agent stack's
    supervisor, PromptsStack, or the Api stack's `Imported*` classes)."""

    settings: ApiSettings  # ApiStack.settings
    safety_settings: str  # ApiProps.guardrail.safety_settings_json()
    model: str  # ApiProps.model (usecase.yaml models.text)
    guardrail: GuardrailGrants
    knowledge_base: KnowledgeBaseGrants | None = None
    agent: AgentGrants | None = None
    prompts: PromptsGrants | None = None
    # Any other grant the Api stack gives its chat functions for the pipeline (e.g. the Scale stack's hosted
    # endpoint, when `ApiSettings.hosted_endpoint` is set): each is called with RunTask's role.
    more_grants: tuple[Callable[[iam.IGrantable], object], ...] = ()


@dataclass(frozen=True)
class ReportsBucket:
    """An existing bucket for the reports (the Data stack's reports bucket) and its SSE-KMS key (None: SSE-S3)."""

    bucket: s3.IBucket
    key: kms.IKey | None


@dataclass(frozen=True)
class JudgeJob:
    """A Bedrock LLM-as-a-judge evaluation job on each run's answers (evaluation.judge)."""

    evaluator_model: str  # a Bedrock model or inference-profile id the judge runs on
    metrics: tuple[str, ...] = ("Builtin.Correctness", "Builtin.Completeness", "Builtin.Faithfulness")


@dataclass(frozen=True)
class QualityEvaluationProps:
    name_prefix: str  # "<prefix>-<stage>"
    stage: StagePolicy
    key: kms.IKey  # function environments, logs
    alarm_topic: sns.ITopic
    usecase_id: str
    thresholds: EvaluationThresholds  # usecase.yaml `evaluation`
    serving: ServingPipeline
    golden_dir: Path  # usecases/<id>/golden
    reports: ReportsBucket | None = None  # None: a SecureBucket of its own (needs ``access_logs``)
    access_logs: s3.IBucket | None = None
    prefix: str = PREFIX
    schedule: str | None = DAILY  # an EventBridge Scheduler expression; None: on demand only
    architecture: str | None = None  # None: the chat API's default architecture
    task_concurrency: int = 2
    judge: JudgeJob | None = None


def load_golden_set(golden_dir: Path) -> dict[str, tuple[GoldenCase, ...]]:
    """Task -> its cases, from ``<golden_dir>/<task>.jsonl`` (predictions/ and other folders are not tasks)."""
    golden: dict[str, tuple[GoldenCase, ...]] = {}
    for path in sorted(golden_dir.glob("*.jsonl")):
        cases = []
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                cases.append(GoldenCase.model_validate_json(line))
            except ValueError as exc:
                first = str(exc).splitlines()[0]
                raise ConfigError(f"{path.name}:{number}", "golden case", first) from None
        golden[path.stem] = tuple(cases)
    if not golden:
        raise ConfigError(str(golden_dir), "golden", "no <task>.jsonl golden set: the quality evaluation needs one")
    return golden


class QualityEvaluation(Construct):
    """Exposes `state_machine`, `run_task` and `score` (`KitFunction`), `reports_bucket`, `schedule` (or None),
    `judge_role` (or None) and `alarms` (`failed_alarm` among them: failed executions, gate failures included)."""

    def __init__(self, scope: Construct, construct_id: str, *, props: QualityEvaluationProps) -> None:
        super().__init__(scope, construct_id)
        self._props = props
        self.golden = load_golden_set(props.golden_dir)
        self.reports_bucket, self._reports_key = self._reports()
        self.judge_role = self._judge_role(props.judge) if props.judge is not None else None
        self.settings_layer, environment = self._settings()
        self.run_task = self._function(
            "RunTask",
            RUN_TASK_HANDLER,
            "Quality evaluation: one task's golden cases through the serving pipeline",
            environment,
            timeout=cdk.Duration.minutes(15),
        )
        self.score = self._function(
            "Score",
            SCORE_HANDLER,
            "Quality evaluation: scores, gate, report, metrics, last accepted run",
            environment,
            timeout=cdk.Duration.minutes(5),
            scoring=True,
        )
        self._grant_serving(self.run_task.role)
        self._grant_reports()
        self.state_machine = self._state_machine()
        self.schedule = self._schedule(props.schedule) if props.schedule else None
        self.failed_alarm = ThresholdAlarm(
            self,
            "FailedRuns",
            metric=self.state_machine.metric_failed(period=cdk.Duration.minutes(5), statistic="Sum"),
            description="The quality evaluation failed: the gate failed (see the run's report.md) or a step did.",
            topic=props.alarm_topic,
        )
        self.alarms: list[cloudwatch.Alarm] = [
            self.failed_alarm,
            *(
                ThresholdAlarm(
                    self,
                    f"{name}Errors",
                    metric=function.metric_errors(period=cdk.Duration.minutes(5)),
                    description=f"The quality evaluation's {name} function failed.",
                    topic=props.alarm_topic,
                )
                for name, function in (("RunTask", self.run_task), ("Score", self.score))
            ),
        ]

    # ------------------------------------------------------------------ settings and functions

    def _settings(self) -> tuple[SettingsLayer, dict[str, str]]:
        props, stack = self._props, cdk.Stack.of(self)
        serving = props.serving
        evaluation: dict[str, Any] = {
            "usecase": props.usecase_id,
            "golden": {task: [case.model_dump() for case in cases] for task, cases in self.golden.items()},
            "thresholds": props.thresholds.gate_thresholds(),
            "margin": props.thresholds.regression_margin,
            "architecture": props.architecture,
            "reports_bucket": self.reports_bucket.bucket_name,
            "prefix": props.prefix,
            "namespace": quality_metrics.NAMESPACE,
            "overall_task": quality_metrics.OVERALL_TASK,
        }
        if props.judge is not None and self.judge_role is not None:
            evaluation["bedrock_evaluation"] = {
                "evaluator_model_id": props.judge.evaluator_model,
                "metrics": list(props.judge.metrics),
                "role_arn": self.judge_role.role_arn,
            }
        # Checked at synth as the functions will parse it (duplicate case ids, the prefix, the architecture).
        try:
            EvaluationSettings.model_validate(evaluation)
        except ValidationError as exc:
            problem = exc.errors()[0]
            where = ".".join(str(part) for part in problem["loc"]) or "settings"
            raise ConfigError(str(props.golden_dir), where, problem["msg"]) from None
        if props.architecture is not None and props.architecture not in serving.settings.architectures:
            offered = ", ".join(serving.settings.architectures)
            raise ConfigError(
                "QualityEvaluationProps", "architecture", f"'{props.architecture}' is not offered (offered: {offered})"
            )
        if props.task_concurrency < 1:
            raise ConfigError("QualityEvaluationProps", "task_concurrency", "must be at least 1")
        static_api, deployed_api = split_deploy_time(serving.settings.model_dump(mode="json", exclude_defaults=True))
        static_safety, deployed_safety = split_deploy_time(json.loads(serving.safety_settings))
        static_evaluation, deployed_evaluation = split_deploy_time(evaluation)
        layer = SettingsLayer(
            self,
            "Settings",
            files={
                SETTINGS_NAME: {
                    API_SECTION: static_api or {},
                    SAFETY_SECTION: static_safety or {},
                    EVALUATION_SECTION: static_evaluation or {},
                }
            },
            description=f"{props.name_prefix}: quality evaluation settings and golden set",
        )
        environment = {
            **layer.environment(SETTINGS_NAME),
            API_SETTINGS_ENV: stack.to_json_string(deployed_api or {}),
            SAFETY_SETTINGS_ENV: stack.to_json_string(deployed_safety or {}),
            EVALUATION_SETTINGS_ENV: stack.to_json_string(deployed_evaluation or {}),
        }
        return layer, environment

    def _function(
        self,
        construct_id: str,
        handler: str,
        description: str,
        environment: dict[str, str],
        *,
        timeout: cdk.Duration,
        scoring: bool = False,
    ) -> KitFunction:
        props = self._props
        return KitFunction(
            self,
            construct_id,
            handler=handler,
            description=description,
            service=SERVICE,
            namespace=quality_metrics.NAMESPACE,
            key=props.key,
            stage=props.stage,
            environment=environment,
            layers=[self.settings_layer.layer, *([evaluation_layer(self)] if scoring else [])],
            memory_size=1024,
            timeout=timeout,
        )

    # ------------------------------------------------------------------ permissions

    def _grant_serving(self, role: iam.Role) -> None:
        """Exactly what the Api stack grants its chat functions for the pipeline (`ApiStack._grant_chat`), without
        the tables: the model, the guardrail and the safety checks, the knowledge base or the agent where offered,
        the selected prompts."""
        serving = self._props.serving
        grant_serving(
            role,
            model=serving.model,
            guardrail=serving.guardrail,
            architectures=serving.settings.architectures,
            knowledge_base=serving.knowledge_base,
            agent=serving.agent,
            more_grants=serving.more_grants,
            prompts=serving.prompts,
        )

    def _grant_reports(self) -> None:
        """RunTask writes its predictions; Score reads them and the last accepted run, writes the reports, the
        judge's datasets and the last accepted run, and may start the judge's job. The metrics need no grant:
        Score writes them as embedded metric format lines to its own log group."""
        props, bucket, key = self._props, self.reports_bucket, self._reports_key
        runs = f"{props.prefix}runs/"
        grant_write_prefix(bucket, self.run_task.role, runs, key=key)
        grant_read_prefix(bucket, self.score.role, props.prefix, key=key)
        grant_write_prefix(bucket, self.score.role, props.prefix, key=key)
        if self.judge_role is not None:
            stack = cdk.Stack.of(self)
            jobs = stack.format_arn(service="bedrock", resource="evaluation-job", resource_name="*")
            iam.Grant.add_to_principal(
                grantee=self.score.role, actions=["bedrock:CreateEvaluationJob"], resource_arns=[jobs]
            )
            iam.Grant.add_to_principal(
                grantee=self.score.role,
                actions=["iam:PassRole"],
                resource_arns=[self.judge_role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "bedrock.amazonaws.com"}},
            )
            policy = self.score.role.node.find_child("DefaultPolicy").node.default_child
            assert policy is not None
            acknowledge(
                policy,
                iam5_resource_finding(policy, jobs),
                "bedrock:CreateEvaluationJob names the job it creates; its name carries the run id, known only "
                "when the run starts, so the ARN is this account's evaluation jobs in this region.",
            )

    def _reports(self) -> tuple[s3.IBucket, kms.IKey | None]:
        props = self._props
        if props.reports is not None:
            return props.reports.bucket, props.reports.key
        if props.access_logs is None:
            raise ConfigError("QualityEvaluationProps", "access_logs", "needed for the construct's own reports bucket")
        own = SecureBucket(self, "Reports", key=props.key, access_logs=props.access_logs, stage=props.stage)
        return own.bucket, props.key

    def _judge_role(self, judge: JudgeJob) -> iam.Role:
        """The service role Bedrock assumes for this account's evaluation jobs: the run's datasets and outputs
        under the prefix, and the judge model."""
        props, stack = self._props, cdk.Stack.of(self)
        role = _service_role(
            self,
            "JudgeRole",
            f"{props.name_prefix}: Bedrock evaluation jobs of the quality evaluation",
            "bedrock.amazonaws.com",
            stack.format_arn(service="bedrock", resource="evaluation-job", resource_name="*"),
        )
        runs = f"{props.prefix}runs/"
        grant_read_prefix(self.reports_bucket, role, runs, key=self._reports_key)
        grant_write_prefix(self.reports_bucket, role, runs, key=self._reports_key)
        models = model_arns(self, judge.evaluator_model)
        iam.Grant.add_to_principal(grantee=role, actions=["bedrock:InvokeModel"], resource_arns=models)
        policy = role.node.find_child("DefaultPolicy").node.default_child
        assert policy is not None
        acknowledge_role_policy(policy)
        for arn in models:
            if "*" in json.dumps(stack.resolve(arn)):
                acknowledge(
                    policy,
                    iam5_resource_finding(policy, arn),
                    "The judge's cross-region inference profile sends each request to any region of its "
                    "geography; the foundation model is named, only its region is open.",
                )
        return role

    # ------------------------------------------------------------------ workflow

    def _state_machine(self) -> sfn.StateMachine:
        props = self._props
        plan = sfn.Pass(
            self,
            "Plan",
            parameters={"run_id": sfn.JsonPath.string_at("$$.Execution.Name"), "tasks": list(self.golden)},
        )
        run_tasks = sfn.Map(
            self,
            "RunTasks",
            items_path="$.tasks",
            item_selector={
                "run_id": sfn.JsonPath.string_at("$.run_id"),
                "task": sfn.JsonPath.string_at("$$.Map.Item.Value"),
            },
            max_concurrency=props.task_concurrency,
            result_path="$.results",
        )
        run_tasks.item_processor(
            lambda_step(
                self,
                "EvaluateTask",
                self.run_task.function,
                payload={"run_id": sfn.JsonPath.string_at("$.run_id"), "task": sfn.JsonPath.string_at("$.task")},
                result_path="$",
                retry=TASK_RETRY,
            )
        )
        score = lambda_step(
            self,
            "ScoreRun",
            self.score.function,
            payload={"run_id": sfn.JsonPath.string_at("$.run_id"), "results": sfn.JsonPath.list_at("$.results")},
            result_path="$.verdict",
            retry=TASK_RETRY,
        )
        verdict = (
            sfn.Choice(self, "Gate")
            .when(sfn.Condition.boolean_equals("$.verdict.passed", True), sfn.Succeed(self, "Accepted"))
            .otherwise(sfn.Fail(self, "QualityGateFailed", error="QualityGateFailed", cause_path="$.verdict.summary"))
        )
        machine = kit_state_machine(
            self,
            "StateMachine",
            name=f"{props.name_prefix}-quality-evaluation",
            definition=plan.next(run_tasks).next(score).next(verdict),
            key=props.key,
            stage=props.stage,
            timeout=cdk.Duration.hours(2),
            log_id="Logs",
        )
        acknowledge_lambda_steps(machine, (self.run_task, self.score))
        return machine

    def _schedule(self, expression: str) -> scheduler.CfnSchedule:
        """A daily EventBridge Scheduler schedule whose role may start exactly this state machine."""
        props, stack = self._props, cdk.Stack.of(self)
        name = f"{props.name_prefix}-quality-evaluation"[:64]
        role = _service_role(
            self,
            "ScheduleRole",
            f"{props.name_prefix}: the quality evaluation's schedule starts its state machine",
            "scheduler.amazonaws.com",
            stack.format_arn(
                service="scheduler",
                resource="schedule",
                resource_name=f"default/{name}",
                arn_format=cdk.ArnFormat.SLASH_RESOURCE_NAME,
            ),
        )
        iam.Grant.add_to_principal(
            grantee=role, actions=["states:StartExecution"], resource_arns=[self.state_machine.state_machine_arn]
        )
        policy = role.node.find_child("DefaultPolicy").node.default_child
        assert policy is not None
        acknowledge_all(
            policy,
            each_pack("IAMNoInlinePolicy"),
            "The schedule's role holds one statement (states:StartExecution on this state machine) and is created "
            "and deleted with it; a managed copy would be attachable elsewhere.",
        )
        return scheduler.CfnSchedule(
            self,
            "Schedule",
            name=name,
            description=f"{props.usecase_id}: daily quality evaluation on the golden set",
            schedule_expression=expression,
            schedule_expression_timezone="UTC",
            flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
            state="ENABLED",
            target=scheduler.CfnSchedule.TargetProperty(
                arn=self.state_machine.state_machine_arn,
                role_arn=role.role_arn,
                input=json.dumps({"trigger": "schedule"}),
                retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(
                    maximum_event_age_in_seconds=3600, maximum_retry_attempts=3
                ),
            ),
        )


def _service_role(scope: Construct, construct_id: str, description: str, service: str, source_arn: str) -> iam.Role:
    """A role ``service`` may assume only on behalf of this account's ``source_arn`` (aws:SourceAccount and
    aws:SourceArn: no confused deputy)."""
    return iam.Role(
        scope,
        construct_id,
        description=description,
        assumed_by=iam.ServicePrincipal(
            service,
            conditions={
                "StringEquals": {"aws:SourceAccount": cdk.Stack.of(scope).account},
                "ArnLike": {"aws:SourceArn": source_arn},
            },
        ),
    )
