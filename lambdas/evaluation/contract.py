"""The evaluation functions' settings contract, defined once: the construct builds it, the functions parse it.

Both functions carry the chat functions' own settings (`api.contract.ApiSettings` and the safety library's
`SafetySettings`, read with `api.deployed_settings.settings_from_deployment`, the same code as the chat
functions) and `EvaluationSettings`: the use case's golden set (usecases/<id>/golden/<task>.jsonl), the gate's
thresholds and margin, where reports go and the metrics' namespace. As for the chat functions, everything known
at synth travels in the settings layer file (`SETTINGS_FILE`: ``{"api": ..., "safety": ..., "evaluation": ...}``)
and only what CloudFormation fills in (the reports bucket's name, the Bedrock evaluation role's ARN) in
``EVALUATION_SETTINGS``, JSON of the same shape; the environment's values win on a merge.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from api.contract import Architecture
from common.settings_file import deployed_settings
from pydantic import BaseModel, ConfigDict, Field, field_validator

SETTINGS_FILE = "evaluation.json"
EVALUATION_SECTION = "evaluation"
EVALUATION_SETTINGS_ENV = "EVALUATION_SETTINGS"
# The model identifier Bedrock's judge sees for the answers the kit supplies (precomputed inference).
INFERENCE_SOURCE = "journey-kit-serving-pipeline"
# Built-in judge metrics recorded when none are configured (Bedrock User Guide, "Use metrics to understand model
# performance": Builtin.<Name>).
DEFAULT_JUDGE_METRICS = ("Builtin.Correctness", "Builtin.Completeness", "Builtin.Faithfulness")
_RUN_ID = re.compile(r"^[A-Za-z0-9_-]{1,80}$")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class GoldenCase(_Frozen):
    """One line of usecases/<id>/golden/<task>.jsonl (the format tools/prompt_eval.py reads)."""

    model_config = ConfigDict(frozen=True, extra="ignore")  # e.g. ``source``: where the case came from

    id: str = Field(min_length=1)
    variables: dict[str, str]
    reference: str


class BedrockEvaluation(_Frozen):
    """An LLM-as-a-judge Bedrock evaluation job started beside each run, on the answers the run produced."""

    evaluator_model_id: str = Field(min_length=1, description="The judge: a Bedrock model or inference profile id.")
    metrics: tuple[str, ...] = Field(DEFAULT_JUDGE_METRICS, min_length=1, max_length=25)
    role_arn: str = Field(min_length=1, description="The service role Bedrock assumes (deploy time).")


class EvaluationSettings(_Frozen):
    usecase: str = Field(min_length=1)
    golden: dict[str, tuple[GoldenCase, ...]] = Field(min_length=1, description="Task -> its golden cases.")
    thresholds: dict[str, float] = Field(default_factory=dict, description="Gate metric name -> its limit.")
    margin: float = Field(0.05, ge=0, le=1, description="Relative drop from the last accepted run that fails.")
    architecture: Architecture | None = Field(None, description="None: the chat API's default architecture.")
    reports_bucket: str = Field(min_length=1)
    prefix: str = Field("quality-evaluation/", pattern=r"^([A-Za-z0-9!_.*'()-]+/)+$")
    namespace: str = Field("JourneyKit/Quality", min_length=1)
    overall_task: str = Field("all", min_length=1)
    bedrock_evaluation: BedrockEvaluation | None = None

    @field_validator("golden")
    @classmethod
    def _cases_unique_and_present(cls, value: dict[str, tuple[GoldenCase, ...]]) -> dict[str, tuple[GoldenCase, ...]]:
        for task, cases in value.items():
            if not cases:
                raise ValueError(f"golden set of {task!r} has no cases")
            ids = [case.id for case in cases]
            if len(set(ids)) != len(ids):
                raise ValueError(f"golden set of {task!r} repeats a case id")
        return value

    # -------------------------------------------------------------- keys in the reports bucket

    def run_prefix(self, run_id: str) -> str:
        if not _RUN_ID.match(run_id):
            raise ValueError(f"run id {run_id!r} must be 1-80 letters, digits, '-' or '_'")
        return f"{self.prefix}runs/{run_id}/"

    def predictions_key(self, run_id: str, task: str) -> str:
        return f"{self.run_prefix(run_id)}predictions/{task}.jsonl"

    def report_key(self, run_id: str, extension: str) -> str:
        return f"{self.run_prefix(run_id)}report.{extension}"

    def judge_dataset_key(self, run_id: str, task: str) -> str:
        return f"{self.run_prefix(run_id)}bedrock/{task}.jsonl"

    def judge_output_prefix(self, run_id: str) -> str:
        return f"{self.run_prefix(run_id)}bedrock/output/"

    @property
    def accepted_key(self) -> str:
        """The last accepted run (its metrics per task): the baseline the next run must not regress from."""
        return f"{self.prefix}accepted.json"


def evaluation_from_deployment(environ: Mapping[str, str]) -> EvaluationSettings:
    """`EvaluationSettings` of this function: the settings layer's section merged with ``EVALUATION_SETTINGS``."""
    return deployed_settings(
        EvaluationSettings, environ, deployed=environ[EVALUATION_SETTINGS_ENV], section=EVALUATION_SECTION
    )
