"""`Tco`: the `tco:` section of usecases/<id>/scale.yaml, what the TCO calculator compares.

Only the `tco:` key is this model's: scale.yaml's other sections (the hosted endpoint, fine-tuning) belong to their
own models, so a key beside `tco:` is not an error here. Inside `tco:` the model is strict, and every problem is one
`ConfigError` line naming the file, the dotted field and the reason, all of a file's problems at once.
"""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from stacks.config import USECASES_DIR, ConfigError, StrictModel, display_path, read_yaml_mapping, validation_error
from stacks.config.base import SAGEMAKER_INSTANCE_PATTERN, worded
from stacks.config.model_catalogue import Catalogue, closest_id
from tools.tco.prices import ProvisionedModel, base_model_id

SCALE_FILE = "scale.yaml"

Precision = Literal["fp16", "int8", "int4"]
# Bytes per weight: fp16 stores 16 bits, int8 8 and int4 4 (AWQ/GPTQ pack two weights a byte); the scales and zero
# points quantization adds are under 1% of the weights at the usual group size of 128 and are left out.
BYTES_PER_PARAMETER: dict[str, float] = {"fp16": 2.0, "int8": 1.0, "int4": 0.5}

_MODEL_ID = worded(
    r"^(?:(?:us|eu|apac|global|jp|au|ca|us-gov)\.)?[a-z0-9-]+\.[a-z0-9.-]+(?::[0-9]+)?(?::[0-9]+k)?$",
    "must look like `provider.model-name-v1:0`, optionally with a profile prefix (`us.`, `eu.`, `global.`)",
)
_REGION = worded(r"^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", "must be an AWS Region code such as `us-east-1`")
_INSTANCE = SAGEMAKER_INSTANCE_PATTERN

ModelId = Annotated[str, Field(pattern=_MODEL_ID)]
Region = Annotated[str, Field(pattern=_REGION)]
InstanceType = Annotated[str, Field(pattern=_INSTANCE)]


def _unique(values: list[str]) -> list[str]:
    twice = sorted({v for v in values if values.count(v) > 1})
    if twice:
        raise ValueError(f"lists {', '.join(repr(v) for v in twice)} twice")
    return values


class Tokens(StrictModel):
    """Tokens of one request: the user's input, the retrieved context (RAG) sent with it, and the answer."""

    input: int = Field(ge=0, le=1_000_000, description="Tokens the user and the prompt template send.")
    context: int = Field(default=0, ge=0, le=1_000_000, description="Retrieved context added to the prompt.")
    output: int = Field(ge=1, le=100_000, description="Tokens of the answer.")

    @property
    def prompt(self) -> int:
        """Everything billed as input tokens."""
        return self.input + self.context


class Maintenance(StrictModel):
    """People's time: patching, upgrades, on-call and capacity reviews, a month, costed at one hourly rate."""

    hourly_cost: float = Field(ge=0, description="USD per engineering hour, loaded.")
    api_hours_per_month: float = Field(ge=0, le=744, description="Hours a month an API option needs.")
    hosted_hours_per_month: float = Field(ge=0, le=744, description="Hours a month a self-hosted endpoint needs.")


class Throughput(StrictModel):
    """What the price snapshot cannot say: how fast a GPU serves the model. Defaults and their source:

    Decoding is memory-bandwidth bound: each step reads every weight once and yields one token for each sequence in
    the batch, so a step takes weight bytes / (bandwidth x utilization) (Databricks, "LLM Inference Performance
    Engineering: Best Practices", https://www.databricks.com/blog/llm-inference-performance-engineering-best-practices,
    which measures model bandwidth utilization (MBU) near 50-60% on A100s). Memory: weights x 1.2 for the KV cache and
    activations (https://www.substratus.ai/blog/calculating-gpu-memory-for-llm). Prefill reads the prompt in a
    batched, compute-bound pass: a prompt token is counted as `prompt_token_weight` of an output token. All of these
    are estimates: replace them with a load test of the container you deploy (LMI or TGI).
    """

    memory_bandwidth_utilization: float = Field(default=0.5, gt=0, le=1, description="MBU, 0-1.")
    concurrent_sequences: int = Field(default=16, ge=1, le=1024, description="Sequences decoded per step (batch).")
    memory_overhead: float = Field(default=1.2, ge=1, le=4, description="GPU memory needed / weight bytes.")
    prompt_token_weight: float = Field(default=0.1, ge=0, le=1, description="GPU time of a prompt token / output.")
    target_utilization: float = Field(default=0.7, gt=0, le=1, description="Busy share the fleet is sized for.")


class HostedModel(StrictModel):
    """The open-weights model a SageMaker real-time endpoint would serve, and where it may run."""

    name: str = Field(min_length=1, max_length=100, description="The model, for the report (e.g. Llama 3.1 8B).")
    parameters_billion: float = Field(gt=0, le=2000, description="Parameters, in billions.")
    precisions: list[Precision] = Field(min_length=1, description="Precisions to cost: fp16, int8, int4.")
    instance_types: list[InstanceType] = Field(min_length=1, description="Instance types to choose from.")
    min_instances_per_region: int = Field(
        default=2, ge=1, le=100, description="Floor per Region (two spread the endpoint over Availability Zones)."
    )
    ebs_gb_per_instance: float = Field(
        default=0, ge=0, le=16_384, description="EBS volume per instance (0: g5/g6/g6e/p4d use local NVMe)."
    )
    throughput: Throughput = Field(default_factory=Throughput)

    _precisions_unique = field_validator("precisions")(_unique)
    _instances_unique = field_validator("instance_types")(_unique)


class ProvisionedQuote(ProvisionedModel):
    """Bedrock provisioned throughput for one base model, as the AWS account team quoted it.

    AWS lists a model unit's hourly rates on the pricing page but not what a unit delivers: "For more information
    about what an MU specifies, contact your AWS account manager" (Amazon Bedrock User Guide, "Increase model
    invocation capacity with Provisioned Throughput"). So no snapshot can carry the tokens a minute; without a
    quote the option reads "not priced". A quote here wins over tools/prices/bedrock-provisioned-throughput.json.
    """

    source: str = Field(min_length=1, max_length=200, description="Who quoted it (the report prints it).")
    quoted_on: date = Field(description="When it was quoted.")


class Tco(StrictModel):
    """The volume, shape and constraints of the workload, the options to compare and the people's time."""

    requests_per_day: int = Field(ge=1, le=10_000_000_000, description="Requests a day now.")
    monthly_growth: float = Field(ge=-0.5, le=10, description="Compound growth a month (0.05 = 5%).")
    horizon_months: int = Field(ge=1, le=120, description="Months ahead the horizon column looks.")
    peak_factor: float = Field(ge=1, le=100, description="Peak hour's request rate / the day's average rate.")
    tokens_per_request: Tokens
    latency_target_seconds: float = Field(gt=0, description="Longest acceptable time to a full answer.")
    regions: list[Region] = Field(min_length=1, description="Regions serving the traffic (split evenly).")
    maintenance: Maintenance
    candidate_models: list[ModelId] = Field(min_length=1, description="Bedrock models or profiles to price.")
    hosted_model: HostedModel
    bytes_per_token: float = Field(
        default=4, gt=0, le=64, description="Bytes of answer text per token (about 4 characters in English)."
    )
    provisioned_throughput: dict[str, ProvisionedQuote] = Field(
        default_factory=dict,
        description="Base model id (no profile prefix) -> the account team's model-unit quote (see ProvisionedQuote).",
    )

    _regions_unique = field_validator("regions")(_unique)
    _models_unique = field_validator("candidate_models")(_unique)

    @model_validator(mode="after")
    def _quotes_are_for_candidates(self) -> Tco:
        bases = {base_model_id(model) for model in self.candidate_models}
        for model_id in self.provisioned_throughput:
            if model_id != base_model_id(model_id):
                raise ValueError(
                    f"provisioned_throughput: '{model_id}' is an inference profile; "
                    f"quote the base model '{base_model_id(model_id)}'"
                )
            if model_id not in bases:
                raise ValueError(f"provisioned_throughput: '{model_id}' is not the base of any of candidate_models")
        return self

    def provisioned_quote(self, model_id: str) -> ProvisionedQuote | None:
        """The quote for a candidate model or profile (by its base model), if the use case has one."""
        return self.provisioned_throughput.get(base_model_id(model_id))

    @property
    def horizon_requests_per_day(self) -> int:
        """Requests a day after `horizon_months` of compound growth (at least 1)."""
        return max(1, math.floor(self.requests_per_day * (1 + self.monthly_growth) ** self.horizon_months + 0.5))


class _ScaleFile(BaseModel):
    """scale.yaml as a whole: `tco:` is required here, other sections are other models' business."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    tco: Tco


def load_scale(usecase_id: str, root: Path = USECASES_DIR) -> Tco:
    """Read and validate usecases/<id>/scale.yaml's `tco:` section."""
    path = root / usecase_id / SCALE_FILE
    source = display_path(path)
    if not path.is_file():
        raise ConfigError(source, "(file)", "no such file: `make tco` reads its inputs from its `tco:` section")
    raw = read_yaml_mapping(path)
    try:
        return _ScaleFile.model_validate(raw).tco
    except ValidationError as exc:
        raise validation_error(source, exc, model=_ScaleFile, document=path) from None


def catalogue_problems(tco: Tco, catalogue: Catalogue) -> list[tuple[str, str]]:
    """(field, reason) for each candidate model that stacks/config/models.yaml does not know as a text model, so
    a typo is named here rather than priced as "unknown"."""
    problems = []
    for i, model_id in enumerate(tco.candidate_models):
        model = catalogue.model_of(model_id)
        if model is None:
            close = closest_id(model_id, catalogue)
            hint = f"; did you mean '{close}'?" if close else ""
            problems.append((f"tco.candidate_models.{i}", f"'{model_id}' is not in stacks/config/models.yaml{hint}"))
        elif model.modality != "text":
            problems.append(
                (f"tco.candidate_models.{i}", f"'{model_id}' is not a text model (modality: {model.modality})")
            )
    return problems
