"""`UseCase`: the idea and its requirements, from usecases/<id>/usecase.yaml."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal, TypeVar

from pydantic import Field, ValidationError, field_validator

from stacks.config.base import (
    USECASES_DIR,
    ConfigError,
    StrictModel,
    display_path,
    read_yaml_mapping,
    validation_error,
    worded,
)
from stacks.config.kit import MAX_USECASE_ID, USECASE_ID_PATTERN

# The run's assessment (the bias profile with the missing-value rate of every optional field of every source)
# travels in the Step Functions state, which holds at most 256 KB: 8 sources of 100 fields (data.yaml), all
# with 63-character names, take about 223 KB of it (tests/lambdas/pipeline/test_limits.py measures it).
MAX_SOURCES = 8
MAX_SOURCE_NAME = 63  # like a field name; also a key segment and part of the run ledger's counter names

Architecture = Literal["direct", "rag", "agent", "multi"]

# Bedrock model ids ("anthropic.claude-3-haiku-20240307-v1:0") and cross-region inference
# profile ids ("us.anthropic.claude-...") share this shape.
_MODEL_ID = worded(
    r"^(?:(?:us|eu|apac|global|jp|au|ca|us-gov)\.)?[a-z0-9-]+\.[a-z0-9.-]+(?::[0-9]+)?(?::[0-9]+k)?$",
    "must look like `provider.model-name-v1:0`, optionally with a profile prefix (`us.`, `eu.`, `global.`)",
)
_SOURCE_NAME = worded(r"^[a-z0-9_]+$", "must be lowercase letters, digits and underscores")

# The three ideation templates from the journey; the key names the template in the register.
IDEATION_TEMPLATES: dict[str, re.Pattern[str]] = {
    "recognize": re.compile(r"^If I could recognize (?P<what>.+?) in (?P<where>.+?),? I could (?P<action>.+)$"),
    "knew_which": re.compile(
        r"^If I knew which (?P<what>.+?) were most likely to (?P<outcome>.+?)"
        r"(?: by each individual (?P<individual>.+?))?,? I could (?P<action>.+)$"
    ),
    "identify": re.compile(r"^If I could identify (?P<what>.+?) with (?P<how>.+?),? I could (?P<action>.+)$"),
}


class Ideation(StrictModel):
    """The idea, written in one of the three seed templates."""

    statement: str = Field(description="'If I could recognize ___ in ___ I could ___' and the two other templates.")

    @field_validator("statement")
    @classmethod
    def _matches_a_template(cls, value: str) -> str:
        value = " ".join(value.split())
        if not any(p.match(value) for p in IDEATION_TEMPLATES.values()):
            raise ValueError(
                "statement must follow a template: 'If I could recognize ___ in ___ I could ___', "
                "'If I knew which ___ were most likely to ___ [by each individual ___] I could ___' "
                "or 'If I could identify ___ with ___, I could ___'"
            )
        return value

    @property
    def template(self) -> str:
        return next(name for name, p in IDEATION_TEMPLATES.items() if p.match(self.statement))


class DataSource(StrictModel):
    name: str = Field(
        pattern=_SOURCE_NAME,
        max_length=MAX_SOURCE_NAME,
        description="Source id; also its prefix in the raw bucket (at most 63 characters, like a field name: it "
        "names the source's counters in the run ledger and its figures in the run's assessment).",
    )
    description: str = Field(min_length=10, description="What one record is.")
    format: Literal["jsonl", "csv", "text"] = Field(description="File format of the source.")
    contains_pii: bool = Field(description="Whether records carry PII that must be redacted.")


class DataDescription(StrictModel):
    description: str = Field(min_length=10, description="What data the use case needs and why.")
    sources: list[DataSource] = Field(
        min_length=1,
        max_length=MAX_SOURCES,
        description="Each dataset the use case reads. At most 8: the run's assessment lists every optional field "
        "of every source and travels in the Step Functions state (256 KB); 8 sources of 100 fields fit.",
    )


class Models(StrictModel):
    text: str = Field(
        pattern=_MODEL_ID,
        description="Bedrock model or inference-profile id for generation; checked against stacks/config/models.yaml "
        "(kind, pinned regions, lifecycle) at synth.",
    )
    embedding: str = Field("amazon.titan-embed-text-v2:0", pattern=_MODEL_ID, description="Bedrock embedding model id.")
    embedding_dimensions: int = Field(
        1024, gt=0, description="Vector size; the sizes each embedding model makes are in stacks/config/models.yaml."
    )


class EvaluationThresholds(StrictModel):
    """Scores a model's answers on the golden set must reach; the evaluation stage alarms below them."""

    bleu_min: float = Field(ge=0, le=100, description="sacrebleu corpus BLEU, 0-100.")
    rouge_l_min: float = Field(ge=0, le=1, description="ROUGE-L F1, 0-1.")
    wer_max: float = Field(ge=0, le=1, description="Word error rate, 0-1.")
    perplexity_max: float | None = Field(None, gt=1, description="Only where the model returns log-probs.")
    rouge1_min: float | None = Field(None, ge=0, le=1, description="ROUGE-1 F1, 0-1 (text tasks).")
    rouge2_min: float | None = Field(None, ge=0, le=1, description="ROUGE-2 F1, 0-1 (text tasks).")
    exact_match_min: float | None = Field(
        None, ge=0, le=1, description="Exact match, 0-1 (label and span tasks: classify, extract)."
    )
    f1_min: float | None = Field(None, ge=0, le=1, description="Macro-F1 (classify) or SQuAD token F1 (extract), 0-1.")
    latency_p90_ms_max: float | None = Field(
        None, gt=0, description="p90 of one golden case through the serving pipeline, milliseconds."
    )
    regression_margin: float = Field(
        0.05,
        ge=0,
        le=1,
        description="The scheduled evaluation fails when a metric is worse than the last accepted run's by more "
        "than this fraction of its value (0.05: 5%).",
    )

    def gate_thresholds(self) -> dict[str, float]:
        """The thresholds by the evaluation library's metric names (lambdas/common/evaluation/gate.py), unset ones
        left out: what the scheduled evaluation and `python -m tools.evaluate --usecase` gate on."""
        named = {
            "BLEU": self.bleu_min,
            "ROUGEL": self.rouge_l_min,
            "WER": self.wer_max,
            "Perplexity": self.perplexity_max,
            "ROUGE1": self.rouge1_min,
            "ROUGE2": self.rouge2_min,
            "ExactMatch": self.exact_match_min,
            "F1": self.f1_min,
            "LatencyP90": self.latency_p90_ms_max,
        }
        return {metric: value for metric, value in named.items() if value is not None}


class SuccessMetric(StrictModel):
    name: str = Field(min_length=3, description="What is measured.")
    target: str = Field(min_length=1, description="Measurable target, e.g. '+5% retention in 90 days'.")


class UseCase(StrictModel):
    """One idea on the register and what it needs from every later stage."""

    id: str = Field(
        pattern=USECASE_ID_PATTERN,
        max_length=MAX_USECASE_ID,
        description="Equals the folder name under usecases/. At most 30 characters: it starts the default name "
        "prefix <project>-<usecase> (at most 34), and the shortest project takes 4 of them.",
    )
    title: str = Field(min_length=3, description="Short name used in stack descriptions and dashboards.")
    owner: str = Field(min_length=2, description="Team accountable for the use case.")
    ideation: Ideation = Field(description="The idea in one of the seed templates.")
    data: DataDescription = Field(description="What data the idea needs.")
    architecture: Architecture = Field(description="Serving pattern: direct model call, RAG, agent or multi-task.")
    models: Models | None = Field(
        None,
        description="Bedrock models for generation and embeddings. Optional until a stack that calls a model is "
        "switched on (Knowledge: the embedding model); synth then names it as missing.",
    )
    evaluation: EvaluationThresholds | None = Field(
        None,
        description="Quality gates for automated evaluation. Optional until a stage that evaluates answers is built; "
        "a data-only use case (`make data-dry-run`, the Data stack) needs none.",
    )
    success_metrics: list[SuccessMetric] = Field(min_length=1, description="Business outcomes that define success.")

    @property
    def source(self) -> str:
        """The file as people name it, for errors raised after loading."""
        return f"usecases/{self.id}/usecase.yaml"

    def models_for(self, needed_by: str) -> Models:
        """`models`, or the one-line `ConfigError` naming the stack that needs it (``needed_by``)."""
        return _required(self.source, "models", self.models, needed_by)

    def evaluation_for(self, needed_by: str) -> EvaluationThresholds:
        """`evaluation`, or the one-line `ConfigError` naming the stage that needs it (``needed_by``)."""
        return _required(self.source, "evaluation", self.evaluation, needed_by)


SectionT = TypeVar("SectionT")


def _required(source: str, section: str, value: SectionT | None, needed_by: str) -> SectionT:
    if value is None:
        raise ConfigError(source, section, f"required by {needed_by}, but missing")
    return value


def load_usecase(usecase_id: str, root: Path = USECASES_DIR) -> UseCase:
    """Read and validate usecases/<id>/usecase.yaml; the folder name must equal its `id`."""
    path = root / usecase_id / "usecase.yaml"
    source = display_path(path)
    if not path.is_file():
        known = sorted(p.name for p in root.iterdir() if (p / "usecase.yaml").is_file()) if root.is_dir() else []
        raise ConfigError(source, "usecase", f"no such use case '{usecase_id}' (known: {', '.join(known) or 'none'})")
    raw = read_yaml_mapping(path)
    try:
        usecase = UseCase.model_validate(raw)
    except ValidationError as exc:
        raise validation_error(source, exc, model=UseCase) from None
    if usecase.id != usecase_id:
        raise ConfigError(source, "id", f"'{usecase.id}' must equal its folder name '{usecase_id}'")
    return usecase
