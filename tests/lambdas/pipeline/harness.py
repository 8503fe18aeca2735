"""Shared test support for the data pipeline: settings from the real data.yaml, a model-checked
Comprehend responder, a Lambda context, and the Data stack synthesized once per test session."""

from __future__ import annotations

import json
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from botocore.awsrequest import AWSResponse
from botocore.validate import validate_parameters

# Import every handler at collection time: Powertools' Tracer imports the X-Ray SDK, whose UDP emitter
# opens a socket on import, which pytest-socket would refuse inside a test.
from pipeline import assess, finalize, profile, publish, quarantine, redact, start, validate  # noqa: F401
from pipeline.settings import PipelineSettings, ProfileSpec, parse_settings

from stacks.app_builder import cdk_json_context
from stacks.common.nag import add_nag_packs
from stacks.common.stage_policy import StagePolicy
from stacks.config import load_usecase
from stacks.data import DataProps, DataStack
from stacks.data_config import DataSettings, load_data_settings
from stacks.foundation import FoundationProps, FoundationStack
from tools.generate_sample_data import find_pii

USECASE = "customer-retention"


@cache
def data_settings() -> DataSettings:
    return load_data_settings(load_usecase(USECASE))


@cache
def pipeline_settings() -> PipelineSettings:
    """Every section, as the functions would see it."""
    return parse_settings(data_settings().runtime())


def profile_spec() -> ProfileSpec:
    spec = pipeline_settings().profile
    assert spec is not None, "customer-retention defines a bias profile"
    return spec


def parse_markdown(text: str) -> list[tuple[int, dict[str, str]]]:
    """Reads a document of `publish.render_markdown` back: (position, field -> value as written) per record."""
    sections: list[tuple[int, dict[str, str]]] = []
    field = ""
    for line in text.split("\n"):
        if line.startswith("## Record at "):
            sections.append((int(line.rsplit(" ", 1)[1]), {}))
        elif sections and line.startswith("- "):
            field, _, value = line[2:].partition(": ")
            sections[-1][1][field] = value
        elif sections and line.startswith("  "):
            sections[-1][1][field] += "\n" + line[2:]
    return sections


def as_written(record: dict[str, Any]) -> dict[str, str]:
    """A record's present fields as a markdown document shows them (line endings as LF)."""
    return {k: publish._lines(publish._cell(v)) for k, v in record.items() if v is not None}


class LambdaContext:
    def __init__(self, name: str = "test-function") -> None:
        self.function_name = name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = 512
        self.invoked_function_arn = f"arn:aws:lambda:eu-west-1:123456789012:function:{name}"
        self.aws_request_id = "00000000-0000-0000-0000-000000000000"
        self.log_group_name = f"/aws/lambda/{name}"
        self.log_stream_name = "test"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


@dataclass
class PiiResponder:
    """Answers DetectPiiEntities from `find_pii` (the PII the sample generator planted).

    Every request is validated by botocore against Comprehend's API model before it gets here, and
    every response is validated against the output shape, as `botocore.stub.Stubber` does; unlike a
    Stubber queue, answers are computed from the request, so concurrent map iterations cannot swap them.
    """

    refuse: Callable[[str], bool] = field(default=lambda _text: False)
    requests: list[str] = field(default_factory=list)
    spans: list[tuple[str, str]] = field(default_factory=list)  # (type, text) of every entity returned
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def install(self, comprehend: Any) -> PiiResponder:
        comprehend.meta.events.register("before-call.comprehend.DetectPiiEntities", self._answer)
        return self

    def uninstall(self, comprehend: Any) -> None:
        comprehend.meta.events.unregister("before-call.comprehend.DetectPiiEntities", self._answer)

    def _answer(self, model: Any, params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        request = json.loads(params["body"])
        text = request["Text"]
        assert len(text.encode()) <= 100_000, "DetectPiiEntities accepts at most 100 KB"
        with self._lock:
            self.requests.append(text)
        if self.refuse(text):
            error = {"Error": {"Code": "InvalidRequestException", "Message": "Document refused by the test"}}
            return AWSResponse("https://comprehend", 400, {}, None), {**error, "ResponseMetadata": {}}
        found = find_pii(text)
        response = {
            "Entities": [{"Score": 0.99, "Type": kind, "BeginOffset": b, "EndOffset": e} for b, e, kind in found]
        }
        validate_parameters(response, model.output_shape)
        with self._lock:
            self.spans += [(kind, text[b:e]) for b, e, kind in found]
        return AWSResponse("https://comprehend", 200, {}, None), {**response, "ResponseMetadata": {}}


@dataclass(frozen=True)
class DataSynth:
    app: cdk.App
    outdir: Path
    templates: dict[str, dict[str, Any]]

    @property
    def data(self) -> dict[str, Any]:
        return self.templates["Data"]


@cache
def synth_data_stack() -> DataSynth:
    """Foundation + Data in one app with every nag pack, as a platform team would deploy the stage alone."""
    outdir = Path(tempfile.mkdtemp(prefix="data-cdk-out-"))
    app = cdk.App(outdir=str(outdir), context=cdk_json_context())
    stage = StagePolicy("dev")
    foundation = FoundationStack(app, "Foundation", props=FoundationProps(name_prefix="journey-dev", stage=stage))
    DataStack(
        app,
        "Data",
        props=DataProps(
            key=foundation.key,
            access_logs=foundation.access_logs.bucket,
            alarm_topic=foundation.alarm_topic,
            stage=stage,
            name_prefix="journey-dev",
            usecase_id=USECASE,
            settings=data_settings(),
        ),
    )
    add_nag_packs(app)
    assembly = app.synth()
    templates = {s.stack_name: json.loads(Path(s.template_full_path).read_text()) for s in assembly.stacks}
    return DataSynth(app=app, outdir=outdir, templates=templates)
