"""End to end, as far as moto goes: the synthesized fine-tuning state machine run by moto's Step Functions
interpreter, its Lambda tasks dispatched in-process to the real handlers (with each function's synthesized
environment and the synthesized settings layer), its SDK tasks answered by moto's Bedrock.

What moto covers, and what it does not (moto 5.2.5): its Bedrock backend implements CreateModelCustomizationJob
and GetModelCustomizationJob, so the run goes through validate -> create job -> poll (InProgress twice, then
Completed: the job's status is advanced in moto's backend between polls, as Bedrock would) for real. It does not
implement CreateCustomModelDeployment, so the next SDK task fails in moto exactly as an AWS error would, and the
run must take the failure path: caught, the step named, the report written to S3 by the real report handler, the
execution failed. The evaluation, gate, approval (task token) and promotion states are proven on the synthesized
definition (tests/stacks/test_scale.py) and their handlers in tests/lambdas/finetune; no moto run reaches them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import boto3
import botocore.session
import pytest
from aws_cdk import aws_s3 as s3
from finetune import approval, evaluate, gate, report, validate  # noqa: F401 - imported before sockets are blocked
from finetune.contract import DEPLOY_ENV
from moto.bedrock.models import BedrockBackend
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_aws_sdk import (
    StateTaskServiceAwsSdk,
)

from stacks.app_builder import cdk_json_context
from stacks.common.nag import add_nag_packs
from stacks.common.stage_policy import StagePolicy
from stacks.config import USECASES_DIR
from stacks.foundation.stack import FoundationProps, FoundationStack
from stacks.scale.settings import FineTuningSettings, load_golden
from stacks.scale.stack import FineTuningSource, ScaleProps, ScaleStack
from tests.e2e.harness import ACCOUNT, REGION, Deployment, Dispatcher, execute, moto_step_functions
from tests.lambdas.finetune.world import record

PREFIX = "journey-customer-retention-dev"
CURATED = "team-curated-bucket"
KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/11111111-2222-3333-4444-555555555555"


def synthesize(outdir: Path) -> dict[str, Any]:
    app = cdk.App(outdir=str(outdir), context=cdk_json_context())
    stage = StagePolicy("dev")
    foundation = FoundationStack(app, "Foundation", props=FoundationProps(name_prefix=PREFIX, stage=stage))
    ScaleStack(
        app,
        "Scale",
        props=ScaleProps(
            name_prefix=PREFIX,
            stage=stage,
            key=foundation.key,
            alarm_topic=foundation.alarm_topic,
            access_logs=foundation.access_logs.bucket,
            usecase_id="customer-retention",
            fine_tuning=FineTuningSource(
                curated_bucket=s3.Bucket.from_bucket_name(foundation, "Curated", CURATED),
                settings=FineTuningSettings(poll_seconds=0, min_records=3),
                thresholds={"BLEU": 20.0, "ROUGEL": 0.35, "WER": 0.6},
                golden=load_golden(USECASES_DIR / "customer-retention" / "golden" / "answer.jsonl"),
            ),
        ),
    )
    add_nag_packs(app)
    assembly = app.synth()
    return json.loads(Path(assembly.get_stack_by_name("Scale").template_full_path).read_text())


def settings_folder(outdir: Path) -> Path:
    (found,) = outdir.glob("asset.*/settings/finetune.json")
    return found.parent


class FineTuningDeployment(Deployment):
    """The Scale stack's workflow in moto: the team's curated bucket, the work bucket and the alarm topic, then
    the roles (the customization role among them), functions and state machine."""

    def __init__(self, template: dict[str, Any]) -> None:
        super().__init__(template, handlers="finetune.", machine_name="fine-tuning")

    def provision(self) -> None:
        for name in (CURATED, "work-bucket"):
            self.s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
        (work,) = self.of_type("AWS::S3::Bucket")
        self.physical[work] = "work-bucket"
        self.topic = boto3.client("sns", region_name=REGION).create_topic(Name="alarms")["TopicArn"]

    def environment(self, variables: Mapping[str, Any]) -> dict[str, str]:
        """The literal variables, and the deploy-time names (other stacks' outputs) as created in moto."""
        assert set(DEPLOY_ENV) <= set(variables)  # the deploy-time names the stack hands every function
        env = {k: v for k, v in variables.items() if isinstance(v, str)}
        env.update(CURATED_BUCKET=CURATED, WORK_BUCKET="work-bucket", ALARM_TOPIC_ARN=self.topic)
        return env

    def resolve(self, value: Any) -> Any:
        if isinstance(value, dict) and ("Fn::GetStackOutput" in value or "Fn::ImportValue" in value):
            assert "Key" in json.dumps(value), value  # the Foundation stack's key
            return KEY_ARN
        return super().resolve(value)

    def role(self, part: str) -> str:
        (logical,) = [k for k in self.of_type("AWS::IAM::Role") if part in k]
        return self.arns[logical]


def _operation(task: StateTaskServiceAwsSdk) -> Any:
    service = botocore.session.get_session().get_service_model(task._get_boto_service_name())
    client = boto3.client(task._get_boto_service_name(), region_name=REGION)
    return service.operation_model(client.meta.method_to_api_mapping[task._get_boto_service_action()])


def pascal_case_sdk_integration(patch: pytest.MonkeyPatch) -> None:
    """Make moto's aws-sdk tasks take and give PascalCase members, as Step Functions documents for every service.

    Step Functions' SDK integrations name parameters and results in PascalCase even where the service's API is
    camelCase (Bedrock: ``jobName``). moto 5.2.5 passes the parameters to boto3 unchanged, which fits only
    PascalCase APIs. Its base class already has the two converters (`_to_boto_request`, `_from_boto_response`);
    this wires them in for aws-sdk tasks. It changes how moto emulates Step Functions, nothing of the kit's.
    """
    patch.setattr(
        StateTaskServiceAwsSdk,
        "_normalise_parameters",
        lambda self, parameters, *a, **k: self._to_boto_request(parameters, _operation(self).input_shape),
    )
    patch.setattr(
        StateTaskServiceAwsSdk,
        "_normalise_response",
        lambda self, response, *a, **k: self._from_boto_response(response, _operation(self).output_shape),
    )


@pytest.fixture(scope="module")
def run(monkeypatch_module: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    outdir = tmp_path_factory.mktemp("fine-tuning-cdk-out")
    template = synthesize(outdir)
    with moto_step_functions():
        pascal_case_sdk_integration(monkeypatch_module)
        deployment = FineTuningDeployment(template)
        # The handlers read os.environ (the contract's default); the settings cache is per container.
        dispatcher = Dispatcher(deployment.functions, os_environ=True)
        dispatcher.install(monkeypatch_module, settings_folder(outdir))
        # Bedrock advances a job while it trains: InProgress for the first two polls, then Completed.
        polls: list[str] = []
        original = BedrockBackend.get_model_customization_job

        def get_job(self: BedrockBackend, job_identifier: str) -> Any:
            job = original(self, job_identifier)
            if len(polls) >= 2:  # the third poll (and any after it) finds the job done
                job.status = "Completed"
            polls.append(job.status)
            return job

        monkeypatch_module.setattr(BedrockBackend, "get_model_customization_job", get_job)
        lines = [record(f"How do I pause plan {i}?", f"Pause plan {i} in settings.") for i in range(4)]
        deployment.s3.put_object(
            Bucket=CURATED, Key="finetune/2026-12-01/train.jsonl", Body=("\n".join([*lines, "{bad"]) + "\n").encode()
        )
        described = execute(deployment.state_machine, "run-1", timeout=120)
        sfn = boto3.client("stepfunctions", region_name=REGION)
        history = sfn.get_execution_history(executionArn=described["executionArn"], maxResults=1000)["events"]
        bedrock = boto3.client("bedrock", region_name=REGION)
        yield {
            "described": described,
            "history": history,
            "dispatcher": dispatcher,
            "polls": polls,
            "jobs": bedrock.list_model_customization_jobs()["modelCustomizationJobSummaries"],
            "job": bedrock.get_model_customization_job(
                jobIdentifier=bedrock.list_model_customization_jobs()["modelCustomizationJobSummaries"][0]["jobName"]
            ),
            "deployment": deployment,
            "objects": {
                o["Key"]: deployment.s3.get_object(Bucket="work-bucket", Key=o["Key"])["Body"].read()
                for o in deployment.s3.list_objects_v2(Bucket="work-bucket").get("Contents", [])
            },
        }


def entered(history: list[dict[str, Any]]) -> list[str]:
    return [e["stateEnteredEventDetails"]["name"] for e in history if "stateEnteredEventDetails" in e]


def test_the_dataset_is_validated_and_the_job_created_with_the_customization_role_and_the_key(run):
    run_name = validate.run_name("run-1")
    train = run["objects"][f"training/{run_name}/train.jsonl"].decode().splitlines()
    assert len(train) == 4  # the bad line is rejected and counted
    counts = json.loads(run["objects"][f"training/{run_name}/validation.json"])["counts"]
    assert counts["rejected"]["not_json"] == 1
    (job,) = run["jobs"]
    assert job["jobName"] == f"{PREFIX}-ft-{run_name}"
    detail = run["job"]
    assert detail["roleArn"] == run["deployment"].role("CustomizationRole")
    assert detail["trainingDataConfig"] == {"s3Uri": f"s3://work-bucket/training/{run_name}/train.jsonl"}
    assert detail["outputDataConfig"]["s3Uri"] == f"s3://work-bucket/output/{run_name}/"
    assert detail["hyperParameters"] == {"epochCount": "2", "learningRate": "0.00001", "batchSize": "1"}
    assert detail["customizationType"] == "FINE_TUNING"


def test_the_job_is_polled_while_in_progress_until_completed(run):
    assert run["polls"][:3] == ["InProgress", "InProgress", "Completed"]
    states = entered(run["history"])
    assert states.count("GetCustomizationJob") == 3
    assert states.count("WaitForJob") == 3
    last_poll = len(states) - 1 - states[::-1].index("GetCustomizationJob")
    assert states[last_poll + 1 : last_poll + 3] == ["JobStatus", "CreateEvaluationDeployment"]


def test_the_first_step_moto_cannot_run_fails_into_a_report_never_silently(run):
    described = run["described"]
    assert described["status"] == "FAILED"
    assert described["error"] == "FineTuningFailed"
    states = entered(run["history"])
    assert states[-4:] == [
        "CreateEvaluationDeployment",
        "CreateEvaluationDeploymentFailed",
        "ReportFailure",
        "FineTuningFailed",
    ]
    assert run["dispatcher"].calls == ["finetune.validate", "finetune.report"]
    run_name = validate.run_name("run-1")
    saved = json.loads(run["objects"][f"reports/{run_name}/report.json"])
    assert saved["outcome"] == "failed"
    assert saved["failed_step"] == "create evaluation deployment"
    # moto's answer for the operation it lacks (a real call fails as Bedrock.<Exception>, which the Catch sees too).
    assert saved["error"] == {
        "error": "States.Runtime",
        "cause": "The create_custom_model_deployment action has not been implemented",
    }
    assert saved["dataset"]["valid"] == 4
    assert saved["job"]["detail"]["Status"] == "Completed"
    markdown = run["objects"][f"reports/{run_name}/report.md"].decode()
    assert "**Failed at:** create evaluation deployment" in markdown
