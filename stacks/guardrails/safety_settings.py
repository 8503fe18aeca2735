"""`SafetyConfig`: usecases/<id>/safety.yaml, the runtime safety library's settings, checked at synth.

This is the authors' model (descriptions, one-line errors, the training data of the optional custom
models). The Lambda's settings are the contract lambdas/common/safety/policy.py defines (`SafetySettings`):
`runtime_settings` builds that very model from this one plus the deployed guardrail and endpoint ARNs, so
a field renamed on either side fails mypy here; `GuardrailsStack.safety_settings_json()` writes its JSON.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal, get_args

import aws_cdk as cdk
from common.safety.policy import (
    EntitySettings,
    GuardrailSettings,
    InjectionSettings,
    InputLimits,
    PassageSettings,
    PiiSettings,
    SafetySettings,
    ToxicitySettings,
)
from pydantic import Field, ValidationError, field_validator, model_validator

from stacks.config import USECASES_DIR, Stage, StrictModel, display_path, read_yaml_mapping, validation_error, worded
from stacks.config.comprehend_types import PiiEntityType

ToxicityLabel = Literal[
    "GRAPHIC", "HARASSMENT_OR_ABUSE", "HATE_SPEECH", "INSULT", "PROFANITY", "SEXUAL", "VIOLENCE_OR_THREAT", "TOXICITY"
]
ComprehendPiiType = PiiEntityType  # the name the safety settings and their tests use
Score = Annotated[float, Field(gt=0, le=1)]
Format = Literal["text", "markdown"]


def _default_thresholds() -> dict[ToxicityLabel, float]:
    return {"TOXICITY": 0.7}


_ENTITY_TYPE = r"^[A-Z][A-Z0-9_]{0,63}$"  # Comprehend custom entity type names: upper case by convention
_S3_KEY = worded(r"^[A-Za-z0-9!_.*'()/-]{1,1024}$", "must be an S3 key of 1-1024 letters, digits and ! _ . * ' ( ) / -")


class Limits(StrictModel):
    """What a user message may be: size, format and how Unicode tricks are handled."""

    max_chars: int = Field(4000, ge=1, le=100_000, description="After normalization, in code points.")
    max_tokens: int = Field(1200, ge=1, description="Conservative token estimate of the message.")
    allowed_formats: list[Format] = Field(
        default_factory=lambda: list(get_args(Format)), description="Formats a message may declare."
    )
    confusables: Literal["fold", "reject"] = Field(
        "fold", description="Mixed-script words with look-alike letters: fold to Latin, or reject the message."
    )


class Injection(StrictModel):
    """The prompt-injection prefilter (weighted rules and a linear model, run locally)."""

    threshold: float = Field(0.5, gt=0, le=1, description="Prefilter score at or above which a prompt is blocked.")


class Passages(StrictModel):
    """Retrieved passages (RAG) and agent tool results: the passage detector, and what a hit costs the passage."""

    threshold: float = Field(
        0.5, gt=0, le=1, description="Passage detector score at or above which a segment is flagged."
    )
    action: Literal["remove", "drop"] = Field(
        "remove", description="remove: cut the flagged segments out; drop: drop the whole passage."
    )
    max_removed_share: float = Field(
        0.5, gt=0, le=1, description="With remove: drop the passage instead when more than this share would be cut."
    )


class Toxicity(StrictModel):
    """Comprehend DetectToxicContent on prompts (and the custom classifier, when trained)."""

    enabled: bool = Field(True, description="Run the toxicity check.")
    thresholds: dict[ToxicityLabel, Score] = Field(
        default_factory=_default_thresholds,
        description="Block when a label's score reaches its threshold; unlisted labels never block.",
    )


class Pii(StrictModel):
    """Comprehend DetectPiiEntities on answers: found spans are replaced by `[TYPE]`."""

    enabled: bool = Field(True, description="Run the PII check on answers.")
    entity_types: list[ComprehendPiiType] = Field(
        default_factory=list, description="Comprehend PII types to redact; empty means all."
    )
    min_score: float = Field(0.5, ge=0, le=1, description="Confidence at or above which a span is redacted.")
    language_code: Literal["en", "es"] = Field("en", description="Language Comprehend analyses the text in.")


class Entities(StrictModel):
    """Denied terms (matched locally) and denied entity types (found by the custom entity recognizer)."""

    deny_types: list[str] = Field(
        default_factory=list, description="Custom entity types that block; the entity recognizer must know them."
    )
    deny_terms: list[str] = Field(
        default_factory=list, description="Terms that block, matched case-insensitively on word boundaries."
    )
    min_score: float = Field(0.5, ge=0, le=1, description="Confidence at or above which an entity blocks.")

    @field_validator("deny_types")
    @classmethod
    def _type_names(cls, value: list[str]) -> list[str]:
        for name in value:
            if not re.match(_ENTITY_TYPE, name):
                raise ValueError(f"entity type '{name}' must be upper case letters, digits and _ (max 64)")
        return sorted(set(value))

    @field_validator("deny_terms")
    @classmethod
    def _terms(cls, value: list[str]) -> list[str]:
        terms = sorted({" ".join(t.split()) for t in value})
        if any(not t for t in terms):
            raise ValueError("deny_terms must not contain empty terms")
        return terms


class GuardrailUse(StrictModel):
    """ApplyGuardrail for architectures whose model call does not carry the guardrail itself."""

    apply_on_input: bool = Field(False, description="Apply the deployed guardrail to prompts.")
    apply_on_output: bool = Field(False, description="Apply the deployed guardrail to answers.")


class ToxicityClassifierTraining(StrictModel):
    """A Comprehend document classifier trained from a labelled CSV (label,text per line) in S3."""

    training_csv: str = Field(pattern=_S3_KEY, description="Key in the training bucket.")
    block_labels: list[str] = Field(min_length=1, description="Classes that mean 'toxic' for this use case.")
    threshold: float = Field(0.5, gt=0, le=1, description="Score of a blocking class at or above which text blocks.")
    inference_units: int = Field(1, ge=1, le=10, description="Endpoint capacity; billed per second while it exists.")


class EntityRecognizerTraining(StrictModel):
    """A Comprehend custom entity recognizer trained from documents plus an entity list in S3."""

    entity_types: list[str] = Field(min_length=1, max_length=25, description="Entity types to train on.")
    documents: str = Field(pattern=_S3_KEY, description="Key of the training documents (one per line).")
    entity_list: str = Field(pattern=_S3_KEY, description="Key of the entity list CSV (Text,Type).")
    inference_units: int = Field(1, ge=1, le=10, description="Endpoint capacity; billed per second while it exists.")


class CustomModels(StrictModel):
    """Only read with `features.custom_safety_models` on. Training needs its data in the stack's own bucket, so
    it is a second step: a stage not in `train` gets the training-data bucket only (docs/security.md)."""

    train: list[Stage] = Field(
        default_factory=list,
        description="Stages whose training-data bucket already holds the files below: only these train the models "
        "and run their endpoints; the others get the bucket alone.",
    )
    toxicity_classifier: ToxicityClassifierTraining | None = Field(
        None, description="A document classifier for toxicity, trained from a labelled CSV."
    )
    entity_recognizer: EntityRecognizerTraining | None = Field(
        None, description="A custom entity recognizer, trained from documents and an entity list."
    )

    @field_validator("train")
    @classmethod
    def _stages(cls, value: list[Stage]) -> list[Stage]:
        return sorted(set(value))

    @model_validator(mode="after")
    def _something_to_train(self) -> CustomModels:
        if self.train and self.toxicity_classifier is None and self.entity_recognizer is None:
            raise ValueError("train names stages but neither toxicity_classifier nor entity_recognizer is defined")
        return self


class SafetyConfig(StrictModel):
    """The runtime safety library's settings for one use case, plus the training data of its custom models."""

    limits: Limits = Field(default_factory=Limits, description="What a user message may be.")
    injection: Injection = Field(default_factory=Injection, description="The prompt-injection prefilter.")
    passages: Passages = Field(
        default_factory=Passages, description="Indirect injection: retrieved passages and tool results."
    )
    toxicity: Toxicity = Field(default_factory=Toxicity, description="Toxicity check of prompts.")
    pii: Pii = Field(default_factory=Pii, description="PII redaction of answers.")
    entities: Entities = Field(default_factory=Entities, description="Denied terms and entity types.")
    guardrail: GuardrailUse = Field(
        default_factory=GuardrailUse, description="Where the library itself applies the deployed guardrail."
    )
    fail_open: bool = Field(False, description="If a remote check errors: false blocks, true lets the text through.")
    check_timeout_seconds: float = Field(
        3.0, gt=0, le=30, description="Time each remote check may take before it counts as an error."
    )
    custom_models: CustomModels = Field(
        default_factory=CustomModels,
        description="Comprehend custom models (with `features.custom_safety_models`): what to train, in which stages.",
    )

    @model_validator(mode="after")
    def _recognizer_covers_denied_types(self) -> SafetyConfig:
        recognizer = self.custom_models.entity_recognizer
        if recognizer is not None:
            missing = sorted(set(self.entities.deny_types) - set(recognizer.entity_types))
            if missing:
                raise ValueError(f"entities.deny_types {missing} are not types the entity recognizer is trained on")
        return self

    def runtime_settings(
        self,
        *,
        guardrail_identifier: str | None = None,
        guardrail_version: str = "DRAFT",
        classifier_endpoint_arn: str | None = None,
        recognizer_endpoint_arn: str | None = None,
    ) -> SafetySettings:
        """The settings the Lambda parses, built as its own model (the ids and ARNs may be CDK tokens).

        At synth the guardrail id and version and the endpoint ARNs are tokens ("${Token[TOKEN.42]}") that the
        model's id and ARN patterns rightly reject. So the model is validated whole with a well-formed stand-in
        in each such place, which checks every value from safety.yaml and every cross-field rule (applying the
        guardrail needs its identifier), and then the tokens replace the stand-ins unvalidated
        (`model_copy(update=...)`). Their format is checked where it is known: the function validates the
        deployed values when it parses the JSON. A value that is not a token is validated as given.
        """
        tokens: dict[str, dict[str, str]] = {}  # section -> field -> token

        def checkable(section: str, name: str, value: str | None, stand_in: str) -> str | None:
            if value is None or not cdk.Token.is_unresolved(value):
                return value
            tokens.setdefault(section, {})[name] = value
            return stand_in

        classifier = self.custom_models.toxicity_classifier
        if classifier is None or classifier_endpoint_arn is None:
            toxicity = ToxicitySettings(enabled=self.toxicity.enabled, thresholds=dict(self.toxicity.thresholds))
        else:
            toxicity = ToxicitySettings(
                enabled=self.toxicity.enabled,
                thresholds=dict(self.toxicity.thresholds),
                classifier_endpoint_arn=checkable(
                    "toxicity", "classifier_endpoint_arn", classifier_endpoint_arn, _STAND_IN_CLASSIFIER
                ),
                classifier_block_labels=frozenset(classifier.block_labels),
                classifier_threshold=classifier.threshold,
            )
        settings = SafetySettings(
            limits=InputLimits(
                max_chars=self.limits.max_chars,
                max_tokens=self.limits.max_tokens,
                allowed_formats=frozenset(self.limits.allowed_formats),
                confusables=self.limits.confusables,
            ),
            injection=InjectionSettings(threshold=self.injection.threshold),
            passages=PassageSettings(
                threshold=self.passages.threshold,
                action=self.passages.action,
                max_removed_share=self.passages.max_removed_share,
            ),
            toxicity=toxicity,
            pii=PiiSettings(
                enabled=self.pii.enabled,
                entity_types=frozenset(self.pii.entity_types),
                min_score=self.pii.min_score,
                language_code=self.pii.language_code,
            ),
            entities=EntitySettings(
                endpoint_arn=checkable("entities", "endpoint_arn", recognizer_endpoint_arn, _STAND_IN_RECOGNIZER),
                deny_types=frozenset(self.entities.deny_types),
                deny_terms=frozenset(self.entities.deny_terms),
                min_score=self.entities.min_score,
            ),
            guardrail=GuardrailSettings(
                apply_on_input=self.guardrail.apply_on_input,
                apply_on_output=self.guardrail.apply_on_output,
                identifier=checkable("guardrail", "identifier", guardrail_identifier, _STAND_IN_GUARDRAIL),
                version=checkable("guardrail", "version", guardrail_version, _STAND_IN_VERSION),
            ),
            fail_open=self.fail_open,
            check_timeout_seconds=self.check_timeout_seconds,
        )
        return settings.model_copy(
            update={section: getattr(settings, section).model_copy(update=fields) for section, fields in tokens.items()}
        )


# Well-formed values that stand where a deploy-time token goes while the runtime model is validated.
_STAND_IN_GUARDRAIL = "standin"
_STAND_IN_VERSION = "1"
_STAND_IN_CLASSIFIER = "arn:aws:comprehend:us-east-1:000000000000:document-classifier-endpoint/standin"
_STAND_IN_RECOGNIZER = "arn:aws:comprehend:us-east-1:000000000000:entity-recognizer-endpoint/standin"


def load_safety_config(usecase_id: str, root: Path = USECASES_DIR) -> SafetyConfig:
    """Read and validate usecases/<id>/safety.yaml (optional: defaults apply when it is absent)."""
    path = root / usecase_id / "safety.yaml"
    if not path.is_file():
        return SafetyConfig()
    source = display_path(path)
    try:
        return SafetyConfig.model_validate(read_yaml_mapping(path))
    except ValidationError as exc:
        raise validation_error(source, exc, model=SafetyConfig) from None
