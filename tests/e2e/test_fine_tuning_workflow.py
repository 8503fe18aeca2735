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
import threading
import time
from collections.abc import Iterator
from importlib import import_module
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import boto3
import botocore.session
import pytest
from aws_cdk import aws_s3 as s3
from common.settings_file import SETTINGS_DIR_ENV
from finetune import approval, evaluate, gate, report, validate  # noqa: F401 - imported before sockets are blocked
from finetune.contract import DEPLOY_ENV
from moto import mock_aws
from moto.awslambda_simple.models import LambdaSimpleBackend
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
from tests.lambdas.finetune.world import LambdaContext, record

REGION, ACCOUNT = "eu-west-1", "123456789012"
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


class Deployment:
    """The Scale stack's workflow created in moto: buckets, the customization role, functions, the state machine."""

    def __init__(self, template: dict[str, Any]) -> None:
        self.resources = template["Resources"]
        self.physical: dict[str, str] = {}
        self.functions: dict[str, dict[str, Any]] = {}
        self.s3 = boto3.client("s3", region_name=REGION)
        for name in (CURATED, "work-bucket"):
            self.s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
        (work,) = [k for k, v in self.resources.items() if v["Type"] == "AWS::S3::Bucket"]
        self.physical[work] = "work-bucket"
        self.topic = boto3.client("sns", region_name=REGION).create_topic(Name="alarms")["TopicArn"]
        iam = boto3.client("iam", region_name=REGION)
        trust = json.dumps({"Version": "2012-10-17", "Statement": []})
        for logical, resource in self.resources.items():
            if resource["Type"] == "AWS::IAM::Role":
                self.physical[logical] = iam.create_role(RoleName=logical[:64], AssumeRolePolicyDocument=trust)["Role"][
                    "Arn"
                ]
        lambdas = boto3.client("lambda", region_name=REGION)
        for logical, resource in self.resources.items():
            props = resource["Properties"]
            if resource["Type"] != "AWS::Lambda::Function" or not props.get("Handler", "").startswith("finetune."):
                continue
            arn = lambdas.create_function(
                FunctionName=logical,
                Runtime="python3.12",
                Role=self.physical[props["Role"]["Fn::GetAtt"][0]],
                Handler=props["Handler"],
                Code={"ZipFile": b"in-process"},
            )["FunctionArn"]
            self.physical[logical] = arn
            variables = props["Environment"]["Variables"]
            assert set(DEPLOY_ENV) <= set(variables)  # the deploy-time names the stack hands every function
            env = {k: v for k, v in variables.items() if isinstance(v, str)}
            env.update(CURATED_BUCKET=CURATED, WORK_BUCKET="work-bucket", ALARM_TOPIC_ARN=self.topic)
            self.functions[logical] = {"handler": props["Handler"], "env": env}
        (machine,) = [v for v in self.resources.values() if v["Type"] == "AWS::StepFunctions::StateMachine"]
        self.definition = self.resolve(machine["Properties"]["DefinitionString"])
        self.state_machine = boto3.client("stepfunctions", region_name=REGION).create_state_machine(
            name="fine-tuning", definition=self.definition, roleArn=self.role("StateMachineRole")
        )["stateMachineArn"]

    def role(self, part: str) -> str:
        (logical,) = [k for k, v in self.resources.items() if v["Type"] == "AWS::IAM::Role" and part in k]
        return self.physical[logical]

    def resolve(self, value: Any) -> str:
        if isinstance(value, str):
            return value
        if "Ref" in value:
            pseudo = {"AWS::Partition": "aws", "AWS::Region": REGION, "AWS::AccountId": ACCOUNT}
            return pseudo.get(value["Ref"]) or self.physical[value["Ref"]]
        if "Fn::GetAtt" in value:
            return self.physical[value["Fn::GetAtt"][0]]
        if "Fn::Join" in value:
            separator, parts = value["Fn::Join"]
            return str(separator).join(self.resolve(p) for p in parts)
        if "Fn::GetStackOutput" in value or "Fn::ImportValue" in value:  # the Foundation stack's key
            assert "Key" in json.dumps(value), value
            return KEY_ARN
        raise AssertionError(f"unresolvable {value}")


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


class Dispatcher:
    """Runs the invoked function's handler in-process with that function's environment (one at a time)."""

    def __init__(self, deployment: Deployment, monkeypatch: pytest.MonkeyPatch) -> None:
        self.deployment, self.monkeypatch = deployment, monkeypatch
        self.lock = threading.Lock()
        self.calls: list[str] = []

    def invoke(self, function_name: str, body: Any, response_headers: dict[str, str]) -> bytes:
        function = self.deployment.functions[function_name.rsplit(":", 1)[-1]]
        module, _, attribute = function["handler"].rpartition(".")
        with self.lock, pytest.MonkeyPatch.context() as patch:
            for key, value in function["env"].items():
                patch.setenv(key, value)
            self.calls.append(module)
            try:
                result = getattr(import_module(module), attribute)(json.loads(body), LambdaContext())
                return json.dumps(result).encode()
            except Exception as exc:  # the Lambda service reports it as a function error
                response_headers["x-amz-function-error"] = "Unhandled"
                return json.dumps({"errorType": type(exc).__name__, "errorMessage": str(exc)}).encode()


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    outdir = tmp_path_factory.mktemp("fine-tuning-cdk-out")
    template = synthesize(outdir)
    with (
        pytest.MonkeyPatch.context() as patch,
        mock_aws(config={"lambda": {"use_docker": False}, "stepfunctions": {"execute_state_machine": True}}),
    ):
        pascal_case_sdk_integration(patch)
        deployment = Deployment(template)
        dispatcher = Dispatcher(deployment, patch)
        patch.setenv(SETTINGS_DIR_ENV, str(settings_folder(outdir)))
        patch.setattr(
            LambdaSimpleBackend,
            "invoke",
            lambda self, name, qualifier, body, headers, response: dispatcher.invoke(name, body, response),
        )
        # Bedrock advances a job while it trains: InProgress for the first two polls, then Completed.
        polls: list[str] = []
        original = BedrockBackend.get_model_customization_job

        def get_job(self: BedrockBackend, job_identifier: str) -> Any:
            job = original(self, job_identifier)
            if len(polls) >= 2:  # the third poll (and any after it) finds the job done
                job.status = "Completed"
            polls.append(job.status)
            return job

        patch.setattr(BedrockBackend, "get_model_customization_job", get_job)
        lines = [record(f"How do I pause plan {i}?", f"Pause plan {i} in settings.") for i in range(4)]
        deployment.s3.put_object(
            Bucket=CURATED, Key="finetune/2026-12-01/train.jsonl", Body=("\n".join([*lines, "{bad"]) + "\n").encode()
        )
        sfn = boto3.client("stepfunctions", region_name=REGION)
        execution = sfn.start_execution(stateMachineArn=deployment.state_machine, name="run-1")["executionArn"]
        deadline = time.monotonic() + 120
        while (described := sfn.describe_execution(executionArn=execution))["status"] == "RUNNING":
            assert time.monotonic() < deadline, "execution did not finish"
            time.sleep(0.05)
        history = sfn.get_execution_history(executionArn=execution, maxResults=1000)["events"]
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
