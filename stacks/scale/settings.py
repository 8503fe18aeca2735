"""The Scale stack's sections of usecases/<id>/scale.yaml: `hosted_model` and `fine_tuning`.

scale.yaml is shared: the TCO tool (tools/tco) reads its own keys from the same file. This model reads only the
two sections the Scale stack builds from and ignores every other top-level key, so the two owners of the file
never break each other; inside each section every key is checked strictly (a typo is an error, as elsewhere).
Both sections are optional in the file; a switched-on feature whose section is missing is one `ConfigError` line.

A quantized hosted model answers the chat API (`hosted_model.serve_direct`) only once accepted on the golden set:
`python -m tools.accept_quantized` writes usecases/<id>/hosted-acceptance.json when it passes, a reviewer commits
it, and `load_scale_files` refuses serve_direct without a record for exactly this model_id and quantization (a
record of another model proves nothing about this one). Full precision (`quantization: none`) needs no record.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from finetune.contract import GoldenCase
from pydantic import ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from stacks.config import USECASES_DIR, ConfigError, StrictModel, display_path, read_yaml_mapping, validation_error
from stacks.config.base import SAGEMAKER_INSTANCE_PATTERN, worded

SCALE_FILE = "scale.yaml"
ACCEPTANCE_FILE = "hosted-acceptance.json"
ACCEPT_COMMAND = (
    "python -m tools.accept_quantized --usecase {usecase} --candidate <report.json> --full-precision <report.json>"
)

# LMI's OPTION_QUANTIZE values for the vLLM backend (LMI user guide, "LMI configurations"); "none" serves the
# checkpoint at its own precision (fp16/bf16), the full-precision run a quantized one is measured against.
Quantization = Literal["none", "awq", "gptq", "fp8"]
INSTANCE_PATTERN = SAGEMAKER_INSTANCE_PATTERN
S3_PREFIX_PATTERN = worded(r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/([^*?]+/)?$", "must be s3://<bucket>/<prefix>/")
MODEL_ID_PATTERN = worded(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9._-]+$", "must be a model id such as `org/name`")
BEDROCK_MODEL_PATTERN = worded(
    r"^[a-z0-9-]+\.[a-z0-9.-]+(:[0-9]+)?(:[0-9]+k)?$",
    "must be a Bedrock model id such as `amazon.nova-micro-v1:0:128k` (no inference-profile prefix)",
)


class HostedModelSettings(StrictModel):
    """An open-weights model on a SageMaker endpoint with an AWS-published LMI container."""

    model_id: str = Field(
        pattern=MODEL_ID_PATTERN,
        description="The open-weights model (Hugging Face id) LMI loads, e.g. `Qwen/Qwen2.5-7B-Instruct-AWQ`; "
        "with `model_s3_uri` the weights come from S3 instead and this names them in reports.",
    )
    model_s3_uri: str | None = Field(
        None,
        pattern=S3_PREFIX_PATTERN,
        description="Optional S3 prefix holding the weights (uncompressed); the endpoint role reads only it.",
    )
    quantization: Quantization = Field(
        "none", description="LMI OPTION_QUANTIZE: awq / gptq need a checkpoint quantized that way; fp8 quantizes."
    )
    instance_type: str = Field("ml.g5.2xlarge", pattern=INSTANCE_PATTERN)
    accelerators_per_copy: int = Field(1, ge=1, le=8, description="GPUs one model copy needs (tensor parallel).")
    memory_per_copy_mb: int = Field(8192, ge=1024, description="Host memory one model copy reserves.")
    max_model_len: int = Field(8192, ge=256, description="LMI OPTION_MAX_MODEL_LEN: context the server allows.")
    scale_to_zero: bool = Field(
        True,
        description="Inference components with managed instance scaling down to 0 instances (no hourly cost idle; "
        "the first request after idle waits for an instance). False: a classic variant, at least one instance.",
    )
    max_instances: int = Field(2, ge=1, le=20)
    min_instances: int = Field(1, ge=1, description="Without scale_to_zero: the instances always running.")
    target_invocations: int = Field(
        20, ge=1, description="Target tracking: invocations per minute per copy (or per instance)."
    )
    scale_in_cooldown_seconds: int = Field(600, ge=60)
    scale_out_cooldown_seconds: int = Field(60, ge=0)
    serve_direct: bool = Field(
        False,
        description="The chat API answers `direct` from this endpoint instead of Bedrock (same safety checks). Turn "
        "it on once the model is accepted: a quantized one needs hosted-acceptance.json (`python -m "
        "tools.accept_quantized`), or synth stops.",
    )
    acceptance_margin: float = Field(
        0.05,
        ge=0,
        lt=1,
        description="A quantized model is accepted when each gated metric is within this relative margin of the "
        "full-precision run (and meets usecase.yaml `evaluation`).",
    )

    @model_validator(mode="after")
    def _scaling(self) -> HostedModelSettings:
        if not self.scale_to_zero and self.min_instances > self.max_instances:
            raise ValueError("min_instances must not exceed max_instances")
        return self


class HostedAcceptance(StrictModel):
    """What the guard reads of hosted-acceptance.json: which model was accepted (the rest is for reviewers)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    model_id: str
    quantization: Quantization


class FineTuningSettings(StrictModel):
    """Bedrock model customization on the thumbs-up export, behind the evaluation gate and a human approval."""

    base_model: str = Field(
        "amazon.nova-micro-v1:0:128k",
        pattern=BEDROCK_MODEL_PATTERN,
        description="The customizable base model (CreateModelCustomizationJob's baseModelIdentifier).",
    )
    base_inference_model: str = Field(
        "amazon.nova-micro-v1:0",
        description="How the base model is invoked for the comparison (a model or inference-profile id).",
    )
    hyper_parameters: dict[str, str] = Field(
        default_factory=lambda: {"epochCount": "2", "learningRate": "0.00001", "batchSize": "1"},
        description="Passed as is; Bedrock checks them per base model.",
    )
    min_records: int = Field(8, ge=1, description="Fewer valid records stop the run before any job starts.")
    max_records: int = Field(20_000, ge=1, description="Records beyond this are left out (counted as too_many).")
    golden_task: str = Field("answer", pattern=r"^[a-z][a-z0-9_]*$", description="golden/<task>.jsonl to score.")
    margin: float = Field(
        0.02, ge=0, lt=1, description="The custom model must beat the base by this relative margin on every metric."
    )
    promotion: Literal["deployment", "provisioned_throughput"] = Field(
        "deployment",
        description="What an approved model becomes: an on-demand custom model deployment (per token) or "
        "provisioned throughput (billed per hour from creation).",
    )
    model_units: int = Field(1, ge=1, description="Provisioned throughput model units.")
    poll_seconds: int = Field(600, ge=0, le=3600, description="Wait between job and deployment status polls.")
    approval_hours: int = Field(72, ge=1, le=720, description="How long the approval request waits.")

    @model_validator(mode="after")
    def _records(self) -> FineTuningSettings:
        if self.min_records > self.max_records:
            raise ValueError("min_records must not exceed max_records")
        return self


class ScaleSettings(StrictModel):
    """The Scale stack's view of scale.yaml: two optional sections; other keys belong to the TCO tool."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    hosted_model: HostedModelSettings | None = None
    fine_tuning: FineTuningSettings | None = None
    # Read beside the file (golden/<fine_tuning.golden_task>.jsonl), not part of it: a private attribute.
    _golden: tuple[GoldenCase, ...] = PrivateAttr(default=())

    @property
    def golden(self) -> tuple[GoldenCase, ...]:
        """The golden cases of `fine_tuning.golden_task` (empty without a fine_tuning section or the file)."""
        return self._golden


def load_scale_settings(usecase_id: str, root: Path = USECASES_DIR) -> ScaleSettings:
    """Read the two sections of usecases/<id>/scale.yaml; empty settings when the file does not exist."""
    path = root / usecase_id / SCALE_FILE
    if not path.is_file():
        return ScaleSettings()
    try:
        return ScaleSettings.model_validate(read_yaml_mapping(path))
    except ValidationError as exc:
        raise validation_error(display_path(path, root), exc, model=ScaleSettings, document=path) from None


def load_golden(path: Path, root: Path = USECASES_DIR) -> tuple[GoldenCase, ...]:
    """The cases of one golden file (JSON lines of id, variables, reference); other keys (source) are ignored."""
    source = display_path(path, root)
    cases = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            cases.append(GoldenCase.model_validate({k: raw.get(k) for k in ("id", "variables", "reference")}))
        except (ValueError, AttributeError) as exc:
            raise ConfigError(source, f"line {number}", f"not a golden case: {type(exc).__name__}") from None
    return tuple(cases)


def require_acceptance(settings: ScaleSettings, usecase_id: str, root: Path = USECASES_DIR) -> None:
    """Raise one `ConfigError` line when a quantized model would be served directly without an acceptance record
    of exactly this model and quantization (see the module docstring)."""
    hosted = settings.hosted_model
    if hosted is None or not hosted.serve_direct or hosted.quantization == "none":
        return
    path = root / usecase_id / ACCEPTANCE_FILE
    run = f"run `{ACCEPT_COMMAND.format(usecase=usecase_id)}` and commit its record, or set serve_direct: false"
    served = f"{hosted.model_id} ({hosted.quantization})"
    if not path.is_file():
        raise ConfigError(
            f"usecases/{usecase_id}/{SCALE_FILE}",
            "hosted_model.serve_direct",
            f"the quantized model {served} is not accepted: no {ACCEPTANCE_FILE}; {run}",
        )
    try:
        record = HostedAcceptance.model_validate_json(path.read_bytes())
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "(file)"
        raise ConfigError(display_path(path, root), where, f"{first['msg']}; {run}") from None
    if (record.model_id, record.quantization) != (hosted.model_id, hosted.quantization):
        raise ConfigError(
            f"usecases/{usecase_id}/{SCALE_FILE}",
            "hosted_model.serve_direct",
            f"{ACCEPTANCE_FILE} accepted {record.model_id} ({record.quantization}), not the served {served}; {run}",
        )


def load_scale_files(usecase_id: str, root: Path = USECASES_DIR) -> ScaleSettings:
    """scale.yaml's sections, holding (with a `fine_tuning` section) the golden cases its gate scores; a quantized
    model served directly must be accepted (`require_acceptance`)."""
    settings = load_scale_settings(usecase_id, root)
    require_acceptance(settings, usecase_id, root)
    if settings.fine_tuning is not None:
        path = root / usecase_id / "golden" / f"{settings.fine_tuning.golden_task}.jsonl"
        if path.is_file():
            settings._golden = load_golden(path, root)
    return settings


def require_section(settings: ScaleSettings, section: str, usecase_id: str, feature: str) -> None:
    """Raise the one-line `ConfigError` for a switched-on feature whose scale.yaml section is missing."""
    if getattr(settings, section) is None:
        raise ConfigError(
            f"usecases/{usecase_id}/{SCALE_FILE}",
            section,
            f"required by features.{feature} (add the section, or -c features.{feature}=false)",
        )
