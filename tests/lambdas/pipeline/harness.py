"""Shared test support for the data pipeline: settings from the real data.yaml (and in a settings folder, as
the stack's layer holds them), a model-checked Comprehend responder, a Lambda context, and the Data stack
synthesized once per test session."""

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
from common.settings_file import SETTINGS_DIR_ENV, SETTINGS_FILE_ENV, SETTINGS_SHA256_ENV

# Import every handler at collection time: Powertools' Tracer imports the X-Ray SDK, whose UDP emitter
# opens a socket on import, which pytest-socket would refuse inside a test.
from pipeline import assess, finalize, profile, publish, quarantine, redact, start, validate  # noqa: F401
from pipeline.contract import PipelineSettings, ProfileSpec

from stacks.app_builder import cdk_json_context
from stacks.common.nag import add_nag_packs
from stacks.common.settings_layer import SETTINGS_FOLDER, write_settings_files
from stacks.common.stage_policy import StagePolicy
from stacks.config import load_usecase
from stacks.data.settings import DataSettings, load_data_settings
from stacks.data.stack import DataProps, DataStack
from stacks.foundation.stack import FoundationProps, FoundationStack
from tools.generate_sample_data import find_pii

USECASE = "customer-retention"


@cache
def data_settings() -> DataSettings:
    return load_data_settings(load_usecase(USECASE))


@cache
def pipeline_settings() -> PipelineSettings:
    """Every section, as the functions would see it."""
    return data_settings().contract()


def settings_environment(folder: Path, settings: dict[str, Any], name: str = "all") -> dict[str, str]:
    """Write ``settings`` as ``<folder>/<name>.json`` the way the settings layer does; the variables that
    point a handler at it (the folder, the file and its SHA-256)."""
    digests = write_settings_files(folder, {name: settings})
    return {
        SETTINGS_DIR_ENV: str(folder),
        SETTINGS_FILE_ENV: f"{name}.json",
        SETTINGS_SHA256_ENV: digests[name],
    }


def layer_folder(outdir: Path, template: dict[str, Any], logical_id: str) -> Path:
    """Where the synthesized layer ``logical_id`` keeps its settings in the cloud assembly: what a function
    of the deployed stack reads as /opt/settings."""
    s3_key = template["Resources"][logical_id]["Properties"]["Content"]["S3Key"]
    (asset,) = outdir.rglob(f"asset.{s3_key.removesuffix('.zip')}")
    return asset / SETTINGS_FOLDER


def settings_layer_id(template: dict[str, Any]) -> str:
    """The logical id of the stack's settings layer (its one layer version besides the dependency layer)."""
    (logical_id,) = [
        k
        for k, v in template["Resources"].items()
        if v["Type"] == "AWS::Lambda::LayerVersion" and not k.startswith("DependencyLayer")
    ]
    return logical_id


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

    @property
    def settings_folder(self) -> Path:
        """The Data stack's settings layer as synthesized: the functions' /opt/settings."""
        return layer_folder(self.outdir, self.data, settings_layer_id(self.data))


@cache
def synth_data_stack(row_fanout_bytes: int | None = None) -> DataSynth:
    """Foundation + Data in one app with every nag pack, as a platform team would deploy the stage alone
    (``row_fanout_bytes``: data.yaml's limit replaced, so a test's small objects take the fan-out route)."""
    outdir = Path(tempfile.mkdtemp(prefix="data-cdk-out-"))
    app = cdk.App(outdir=str(outdir), context=cdk_json_context())
    stage = StagePolicy("dev")
    foundation = FoundationStack(app, "Foundation", props=FoundationProps(name_prefix="journey-dev", stage=stage))
    settings = data_settings()
    if row_fanout_bytes is not None:
        limits = settings.limits.model_copy(update={"row_fanout_bytes": row_fanout_bytes})
        settings = settings.model_copy(update={"limits": limits})
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
            settings=settings,
        ),
    )
    add_nag_packs(app)
    assembly = app.synth()
    templates = {s.stack_name: json.loads(Path(s.template_full_path).read_text()) for s in assembly.stacks}
    return DataSynth(app=app, outdir=outdir, templates=templates)
