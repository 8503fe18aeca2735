"""The fine-tuning workflow's settings contract: what the Scale stack hands every `finetune` function, defined once.

The stack builds `FinetuneSettings` (with its golden cases, which outgrow Lambda's 4 KB environment) and writes it
into its settings layer as ``finetune.json``; deploy-time names (buckets, topic) are not known at synth, so they
travel in the environment (`DEPLOY_ENV`) and `settings_from_deployment` merges the two.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping

from common.settings_file import SETTINGS_FILE_ENV, deployed_settings
from pydantic import BaseModel, ConfigDict, Field

SETTINGS_NAME = "finetune"
# Deploy-time values: environment variable -> FinetuneSettings field.
DEPLOY_ENV = {
    "CURATED_BUCKET": "curated_bucket",
    "WORK_BUCKET": "work_bucket",
    "ALARM_TOPIC_ARN": "alarm_topic_arn",
}


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class GoldenCase(_Frozen):
    """One golden record: the variables the prompt is built from and the reference answer."""

    id: str = Field(min_length=1)
    variables: dict[str, str]
    reference: str = Field(min_length=1)


class FinetuneSettings(_Frozen):
    usecase: str = Field(min_length=1)
    name_prefix: str = Field(min_length=1, description="<prefix>-<stage>: starts job and model names.")
    curated_bucket: str = Field("", description="The Data stack's curated bucket (deploy-time).")
    export_prefix: str = Field("finetune/", description="Where api.finetune_export writes <day>/train.jsonl.")
    curated_records_prefix: str = Field(
        "finetune/curated/", description="Hand-curated records in the same format (*.jsonl), merged in."
    )
    work_bucket: str = Field("", description="The Scale stack's bucket (deploy-time).")
    training_prefix: str = Field("training/")
    output_prefix: str = Field("output/")
    reports_prefix: str = Field("reports/")
    alarm_topic_arn: str = Field("", description="Where the approval request goes (deploy-time).")
    min_records: int = Field(ge=1)
    max_records: int = Field(ge=1)
    base_model: str = Field(min_length=1)
    base_inference_model: str = Field(min_length=1)
    thresholds: dict[str, float] = Field(
        description="usecase.yaml `evaluation` by gate metric name (`common.evaluation.gate.DIRECTIONS`)."
    )
    task: str = Field("answer", description="The golden task; its kind picks the metrics (`scoring.task_kind`).")
    margin: float = Field(ge=0, lt=1)
    golden: tuple[GoldenCase, ...] = Field(min_length=1)
    poll_seconds: int = Field(ge=0)
    max_tokens: int = Field(512, ge=1, description="Answer length cap for the golden runs.")


def settings_from_deployment(environ: Mapping[str, str] | None = None) -> FinetuneSettings:
    """The settings file of the layer (digest checked) with the deploy-time names from the environment."""
    env = os.environ if environ is None else environ
    if SETTINGS_FILE_ENV not in env:
        raise KeyError(f"{SETTINGS_FILE_ENV} must be set; the Scale stack sets it")
    deployed = {field: env[variable] for variable, field in DEPLOY_ENV.items() if env.get(variable)}
    return deployed_settings(FinetuneSettings, env, deployed=json.dumps(deployed, sort_keys=True))
