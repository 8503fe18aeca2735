"""`FineTuningWorkflow`: Bedrock model customization on the thumbs-up export, behind the evaluation gate and a human.

Validate (lambdas/finetune/validate.py) -> CreateModelCustomizationJob (SDK integration) -> poll
GetModelCustomizationJob (InProgress and Stopping wait; Completed goes on; Failed and Stopped are reported) ->
CreateCustomModelDeployment for evaluation (on demand: billed per token, nothing idle) -> poll it -> Evaluate
the custom model and the base on the golden set -> DeleteCustomModelDeployment -> Gate (passes the use case's
thresholds and beats the base by the margin) -> RequestApproval (waitForTaskToken: an approval request with the
token on the alarm topic) -> Promote (a custom model deployment, or provisioned throughput, which bills hourly)
-> Report. Every task's failure is caught with the state it had, named (`failed_step`) and reported to
``reports/<run>/`` as JSON and Markdown before the execution fails: never silently.

IAM: the state machine may pass exactly the customization role, and only to Bedrock (iam:PassedToService); that
role is assumable by Bedrock only for this account's customization jobs (aws:SourceAccount, aws:SourceArn) and
reads exactly ``training/`` and writes exactly ``output/`` of the workflow's bucket.
"""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct
from finetune.contract import DEPLOY_ENV, SETTINGS_NAME, FinetuneSettings, GoldenCase

from stacks.common.buckets import SecureBucket, grant_read_prefix, grant_write_prefix
from stacks.common.dependency_layer import evaluation_layer
from stacks.common.kit_function import KitFunction
from stacks.common.kms_key import grant_key_use_via
from stacks.common.nag import acknowledge, acknowledge_role_policy, iam5_resource_finding
from stacks.common.settings_layer import SettingsLayer
from stacks.common.stage_policy import StagePolicy
from stacks.common.state_machine import LAMBDA_ERRORS, Retry, acknowledge_lambda_steps, kit_state_machine, lambda_step
from stacks.common.threshold_alarm import ThresholdAlarm
from stacks.scale.settings import FineTuningSettings

TRAINING_PREFIX = "training/"
OUTPUT_PREFIX = "output/"
REPORTS_PREFIX = "reports/"
BEDROCK = "bedrock.amazonaws.com"
STEP_RETRY = Retry(errors=LAMBDA_ERRORS)  # the workflow's functions raise no `Throttled`
BEDROCK_RETRY = Retry(
    errors=("Bedrock.ThrottlingException", "Bedrock.ServiceUnavailableException"),
    interval_seconds=5,
    max_attempts=5,
    max_delay_seconds=120,
)
# Every status GetModelCustomizationJob reports (Bedrock API reference, ModelCustomizationJobStatus).
JOB_WAITING = ("InProgress", "Stopping")
JOB_COMPLETED = "Completed"
JOB_FAILED = "Failed"
JOB_STOPPED = "Stopped"
JOB_STATUSES = (*JOB_WAITING, JOB_COMPLETED, JOB_FAILED, JOB_STOPPED)
# GetCustomModelDeployment's statuses.
DEPLOYMENT_CREATING, DEPLOYMENT_ACTIVE, DEPLOYMENT_FAILED = "Creating", "Active", "Failed"
# Cross-region inference profile ids start with their geography: `us.amazon.nova-micro-v1:0`.
INFERENCE_PROFILE_GEOGRAPHIES = frozenset({"us", "eu", "apac", "global", "jp", "au", "ca", "us-gov"})
REJECTED = "Rejected"  # the error a reviewer's send-task-failure names (lambdas/finetune/approval.py)


@dataclass(frozen=True)
class FineTuningProps:
    name_prefix: str
    stage: StagePolicy
    key: kms.IKey  # the workflow bucket, logs and the custom model (CustomModelKmsKeyId)
    alarm_topic: sns.ITopic  # approval requests go here (its email subscribers approve)
    access_logs: s3.IBucket
    curated_bucket: s3.IBucket  # the Data stack's: the export and curated records under ``export_prefix``
    usecase_id: str
    settings: FineTuningSettings
    thresholds: dict[str, float]  # usecase.yaml `evaluation` by gate metric name
    golden: tuple[GoldenCase, ...]
    export_prefix: str = "finetune/"
    curated_bucket_key: kms.IKey | None = None  # None: ``key``


class FineTuningWorkflow(Construct):
    """Exposes ``state_machine``, ``bucket`` (training/, output/, reports/), ``customization_role`` and
    ``functions`` (step -> `KitFunction`)."""

    def __init__(self, scope: Construct, construct_id: str, *, props: FineTuningProps) -> None:
        super().__init__(scope, construct_id)
        self._props = props
        stack = cdk.Stack.of(self)
        self._stack = stack
        self.bucket = SecureBucket(self, "Work", key=props.key, access_logs=props.access_logs, stage=props.stage)
        self.base_model_arn = stack.format_arn(
            service="bedrock",
            account="",
            resource="foundation-model",
            resource_name=props.settings.base_model,
            arn_format=cdk.ArnFormat.SLASH_RESOURCE_NAME,
        )
        self.job_arns = self._arn("model-customization-job", "*")
        self.custom_model_arns = self._arn("custom-model", "*")
        self.deployment_arns = self._arn("custom-model-deployment", "*")
        self.customization_role = self._customization_role()
        self.functions = self._functions()
        self.state_machine = self._state_machine()

    # ------------------------------------------------------------------ resources

    def _arn(self, resource: str, name: str) -> str:
        return self._stack.format_arn(
            service="bedrock", resource=resource, resource_name=name, arn_format=cdk.ArnFormat.SLASH_RESOURCE_NAME
        )

    def _customization_role(self) -> iam.Role:
        """Assumed by Bedrock for this account's customization jobs only; reads training/, writes output/."""
        props = self._props
        role = iam.Role(
            self,
            "CustomizationRole",
            assumed_by=iam.ServicePrincipal(
                BEDROCK,
                conditions={
                    "StringEquals": {"aws:SourceAccount": cdk.Aws.ACCOUNT_ID},
                    "ArnEquals": {"aws:SourceArn": self.job_arns},
                },
            ),
            description="Bedrock model customization: reads the validated training data, writes the job output",
        )
        grant_read_prefix(self.bucket.bucket, role, TRAINING_PREFIX, key=props.key)
        grant_write_prefix(self.bucket.bucket, role, OUTPUT_PREFIX, key=props.key)
        policy = role.node.find_child("DefaultPolicy").node.default_child
        assert policy is not None
        acknowledge_role_policy(policy)
        return role

    def _functions(self) -> dict[str, KitFunction]:
        props, _stack = self._props, self._stack
        contract = FinetuneSettings(
            usecase=props.usecase_id,
            name_prefix=props.name_prefix,
            export_prefix=props.export_prefix,
            curated_records_prefix=f"{props.export_prefix}curated/",
            training_prefix=TRAINING_PREFIX,
            output_prefix=OUTPUT_PREFIX,
            reports_prefix=REPORTS_PREFIX,
            min_records=props.settings.min_records,
            max_records=props.settings.max_records,
            base_model=props.settings.base_model,
            base_inference_model=props.settings.base_inference_model,
            thresholds=props.thresholds,
            task=props.settings.golden_task,
            margin=props.settings.margin,
            golden=props.golden,
            poll_seconds=props.settings.poll_seconds,
        )
        layer = SettingsLayer(
            self,
            "Settings",
            files={SETTINGS_NAME: contract.model_dump(mode="json")},
            description=f"{props.name_prefix}: fine-tuning workflow settings",
        )
        deployed = {
            "CURATED_BUCKET": props.curated_bucket.bucket_name,
            "WORK_BUCKET": self.bucket.bucket.bucket_name,
            "ALARM_TOPIC_ARN": props.alarm_topic.topic_arn,
        }
        assert set(deployed) == set(DEPLOY_ENV)
        steps = {
            "validate": ("finetune.validate.handler", "validates the fine-tuning dataset", 300, ()),
            "evaluate": ("finetune.evaluate.handler", "scores the custom and base models", 900, (evaluation_layer,)),
            "gate": ("finetune.gate.handler", "decides whether the custom model may be promoted", 30, ()),
            "approval": ("finetune.approval.handler", "requests the promotion approval", 30, ()),
            "report": ("finetune.report.handler", "writes the run report", 60, ()),
        }
        functions = {}
        for step, (handler, purpose, seconds, extra_layers) in steps.items():
            functions[step] = KitFunction(
                self,
                f"{step.capitalize()}Function",
                handler=handler,
                description=f"Fine-tuning workflow: {purpose}",
                service=f"finetune-{step}",
                namespace=f"{props.name_prefix}/finetune",
                key=props.key,
                stage=props.stage,
                environment={**layer.environment(SETTINGS_NAME), **deployed},
                timeout=cdk.Duration.seconds(seconds),
                memory_size=1024 if step == "evaluate" else 512,
                layers=[layer.layer, *(make(self) for make in extra_layers)],
            )
        curated_key = props.curated_bucket_key or props.key
        grant_read_prefix(props.curated_bucket, functions["validate"].role, props.export_prefix, key=curated_key)
        grant_write_prefix(self.bucket.bucket, functions["validate"].role, TRAINING_PREFIX, key=props.key)
        grant_write_prefix(self.bucket.bucket, functions["report"].role, REPORTS_PREFIX, key=props.key)
        iam.Grant.add_to_principal(
            grantee=functions["evaluate"].role,
            actions=["bedrock:InvokeModel"],
            resource_arns=[self.deployment_arns, *self._base_inference_arns()],
        )
        # The custom model is encrypted with the key (CustomModelKmsKeyId): invoking it decrypts through Bedrock.
        grant_key_use_via(props.key, functions["evaluate"].role, "bedrock", encrypt=False)
        policy = functions["evaluate"].role.node.find_child("DefaultPolicy").node.default_child
        assert policy is not None
        acknowledge(
            policy,
            iam5_resource_finding(self, self.deployment_arns),
            "The evaluation deployment is created by this workflow per run with a generated id; InvokeModel is "
            "limited to custom model deployments of this account and region.",
        )
        sns_grant = iam.Grant.add_to_principal(
            grantee=functions["approval"].role, actions=["sns:Publish"], resource_arns=[props.alarm_topic.topic_arn]
        )
        sns_grant.combine(grant_key_use_via(props.key, functions["approval"].role, "sns", encrypt=True))
        return functions

    def _base_inference_arns(self) -> list[str]:
        """The base model as the evaluate step invokes it: a foundation model, or an inference profile and the
        foundation models it routes to (any region: a cross-region profile's destinations)."""
        model = self._props.settings.base_inference_model
        geography, _, foundation = model.partition(".")
        if geography in INFERENCE_PROFILE_GEOGRAPHIES:
            return [
                self._arn("inference-profile", model),
                f"arn:{cdk.Aws.PARTITION}:bedrock:*::foundation-model/{foundation}",
            ]
        return [
            self._stack.format_arn(
                service="bedrock",
                account="",
                resource="foundation-model",
                resource_name=model,
                arn_format=cdk.ArnFormat.SLASH_RESOURCE_NAME,
            )
        ]

    # ------------------------------------------------------------------ the state machine

    def _invoke(self, state_id: str, step: str, payload: dict[str, object], result_path: str) -> tasks.LambdaInvoke:
        return lambda_step(
            self, state_id, self.functions[step].function, payload=payload, result_path=result_path, retry=STEP_RETRY
        )

    def _bedrock(
        self,
        state_id: str,
        action: str,
        parameters: dict[str, object],
        resources: list[str],
        result_path: str,
        *,
        result_selector: dict[str, object] | None = None,
    ) -> tasks.CallAwsService:
        iam_action = f"bedrock:{action[0].upper()}{action[1:]}"
        task = tasks.CallAwsService(
            self,
            state_id,
            service="bedrock",
            action=action,
            iam_action=iam_action,
            iam_resources=resources,
            parameters=parameters,
            result_path=result_path,
            result_selector=result_selector,
        )
        BEDROCK_RETRY.add_to(task)
        return task

    def _report(self, state_id: str, outcome: str) -> tasks.LambdaInvoke:
        return self._invoke(
            state_id,
            "report",
            {
                "outcome": outcome,
                "execution": sfn.JsonPath.string_at("$$.Execution.Name"),
                "state": sfn.JsonPath.object_at("$"),
            },
            "$.report",
        )

    def _state_machine(self) -> sfn.StateMachine:
        props, settings = self._props, self._props.settings
        report_failed = self._report("ReportFailure", "failed").next(
            sfn.Fail(self, "FineTuningFailed", error="FineTuningFailed", cause="A step failed; see the run report")
        )

        def on_failure(task: sfn.TaskStateBase, step: str) -> None:
            """Catch every error of ``task``, name the step, and report."""
            named = sfn.Pass(
                self, f"{task.node.id}Failed", result=sfn.Result.from_string(step), result_path="$.failed_step"
            )
            task.add_catch(named.next(report_failed), errors=[sfn.Errors.ALL], result_path="$.error")

        def failure(state_id: str, step: str, error: str, cause: str) -> sfn.IChainable:
            """A status that ends the run: the error as a Catch would record it, the step, the report."""
            return (
                sfn.Pass(
                    self,
                    state_id,
                    parameters={"Error": error, "Cause": cause},
                    result_path="$.error",
                )
                .next(
                    sfn.Pass(
                        self,
                        f"{state_id}Step",
                        result=sfn.Result.from_string(step),
                        result_path="$.failed_step",
                    )
                )
                .next(report_failed)
            )

        validate = self._invoke(
            "Validate", "validate", {"execution": sfn.JsonPath.string_at("$$.Execution.Name")}, "$.dataset"
        )
        on_failure(validate, "validate")
        create_job = self._bedrock(
            "CreateCustomizationJob",
            "createModelCustomizationJob",
            {
                "JobName": sfn.JsonPath.string_at("$.dataset.job_name"),
                "CustomModelName": sfn.JsonPath.string_at("$.dataset.model_name"),
                "RoleArn": self.customization_role.role_arn,
                "BaseModelIdentifier": self.base_model_arn,
                "CustomizationType": "FINE_TUNING",
                "CustomModelKmsKeyId": props.key.key_arn,
                "HyperParameters": dict(settings.hyper_parameters),
                "TrainingDataConfig": {"S3Uri": sfn.JsonPath.string_at("$.dataset.training_uri")},
                "OutputDataConfig": {"S3Uri": sfn.JsonPath.string_at("$.dataset.output_uri")},
            },
            [self.base_model_arn, self.custom_model_arns, self.job_arns],
            "$.job",
            result_selector={"arn": sfn.JsonPath.string_at("$.JobArn")},
        )
        on_failure(create_job, "create customization job")
        wait_job = sfn.Wait(self, "WaitForJob", time=sfn.WaitTime.seconds_path("$.dataset.poll_seconds"))
        get_job = self._bedrock(
            "GetCustomizationJob",
            "getModelCustomizationJob",
            # Bedrock takes the job's name or ARN; the name is what this run chose (validate.bedrock_name).
            {"JobIdentifier": sfn.JsonPath.string_at("$.dataset.job_name")},
            [self.job_arns],
            "$.job.detail",
        )
        on_failure(get_job, "poll customization job")

        create_eval = self._bedrock(
            "CreateEvaluationDeployment",
            "createCustomModelDeployment",
            {
                "ModelDeploymentName": sfn.JsonPath.string_at("$.dataset.evaluation_deployment_name"),
                "ModelArn": sfn.JsonPath.string_at("$.job.detail.OutputModelArn"),
                "Description": "On-demand deployment for the golden-set evaluation (per token, nothing idle)",
            },
            [self.custom_model_arns],
            "$.evaluation_deployment",
            result_selector={"arn": sfn.JsonPath.string_at("$.CustomModelDeploymentArn")},
        )
        on_failure(create_eval, "create evaluation deployment")
        wait_eval = sfn.Wait(self, "WaitForDeployment", time=sfn.WaitTime.seconds_path("$.dataset.poll_seconds"))
        get_eval = self._bedrock(
            "GetEvaluationDeployment",
            "getCustomModelDeployment",
            {"CustomModelDeploymentIdentifier": sfn.JsonPath.string_at("$.evaluation_deployment.arn")},
            [self.deployment_arns],
            "$.evaluation_deployment.status",
            result_selector={"value": sfn.JsonPath.string_at("$.Status")},
        )
        on_failure(get_eval, "poll evaluation deployment")
        evaluate = self._invoke(
            "Evaluate",
            "evaluate",
            {"custom_model": sfn.JsonPath.string_at("$.evaluation_deployment.arn")},
            "$.evaluation",
        )
        on_failure(evaluate, "evaluate")
        delete_eval = self._bedrock(
            "DeleteEvaluationDeployment",
            "deleteCustomModelDeployment",
            {"CustomModelDeploymentIdentifier": sfn.JsonPath.string_at("$.evaluation_deployment.arn")},
            [self.deployment_arns],
            sfn.JsonPath.DISCARD,
        )
        on_failure(delete_eval, "delete evaluation deployment")
        gate = self._invoke("Gate", "gate", {"evaluation": sfn.JsonPath.object_at("$.evaluation")}, "$.gate")
        on_failure(gate, "gate")
        approval = tasks.LambdaInvoke(
            self,
            "RequestApproval",
            lambda_function=self.functions["approval"].function,
            integration_pattern=sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
            payload=sfn.TaskInput.from_object(
                {
                    "token": sfn.JsonPath.task_token,
                    "run": sfn.JsonPath.string_at("$.dataset.run"),
                    "model_arn": sfn.JsonPath.string_at("$.job.detail.OutputModelArn"),
                    "promotion": settings.promotion,
                    "gate": sfn.JsonPath.object_at("$.gate"),
                }
            ),
            task_timeout=sfn.Timeout.duration(cdk.Duration.hours(settings.approval_hours)),
            result_path="$.approval",
        )
        approval.add_catch(
            sfn.Pass(self, "ReviewerRejected", result=sfn.Result.from_string("approval"), result_path="$.failed_step")
            .next(self._report("ReportRejected", "rejected"))
            .next(sfn.Succeed(self, "NotPromotedByReviewer")),
            errors=[REJECTED],
            result_path="$.error",
        )
        on_failure(approval, "approval")
        promote = self._promotion()
        on_failure(promote, "promote")

        job_status = (
            sfn.Choice(self, "JobStatus")
            .when(sfn.Condition.string_equals("$.job.detail.Status", JOB_COMPLETED), create_eval)
            .when(
                sfn.Condition.or_(*(sfn.Condition.string_equals("$.job.detail.Status", s) for s in JOB_WAITING)),
                wait_job,
            )
            .when(
                sfn.Condition.string_equals("$.job.detail.Status", JOB_FAILED),
                failure("JobFailed", "customization job", "CustomizationJobFailed", "Bedrock reported Failed"),
            )
            .when(
                sfn.Condition.string_equals("$.job.detail.Status", JOB_STOPPED),
                failure("JobStopped", "customization job", "CustomizationJobStopped", "The job was stopped"),
            )
            .otherwise(failure("JobStatusUnknown", "customization job", "UnknownJobStatus", "Unexpected status"))
        )
        deployment_status = (
            sfn.Choice(self, "EvaluationDeploymentStatus")
            .when(sfn.Condition.string_equals("$.evaluation_deployment.status.value", DEPLOYMENT_ACTIVE), evaluate)
            .when(sfn.Condition.string_equals("$.evaluation_deployment.status.value", DEPLOYMENT_CREATING), wait_eval)
            .otherwise(
                failure(
                    "EvaluationDeploymentFailed",
                    "evaluation deployment",
                    "EvaluationDeploymentFailed",
                    "The evaluation deployment did not become Active",
                )
            )
        )
        promotable = (
            sfn.Choice(self, "Promotable")
            .when(
                sfn.Condition.boolean_equals("$.gate.accepted", True),
                approval.next(promote)
                .next(self._report("ReportPromoted", "promoted"))
                .next(sfn.Succeed(self, "Promoted")),
            )
            .otherwise(self._report("ReportNotPromoted", "not_promoted").next(sfn.Succeed(self, "NotPromoted")))
        )
        wait_job.next(get_job).next(job_status)
        wait_eval.next(get_eval).next(deployment_status)
        create_eval.next(wait_eval)
        evaluate.next(delete_eval).next(gate).next(promotable)
        definition = validate.next(create_job).next(wait_job)

        machine = kit_state_machine(
            self,
            "StateMachine",
            name=f"{props.name_prefix}-fine-tuning",
            definition=definition,
            key=props.key,
            stage=props.stage,
            timeout=cdk.Duration.days(30),
            log_id="Logs",
        )
        self._grant_machine(machine)
        # The report covers every error a Catch can see; an execution that fails or times out regardless (a
        # States.Runtime error, which no Catch catches, or the 30-day limit) still reaches on-call.
        self.failed_alarm = ThresholdAlarm(
            self,
            "ExecutionsFailed",
            metric=cloudwatch.MathExpression(
                expression="failed + timedout + aborted",
                using_metrics={
                    "failed": machine.metric_failed(statistic="Sum"),
                    "timedout": machine.metric_timed_out(statistic="Sum"),
                    "aborted": machine.metric_aborted(statistic="Sum"),
                },
                period=cdk.Duration.minutes(5),
            ),
            description=f"A fine-tuning run of {props.name_prefix} failed: see reports/<run>/report.md in the "
            "workflow bucket, or the execution's history when no report was written",
            topic=props.alarm_topic,
        )
        return machine

    def _promotion(self) -> tasks.CallAwsService:
        settings = self._props.settings
        if settings.promotion == "provisioned_throughput":
            return self._bedrock(
                "Promote",
                "createProvisionedModelThroughput",
                {
                    "ProvisionedModelName": sfn.JsonPath.string_at("$.dataset.model_name"),
                    "ModelId": sfn.JsonPath.string_at("$.job.detail.OutputModelArn"),
                    "ModelUnits": settings.model_units,
                },
                [self.custom_model_arns],
                "$.promotion",
                result_selector={"arn": sfn.JsonPath.string_at("$.ProvisionedModelArn")},
            )
        return self._bedrock(
            "Promote",
            "createCustomModelDeployment",
            {
                "ModelDeploymentName": sfn.JsonPath.string_at("$.dataset.model_name"),
                "ModelArn": sfn.JsonPath.string_at("$.job.detail.OutputModelArn"),
                "Description": "Promoted by the fine-tuning workflow after approval",
            },
            [self.custom_model_arns],
            "$.promotion",
            result_selector={"arn": sfn.JsonPath.string_at("$.CustomModelDeploymentArn")},
        )

    def _grant_machine(self, machine: sfn.StateMachine) -> None:
        """PassRole of exactly the customization role, to Bedrock only; the custom model's key through Bedrock."""
        props = self._props
        machine.add_to_role_policy(
            iam.PolicyStatement(
                actions=["iam:PassRole"],
                resources=[self.customization_role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": BEDROCK}},
            )
        )
        # CustomModelKmsKeyId: Bedrock encrypts the custom model with the key on the caller's behalf.
        machine.add_to_role_policy(
            iam.PolicyStatement(
                actions=["kms:DescribeKey", "kms:GenerateDataKey", "kms:Decrypt", "kms:CreateGrant"],
                resources=[props.key.key_arn],
                conditions={"StringEquals": {"kms:ViaService": f"bedrock.{cdk.Aws.REGION}.amazonaws.com"}},
            )
        )
        policy = acknowledge_lambda_steps(machine, self.functions.values())
        reasons = {
            self.custom_model_arns: "Custom model ARNs carry a Bedrock-generated id; the job creates the model and "
            "the later steps deploy it, so no narrower ARN exists at deploy time.",
            self.job_arns: "Customization job ARNs carry a Bedrock-generated id; the workflow creates one per run.",
            self.deployment_arns: "Custom model deployment ARNs carry a Bedrock-generated id; the workflow creates "
            "and deletes the evaluation deployment per run.",
        }
        for resource, reason in reasons.items():
            acknowledge(policy, iam5_resource_finding(self, resource), reason)
