"""End to end: the synthesized quality-evaluation state machine, run by moto's Step Functions interpreter on the
shipped golden set (usecases/customer-retention/golden), as tests/e2e/test_data_pipeline.py runs the data pipeline.

The definition is the one in the synthesized template (its Fn::Join resolved to the functions created in moto);
each Lambda task is dispatched in-process to the real handler with that function's synthesized environment and
its settings from the synthesized settings layer (as /opt/settings). The serving pipeline is the real one
(`api.wiring.real_pipeline` over the kit's cached clients): Bedrock (Retrieve, ConverseStream) and Comprehend
are answered by the model-checked responders of the Api tests, installed on those clients for this module.
S3 is moto's; the metrics are the EMF lines Score prints.

Run 1: the model answers every golden case with its reference: the gate passes, the execution succeeds, the
report and the metrics are written and the run becomes the last accepted one. Run 2: the model answers poorly:
the execution fails with QualityGateFailed, its report says why, and the last accepted run stays run 1.
"""

from __future__ import annotations

import html
import json
import os
import threading
import time
from collections.abc import Iterator
from importlib import import_module
from pathlib import Path
from typing import Any

import boto3
import pytest
from common.clients import client
from common.settings_file import SETTINGS_DIR_ENV
from evaluation import run_task, runtime, score  # noqa: F401 - imported before sockets are blocked
from evaluation.runner import message_of
from moto import mock_aws
from moto.awslambda_simple.models import LambdaSimpleBackend

from stacks.observability.evaluation import load_golden_set
from tests.lambdas.api.bedrock_fakes import Responder
from tests.lambdas.api.chat_world import end_events, text_events, user_text
from tests.lambdas.pipeline.harness import LambdaContext, layer_folder
from tests.stacks.quality_evaluation_stack import ACCOUNT, REGION, REPORTS, build

pytestmark = pytest.mark.synth
GOLDEN = load_golden_set(Path(__file__).resolve().parents[2] / "usecases" / "customer-retention" / "golden")
PASSAGE = "Customers with 24 or more months of tenure may be offered one free month when they ask to cancel."


def answers(poor: bool) -> dict[str, str]:
    """Golden message -> what the model says: the reference itself, or a poor answer. A message shared by two
    tasks gets the text task's reference (the label tasks have no threshold in usecase.yaml)."""
    table: dict[str, str] = {}
    for task in sorted(GOLDEN, key=lambda t: t == "classify", reverse=True):  # classify first, text tasks win
        for case in GOLDEN[task]:
            table[message_of(case)] = "I cannot say." if poor else case.reference
    return table


class Model:
    """ConverseStream, Retrieve and Comprehend over the kit's cached clients, answering from the current table."""

    def __init__(self) -> None:
        self.table = answers(poor=False)
        self.responders = [
            Responder(client("bedrock-runtime")).on("ConverseStream", self.converse),
            Responder(client("bedrock-agent-runtime")).on("Retrieve", self.retrieve),
            Responder(client("comprehend"))
            .on(
                "DetectToxicContent",
                lambda p: {"ResultList": [{"Toxicity": 0.01, "Labels": []} for _ in p["TextSegments"]]},
            )
            .on("DetectPiiEntities", lambda p: {"Entities": []}),
        ]

    def converse(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        text = html.unescape(user_text(params))
        found = [message for message in self.table if message in text]
        assert found, f"no golden message in {text[:200]!r}"
        # The longest match: one golden message may be part of another.
        return [*text_events(self.table[max(found, key=len)]), *end_events(input_tokens=300, output_tokens=40)]

    @staticmethod
    def retrieve(params: dict[str, Any]) -> dict[str, Any]:
        uri = "s3://journey-dev-curated/documents/policies/tenure.md"
        result = {"content": {"text": PASSAGE, "type": "TEXT"}, "location": {"type": "S3", "s3Location": {"uri": uri}}}
        return {"retrievalResults": [{**result, "score": 0.8}]}

    def uninstall(self) -> None:
        for responder in self.responders:
            service = responder.client.meta.service_model.service_id.hyphenize()
            responder.client.meta.events.unregister(f"before-parameter-build.{service}", responder._capture)
            responder.client.meta.events.unregister(f"before-call.{service}", responder._answer)


class Deployment:
    """The construct's functions and state machine created in moto, the template's tokens resolved."""

    def __init__(self, template: dict[str, Any]) -> None:
        resources = template["Resources"]
        self.functions: dict[str, dict[str, Any]] = {}
        arns: dict[str, str] = {}
        lambda_client = boto3.client("lambda", region_name=REGION)
        role = boto3.client("iam", region_name=REGION).create_role(
            RoleName="evaluation", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []})
        )["Role"]["Arn"]
        for logical, resource in resources.items():
            if resource["Type"] != "AWS::Lambda::Function":
                continue
            props = resource["Properties"]
            arns[logical] = lambda_client.create_function(
                FunctionName=logical, Runtime="python3.12", Role=role, Handler=props["Handler"], Code={"ZipFile": b"x"}
            )["FunctionArn"]
            environment = {k: self.resolve(v, arns) for k, v in props["Environment"]["Variables"].items()}
            self.functions[logical] = {"handler": props["Handler"], "env": environment}
        (machine,) = [r for r in resources.values() if r["Type"] == "AWS::StepFunctions::StateMachine"]
        self.definition = self.resolve(machine["Properties"]["DefinitionString"], arns)
        self.state_machine = boto3.client("stepfunctions", region_name=REGION).create_state_machine(
            name="team-dev-quality-evaluation", definition=self.definition, roleArn=role
        )["stateMachineArn"]

    @staticmethod
    def resolve(value: Any, arns: dict[str, str]) -> str:
        if isinstance(value, str):
            return value
        if "Fn::Join" in value:
            separator, parts = value["Fn::Join"]
            return str(separator).join(Deployment.resolve(p, arns) for p in parts)
        if "Fn::GetAtt" in value:
            return arns[value["Fn::GetAtt"][0]]
        if value == {"Ref": "KnowledgeBaseId"}:
            return "KB12345678"
        pseudo = {"AWS::Partition": "aws", "AWS::Region": REGION, "AWS::AccountId": ACCOUNT}
        return pseudo[value["Ref"]]


class Dispatcher:
    """Runs the invoked function's handler in-process, with that function's environment (never os.environ)."""

    def __init__(self, deployment: Deployment) -> None:
        self.deployment = deployment
        self.lock = threading.Lock()  # one invocation at a time, like one warm container
        self.local = threading.local()
        self.calls: list[str] = []

    def environ(self) -> dict[str, str]:
        return {**os.environ, **getattr(self.local, "env", {})}

    def invoke(self, function_name: str, body: Any, response_headers: dict[str, str]) -> bytes:
        name = function_name.rsplit(":", 1)[-1]
        function = self.deployment.functions[name]
        module, _, attribute = function["handler"].rpartition(".")
        with self.lock:
            self.local.env = function["env"]
            self.calls.append(module)
            try:
                result = getattr(import_module(module), attribute)(json.loads(body), LambdaContext(name))
                return json.dumps(result).encode()
            except Exception as exc:  # the Lambda service reports it as a function error
                response_headers["x-amz-function-error"] = "Unhandled"
                return json.dumps({"errorType": type(exc).__name__, "errorMessage": str(exc)}).encode()
            finally:
                self.local.env = {}


@pytest.fixture(scope="module")
def monkeypatch_module() -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as patch:
        yield patch


@pytest.fixture(scope="module")
def world(monkeypatch_module: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    outdir = tmp_path_factory.mktemp("quality-e2e-cdk.out")
    built = build(outdir, judge=False)
    (layer_id,) = [k for k in built.template["Resources"] if k.startswith("QualityEvaluationSettingsLayer")]
    model = Model()
    with mock_aws(config={"lambda": {"use_docker": False}, "stepfunctions": {"execute_state_machine": True}}):
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=REPORTS, CreateBucketConfiguration={"LocationConstraint": REGION})
        deployment = Deployment(built.template)
        dispatcher = Dispatcher(deployment)

        def invoke(self, function_name, qualifier, body, headers, response_headers):
            return dispatcher.invoke(function_name, body, response_headers)

        monkeypatch_module.setattr(LambdaSimpleBackend, "invoke", invoke)
        monkeypatch_module.setattr(runtime, "environ", dispatcher.environ)
        monkeypatch_module.setenv(SETTINGS_DIR_ENV, str(layer_folder(outdir, built.template, layer_id)))
        yield {"deployment": deployment, "dispatcher": dispatcher, "model": model, "s3": s3}
    model.uninstall()


def execute(world: dict, name: str) -> dict[str, Any]:
    sfn = boto3.client("stepfunctions", region_name=REGION)
    execution = sfn.start_execution(
        stateMachineArn=world["deployment"].state_machine, name=name, input=json.dumps({"trigger": "test"})
    )["executionArn"]
    deadline = time.monotonic() + 240
    while (described := sfn.describe_execution(executionArn=execution))["status"] == "RUNNING":
        assert time.monotonic() < deadline, "execution did not finish"
        time.sleep(0.05)
    return described


def read_json(world: dict, key: str) -> dict[str, Any]:
    return json.loads(world["s3"].get_object(Bucket=REPORTS, Key=key)["Body"].read())


def gate_passed(out: str, task: str) -> list[float]:
    """The GatePassed values of ``task`` in the EMF lines Score printed (what CloudWatch Logs extracts)."""
    lines = [json.loads(line) for line in out.splitlines() if line.startswith('{"_aws"')]
    return [
        value
        for line in lines
        if line["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "JourneyKit/Quality" and line["Task"] == task
        for value in line.get("GatePassed", [])
    ]


def test_a_good_run_passes_then_a_poor_run_fails_the_execution(world: dict, capsys: pytest.CaptureFixture[str]) -> None:
    first = execute(world, "run-1")
    assert first["status"] == "SUCCEEDED", first.get("cause")
    prefix = "quality-evaluation/runs/run-1/"
    report = read_json(world, f"{prefix}report.json")
    assert report["passed"]
    assert report["baseline_run"] is None
    assert set(report["tasks"]) == set(GOLDEN) == {"answer", "classify", "summarize"}
    for task, cases in GOLDEN.items():
        assert report["tasks"][task]["cases"] == len(cases)
    assert report["tasks"]["summarize"]["metrics"]["BLEU"] == pytest.approx(100.0)
    assert report["tasks"]["summarize"]["metrics"]["WER"] == 0.0
    assert report["tasks"]["answer"]["tokens"]["output"] == 40 * len(GOLDEN["answer"])
    assert report["tasks"]["answer"]["perplexity"] is None
    assert read_json(world, "quality-evaluation/accepted.json")["run_id"] == "run-1"
    markdown = world["s3"].get_object(Bucket=REPORTS, Key=f"{prefix}report.md")["Body"].read().decode()
    assert "**Gate: PASSED**" in markdown
    # Every golden case went through the pipeline in process: retrieval (rag), then the model.
    (model_responder, agent_responder, _) = world["model"].responders
    assert len(model_responder.params("ConverseStream")) == sum(len(c) for c in GOLDEN.values())
    assert agent_responder.params("Retrieve")[0]["knowledgeBaseId"] == "KB12345678"
    assert world["dispatcher"].calls.count("evaluation.run_task") == 3

    world["model"].table = answers(poor=True)
    second = execute(world, "run-2")
    assert second["status"] == "FAILED"
    assert second["error"] == "QualityGateFailed"
    assert "answer: BLEU" in second["cause"]
    assert "past its minimum 20" in second["cause"]
    report = read_json(world, "quality-evaluation/runs/run-2/report.json")
    assert not report["passed"]
    assert report["baseline_run"] == "run-1"
    assert any("regressed from the last accepted" in reason for reason in report["reasons"])
    assert read_json(world, "quality-evaluation/accepted.json")["run_id"] == "run-1"
    assert gate_passed(capsys.readouterr().out, "all") == [1.0, 0.0]  # run 1 passed, run 2 did not
