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
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from common.clients import client
from evaluation import run_task, runtime, score  # noqa: F401 - imported before sockets are blocked
from evaluation.runner import message_of

from stacks.observability.evaluation import load_golden_set
from tests.e2e.harness import Deployment, Dispatcher, execute, moto_step_functions
from tests.lambdas.api.bedrock_fakes import Responder
from tests.lambdas.api.chat_world import end_events, text_events, user_text
from tests.lambdas.pipeline.harness import layer_folder
from tests.stacks.quality_evaluation_stack import REGION, REPORTS, build

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


@pytest.fixture(scope="module")
def world(monkeypatch_module: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    outdir = tmp_path_factory.mktemp("quality-e2e-cdk.out")
    built = build(outdir, judge=False)
    (layer_id,) = [k for k in built.template["Resources"] if k.startswith("QualityEvaluationSettingsLayer")]
    model = Model()
    with moto_step_functions():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=REPORTS, CreateBucketConfiguration={"LocationConstraint": REGION})
        deployment = Deployment(
            built.template,
            handlers="evaluation.",
            machine_name="team-dev-quality-evaluation",
            parameters={"KnowledgeBaseId": "KB12345678"},
        )
        settings = layer_folder(outdir, built.template, layer_id)
        dispatcher = Dispatcher(deployment.functions).install(monkeypatch_module, settings)
        monkeypatch_module.setattr(runtime, "environ", dispatcher.environ)
        yield {"deployment": deployment, "dispatcher": dispatcher, "model": model, "s3": s3}
    model.uninstall()


def run(world: dict, name: str) -> dict[str, Any]:
    return execute(world["deployment"].state_machine, name, timeout=240, event={"trigger": "test"})


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
    first = run(world, "run-1")
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
    second = run(world, "run-2")
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
