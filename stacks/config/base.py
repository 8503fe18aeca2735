"""Typed configuration: `KitConfig` from CDK context, `UseCase` from usecases/<id>/usecase.yaml.

app.py is the only caller that reads context; stacks receive these models (or parts of them) as props.
Every load error becomes a `ConfigError`: one line per problem naming the file, the field and the reason.
"""

from __future__ import annotations

import difflib
import re
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import ErrorDetails

REPO_ROOT = Path(__file__).resolve().parent.parent
USECASES_DIR = REPO_ROOT / "usecases"

# Pydantic reports a pattern mismatch with the raw regex; people get these words instead. Patterns are
# registered where they are declared, with `worded`, so the words cannot drift from the pattern.
PATTERN_WORDS: dict[str, str] = {}


def worded(pattern: str, words: str) -> str:
    """Register the reason shown when a value does not match ``pattern``; returns the pattern."""
    PATTERN_WORDS[pattern] = words
    return pattern


Stage = Literal["dev", "prod"]

# The longest physical name the kit derives from the prefix is an EventBridge rule (64 characters at most):
# "<prefix>-prod-knowledge-sync-published" leaves 64 - 30 = 34 characters for the prefix.
MAX_PREFIX = 34
# A use-case id starts the default prefix <project>-<usecase>: with the shortest project (3 characters) and its
# hyphen, 30 are left. A longer id could only ever deploy under an explicit prefix.
MAX_USECASE_ID = MAX_PREFIX - 4
# The run's assessment (the bias profile with the missing-value rate of every optional field of every source)
# travels in the Step Functions state, which holds at most 256 KB: 8 sources of 100 fields (data.yaml), all
# with 63-character names, take about 223 KB of it (tests/lambdas/pipeline/test_limits.py measures it).
MAX_SOURCES = 8
MAX_SOURCE_NAME = 63  # like a field name; also a key segment and part of the run ledger's counter names

# Commercial regions whose CloudFormation has all four AWS::Comprehend model and endpoint types
# (cfn-lint's provider schemas; eu-west-1, for one, has only DocumentClassifier).
CUSTOM_SAFETY_MODEL_REGIONS = frozenset({"us-east-1", "us-west-2", "eu-central-1", "ap-south-1"})

Architecture = Literal["direct", "rag", "agent", "multi"]

# Bedrock model ids ("anthropic.claude-3-haiku-20240307-v1:0") and cross-region inference
# profile ids ("us.anthropic.claude-...") share this shape.
_MODEL_ID = worded(
    r"^(?:(?:us|eu|apac|global|jp|au|ca|us-gov)\.)?[a-z0-9-]+\.[a-z0-9.-]+(?::[0-9]+)?(?::[0-9]+k)?$",
    "must look like `provider.model-name-v1:0`, optionally with a profile prefix (`us.`, `eu.`, `global.`)",
)
_ACCOUNT = worded(r"^\d{12}$", "must be 12 digits")
_REGION = worded(r"^[a-z]{2}(-gov)?-[a-z]+-\d$", "must look like an AWS region, e.g. `eu-west-1`")
_EMAIL = worded(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", "must be an email address")
_ID = worded(r"^[a-z0-9][a-z0-9-]*$", "must be lowercase letters, digits and hyphens, starting with a letter or digit")
_PROJECT = worded(
    r"^[a-z][a-z0-9-]{1,18}[a-z0-9]$",
    "must be 3-20 lowercase letters, digits and hyphens, starting with a letter and not ending with a hyphen",
)
_PREFIX = worded(
    r"^[a-z][a-z0-9-]*[a-z0-9]$",
    "must be 2 or more lowercase letters, digits and hyphens, starting with a letter and not ending with a hyphen",
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


class ConfigError(Exception):
    """Configuration problems a person can fix, each one line: where, which field, why.

    ``source``, ``field`` and ``reason`` describe the first problem; ``problems`` holds all of them, so a
    file with three mistakes is fixed in one round, not three.
    """

    def __init__(self, source: str, field: str, reason: str, *more: tuple[str, str, str]) -> None:
        self.source, self.field, self.reason = source, field, reason
        self.problems: list[tuple[str, str, str]] = [(source, field, reason), *more]
        super().__init__("\n".join(f"{s}: {f}: {r}" for s, f, r in self.problems))

    @classmethod
    def of(cls, problems: list[tuple[str, str, str]]) -> ConfigError:
        """One error holding every (source, field, reason) problem; there must be at least one."""
        (source, field, reason), *more = problems
        return cls(source, field, reason, *more)


class StrictModel(BaseModel):
    """Base of every config model: unknown fields are errors (typos never pass silently); frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# --------------------------------------------------------------------------------------------
# KitConfig: deployment settings from cdk.json context and `-c key=value` overrides
# --------------------------------------------------------------------------------------------


class Features(StrictModel):
    """Switches for the optional stacks. Foundation (key, access logs, alarm topic) is always deployed."""

    data: bool = Field(True, description="Data stack: evaluation pipeline with PII redaction and bias profile.")
    knowledge: bool = Field(True, description="Knowledge stack: Bedrock knowledge base on the curated data.")
    guardrails: bool = Field(True, description="Guardrails stack: Bedrock guardrail from guardrail.yaml.")
    custom_safety_models: bool = Field(
        False,
        description="Comprehend custom toxicity classifier and entity recognizer with endpoints "
        "(Guardrails stack; endpoints bill per hour while they exist).",
    )

    @model_validator(mode="after")
    def _dependencies(self) -> Features:
        if self.custom_safety_models and not self.guardrails:
            raise ValueError("custom_safety_models needs guardrails")
        if self.knowledge and not self.data:
            raise ValueError("knowledge needs data (it indexes the curated bucket)")
        return self


class Environment(StrictModel):
    """Where one stage deploys. Leave both empty for an environment-agnostic synth."""

    account: Annotated[str, Field(pattern=_ACCOUNT)] | None = Field(None, description="12-digit AWS account id.")
    region: Annotated[str, Field(pattern=_REGION)] | None = Field(None, description="AWS region, e.g. eu-west-1.")


def _dev_only() -> dict[Stage, Environment]:
    return {"dev": Environment(account=None, region=None)}


class KitConfig(StrictModel):
    """Deployment settings. Keys are cdk.json context keys; `-c features.data=false` sets nested ones."""

    project: str = Field(
        "journey",
        pattern=_PROJECT,
        description="The kit's name: the `project` tag and the start of the default name prefix <project>-<usecase>.",
    )
    stage: Literal["dev", "prod", "all"] = Field(
        "dev", description="Stage to synthesize: dev, prod, or all configured."
    )
    usecase: str = Field(
        "customer-retention",
        pattern=_ID,
        max_length=MAX_USECASE_ID,
        description="Folder under usecases/ to deploy (the use case's id: at most 30 characters, so that the "
        "default prefix <project>-<usecase> can fit 34).",
    )
    alarm_email: str | None = Field(
        None,
        pattern=_EMAIL,
        description="Optional address subscribed to the alarm topic.",
    )
    environments: dict[Stage, Environment] = Field(
        default_factory=_dev_only,
        description="Stages that exist, each with an optional account and region.",
    )
    prefix: str | None = Field(
        None,
        pattern=_PREFIX,
        max_length=MAX_PREFIX,
        description="Prefix of every stack and physical name: <prefix>-<stage>-<Part>. Defaults to "
        "<project>-<usecase>, so several use cases deploy side by side in one account; set it when that is "
        f"longer than {MAX_PREFIX} characters.",
    )
    features: Features = Field(default_factory=Features, description="Optional stacks on or off.")
    powertools_layer: Literal["ssm", "arn"] = Field(
        "ssm",
        description="Where functions get the Powertools layer: `ssm`, the public SSM parameter of the pinned "
        "release resolved at deploy time (the parameter must exist in the region: `make deploy` checks it), or "
        "`arn`, the published layer ARN of `powertools_layer_version` (docs/deploy.md).",
    )
    powertools_layer_version: int | None = Field(
        None,
        ge=1,
        description="With `powertools_layer=arn`: the layer version of the pinned aws-lambda-powertools release "
        "(the number at the end of the layer ARN the release's SSM parameter holds; docs/deploy.md).",
    )

    @property
    def name_prefix(self) -> str:
        """What stack and physical names start with (before the stage)."""
        return self.prefix or f"{self.project}-{self.usecase}"

    def cross_field_problems(self) -> list[tuple[str, str]]:
        """(field, reason) for settings that are each valid but do not fit together."""
        problems = []
        if self.stage != "all" and self.stage not in self.environments:
            problems.append(("stage", f"'{self.stage}' has no entry under 'environments'"))
        if self.prefix is None and len(self.name_prefix) > MAX_PREFIX:
            problems.append(
                (
                    "prefix",
                    f"the default '{self.name_prefix}' (<project>-<usecase>) is {len(self.name_prefix)} characters, "
                    f"over {MAX_PREFIX}: set a shorter one with -c prefix=...",
                )
            )
        if self.powertools_layer == "arn" and self.powertools_layer_version is None:
            problems.append(
                (
                    "powertools_layer_version",
                    "required with powertools_layer=arn: the layer version of the pinned Powertools release "
                    "(see docs/deploy.md)",
                )
            )
        if self.powertools_layer == "ssm" and self.powertools_layer_version is not None:
            problems.append(
                ("powertools_layer_version", "only used with powertools_layer=arn (the ssm source pins the release)")
            )
        supported = ", ".join(sorted(CUSTOM_SAFETY_MODEL_REGIONS))
        for stage, environment in sorted(self.environments.items()):
            region = environment.region
            if self.features.custom_safety_models and region and region not in CUSTOM_SAFETY_MODEL_REGIONS:
                problems.append(
                    (
                        f"environments.{stage}.region",
                        f"{region} has no CloudFormation resources for Comprehend custom model endpoints, which "
                        f"features.custom_safety_models needs; use one of {supported}",
                    )
                )
        return problems

    def selected_stages(self) -> list[Stage]:
        """The stages to build: the one asked for, or every configured one for `stage=all`."""
        if self.stage == "all":
            return sorted(self.environments)
        return [self.stage]


# Context keys CDK itself sets; they are not kit settings.
_CDK_CONTEXT_PREFIXES = ("@aws-cdk", "aws:cdk", "aws-cdk", "cdk-", "acknowledged-issue-numbers", "@cdklabs")


def kit_config_from_context(context: Mapping[str, Any], source: str = "cdk.json context") -> KitConfig:
    """Build a `KitConfig` from flat CDK context, expanding dotted keys (`features.data`)."""
    data: dict[str, Any] = {}
    # Nested mappings from cdk.json first, then dotted `-c` overrides on top of them.
    kit_items = [(k, v) for k, v in context.items() if not k.startswith(_CDK_CONTEXT_PREFIXES)]
    for key, value in sorted(kit_items, key=lambda kv: "." in kv[0]):
        node = data
        *parents, leaf = key.split(".")
        for part in parents:
            existing = node.get(part)
            node[part] = dict(existing) if isinstance(existing, Mapping) else {}
            node = node[part]
        node[leaf] = value
    try:
        config = KitConfig.model_validate(data)
    except ValidationError as exc:
        raise validation_error(source, exc, model=KitConfig) from None
    problems = config.cross_field_problems()
    if problems:
        raise ConfigError.of([(source, field, reason) for field, reason in problems])
    return config


# --------------------------------------------------------------------------------------------
# UseCase: the idea and its requirements, from usecases/<id>/usecase.yaml
# --------------------------------------------------------------------------------------------


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
        description="Bedrock model or inference-profile id for generation; checked against stacks/models.yaml "
        "(kind, pinned regions, lifecycle) at synth.",
    )
    embedding: str = Field("amazon.titan-embed-text-v2:0", pattern=_MODEL_ID, description="Bedrock embedding model id.")
    embedding_dimensions: int = Field(
        1024, gt=0, description="Vector size; the sizes each embedding model makes are in stacks/models.yaml."
    )


class EvaluationThresholds(StrictModel):
    """Scores a model's answers on the golden set must reach; the evaluation stage alarms below them."""

    bleu_min: float = Field(ge=0, le=100, description="sacrebleu corpus BLEU, 0-100.")
    rouge_l_min: float = Field(ge=0, le=1, description="ROUGE-L F1, 0-1.")
    wer_max: float = Field(ge=0, le=1, description="Word error rate, 0-1.")
    perplexity_max: float | None = Field(None, gt=1, description="Only where the model returns log-probs.")


class SuccessMetric(StrictModel):
    name: str = Field(min_length=3, description="What is measured.")
    target: str = Field(min_length=1, description="Measurable target, e.g. '+5% retention in 90 days'.")


class UseCase(StrictModel):
    """One idea on the register and what it needs from every later stage."""

    id: str = Field(
        pattern=_ID,
        max_length=MAX_USECASE_ID,
        description="Equals the folder name under usecases/. At most 30 characters: it starts the default name "
        "prefix <project>-<usecase> (at most 34), and the shortest project takes 4 of them.",
    )
    title: str = Field(min_length=3, description="Short name used in stack descriptions and dashboards.")
    owner: str = Field(min_length=2, description="Team accountable for the use case.")
    ideation: Ideation = Field(description="The idea in one of the seed templates.")
    data: DataDescription = Field(description="What data the idea needs.")
    architecture: Architecture = Field(description="Serving pattern: direct model call, RAG, agent or multi-task.")
    models: Models = Field(description="Bedrock models for generation and embeddings.")
    evaluation: EvaluationThresholds = Field(description="Quality gates for automated evaluation.")
    success_metrics: list[SuccessMetric] = Field(min_length=1, description="Business outcomes that define success.")


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


def read_yaml_mapping(path: Path) -> dict[str, Any]:
    """Parse a YAML file that must hold a mapping; syntax errors name the line."""
    source = display_path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "(file)"
        raise ConfigError(source, where, f"invalid YAML: {getattr(exc, 'problem', exc)}") from None
    except UnicodeDecodeError:
        raise ConfigError(source, "(file)", "not UTF-8 text") from None
    if not isinstance(raw, dict):
        raise ConfigError(source, "(file)", f"must be a mapping of fields, got {type(raw).__name__}")
    return raw


def validation_error(
    source: str,
    exc: ValidationError,
    *,
    union_tags: frozenset[str] = frozenset(),
    model: type[BaseModel] | None = None,
) -> ConfigError:
    """Every pydantic error of one file as a `ConfigError` line ``source: dotted.field: reason``.

    ``union_tags`` are the discriminator values pydantic inserts into the location of a tagged-union
    member (e.g. a chunking strategy); they are not fields a person wrote, so they are left out.
    ``model`` (the validated class) lets an unknown key name the field it was probably meant to be.
    """
    return ConfigError.of([_problem(source, error, union_tags, model) for error in exc.errors()])


def _problem(
    source: str, error: ErrorDetails, union_tags: frozenset[str], model: type[BaseModel] | None
) -> tuple[str, str, str]:
    loc = [str(p) for p in error["loc"] if p not in union_tags]
    is_key = bool(loc) and loc[-1] == "[key]"  # a mapping key outside its allowed set
    field = ".".join(loc[:-1] if is_key else loc) or "(root)"
    reason = _reason(error)
    if is_key:
        reason = f"not an allowed key: {reason}"
    if error["type"] == "extra_forbidden":
        known = _fields_at(model, [p for p in error["loc"] if p not in union_tags][:-1]) if model else []
        close = difflib.get_close_matches(loc[-1], known, n=1, cutoff=0.6)
        reason = f"unknown field; did you mean '{close[0]}'?" if close else "unknown field"
        if not close and known:
            reason += f" (known: {', '.join(known)})"
    return source, field, reason


def _reason(error: ErrorDetails) -> str:
    """Pydantic's message in the kit's words: patterns by what they mean, "must be" for "Input should be"."""
    if error["type"] == "missing":
        return "required, but missing"
    if error["type"] == "string_pattern_mismatch":
        pattern = str((error.get("ctx") or {}).get("pattern", ""))
        return PATTERN_WORDS.get(pattern, f"does not have the expected form ({pattern})")
    if error["type"] in ("string_too_long", "too_long"):  # a documented maximum (see the field's description)
        unit = "characters" if error["type"] == "string_too_long" else "items"
        value = error.get("input")
        given = f" (it has {len(value)})" if isinstance(value, str | list | dict) else ""
        return f"must have at most {(error.get('ctx') or {}).get('max_length')} {unit}{given}"
    reason = str(error["msg"]).removeprefix("Value error, ")
    return reason.replace("Input should be", "must be", 1).replace("input should be", "must be", 1)


def _fields_at(model: type[BaseModel], loc: list[int | str]) -> list[str]:
    """The field names of the model found at ``loc`` inside ``model`` (list items and dict values stepped into)."""
    annotation: Any = model
    for part in loc:
        annotation = _without_none(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            field = annotation.model_fields.get(str(part))
            if field is None:
                return []
            annotation = field.annotation
        elif typing.get_origin(annotation) in (list, dict):
            annotation = typing.get_args(annotation)[-1]
        else:
            return []
    annotation = _without_none(annotation)
    return sorted(annotation.model_fields) if isinstance(annotation, type) and issubclass(annotation, BaseModel) else []


def _without_none(annotation: Any) -> Any:
    members = [a for a in typing.get_args(annotation) if a is not type(None)]
    is_optional = type(None) in typing.get_args(annotation) and len(members) == 1
    return members[0] if is_optional else annotation


def display_path(path: Path, root: Path | None = None) -> str:
    """A use-case file as people name it: relative to the folder that holds ``root`` (the repository for
    usecases/); ``root`` defaults to the folder of use cases the file sits in (``<root>/<id>/<file>``)."""
    folder = root if root is not None else path.resolve().parent.parent
    try:
        return str(path.resolve().relative_to(folder.resolve().parent))
    except ValueError:
        return str(path)
