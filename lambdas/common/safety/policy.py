"""`SafetySettings`: everything the safety library needs, as plain frozen data.

The handler builds it once per container (``SafetySettings.from_environment(os.environ)``); the
checks only ever receive it as an argument. This is the contract between the Guardrails stack and the
function: the stack builds this very model from usecases/<id>/safety.yaml (`SafetyConfig.runtime_settings`
in stacks/guardrails/safety_settings.py) plus the deployed guardrail and endpoint ARNs, and writes its JSON.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, model_validator

if TYPE_CHECKING:
    from common.safety.passages import PassagePolicy

ENVIRONMENT_VARIABLE = "SAFETY_SETTINGS"

# Labels of Comprehend DetectToxicContent, plus TOXICITY for the overall score it returns.
ToxicityLabel = Literal[
    "GRAPHIC", "HARASSMENT_OR_ABUSE", "HATE_SPEECH", "INSULT", "PROFANITY", "SEXUAL", "VIOLENCE_OR_THREAT", "TOXICITY"
]
Format = Literal["text", "markdown"]
Cause = Literal["validation", "prefilter", "toxicity", "entity", "guardrail", "pii"]
Stage = Literal["input", "output"]

_ENDPOINT_CLASSIFIER = r"^arn:aws[a-z-]*:comprehend:[a-z0-9-]+:\d{12}:document-classifier-endpoint/[A-Za-z0-9-]+$"
_ENDPOINT_RECOGNIZER = r"^arn:aws[a-z-]*:comprehend:[a-z0-9-]+:\d{12}:entity-recognizer-endpoint/[A-Za-z0-9-]+$"


_T = TypeVar("_T")
# A set is written as a sorted list: a frozenset iterates in an order that follows the process's string-hash
# seed, and the JSON the stack writes must be the same in every synth.
SortedSet = Annotated[frozenset[_T], PlainSerializer(sorted, return_type=list, when_used="json")]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class InputLimits(_Frozen):
    """What a user message may be: size, format and how Unicode tricks are handled."""

    max_chars: int = Field(4000, ge=1, le=100_000, description="After normalization, in code points.")
    max_tokens: int = Field(1200, ge=1, description="Conservative token estimate (see validation.estimate_tokens).")
    allowed_formats: SortedSet[Format] = frozenset({"text", "markdown"})
    confusables: Literal["fold", "reject"] = Field(
        "fold", description="Mixed-script words with look-alike letters: fold to Latin, or reject the message."
    )


class InjectionSettings(_Frozen):
    threshold: float = Field(0.5, gt=0, le=1, description="Prefilter score at or above which a prompt is blocked.")


class PassageSettings(_Frozen):
    """Retrieved passages and tool results: the passage detector (passage.py) and what happens to a hit."""

    threshold: float = Field(
        0.5, gt=0, le=1, description="Passage detector score at or above which a segment is flagged."
    )
    action: Literal["remove", "drop"] = Field(
        "remove", description="remove: cut the flagged segments out of the passage; drop: drop the whole passage."
    )
    max_removed_share: float = Field(
        0.5, gt=0, le=1, description="With remove: drop the passage instead when more than this share would be cut."
    )

    def policy(self) -> PassagePolicy:
        """The policy `passages.screen_passage` takes (imported here: the stack builds these settings at synth
        and need not load the detector's weights)."""
        from common.safety.passages import PassagePolicy  # noqa: PLC0415

        return PassagePolicy(threshold=self.threshold, action=self.action, max_removed_share=self.max_removed_share)


class ToxicitySettings(_Frozen):
    enabled: bool = True
    thresholds: Mapping[ToxicityLabel, float] = Field(
        default_factory=lambda: {"TOXICITY": 0.7},  # type: ignore[arg-type]
        description="Block when a label's score reaches its threshold; labels not listed never block.",
    )
    classifier_endpoint_arn: str | None = Field(None, pattern=_ENDPOINT_CLASSIFIER)
    classifier_block_labels: SortedSet[str] = frozenset({"toxic"})
    classifier_threshold: float = Field(0.5, gt=0, le=1)

    @model_validator(mode="after")
    def _thresholds_in_range(self) -> ToxicitySettings:
        for label, value in self.thresholds.items():
            if not 0 < value <= 1:
                raise ValueError(f"threshold for {label} must be in (0, 1]")
        return self


class PiiSettings(_Frozen):
    enabled: bool = True
    entity_types: SortedSet[str] = Field(frozenset(), description="Comprehend PII types to redact; empty = all.")
    min_score: float = Field(0.5, ge=0, le=1)
    language_code: Literal["en", "es"] = "en"


class EntitySettings(_Frozen):
    endpoint_arn: str | None = Field(None, pattern=_ENDPOINT_RECOGNIZER)
    deny_types: SortedSet[str] = frozenset()
    deny_terms: SortedSet[str] = Field(frozenset(), description="Matched case-insensitively on word boundaries.")
    min_score: float = Field(0.5, ge=0, le=1)


class GuardrailSettings(_Frozen):
    """ApplyGuardrail for architectures whose model call does not carry the guardrail itself."""

    identifier: str | None = Field(
        None, pattern=r"^(?:[a-z0-9]+|arn:aws[a-z-]*:bedrock:[a-z0-9-]+:\d{12}:guardrail/[a-z0-9]+)$"
    )
    version: str = Field("DRAFT", pattern=r"^(?:[1-9][0-9]{0,7}|DRAFT)$")
    apply_on_input: bool = False
    apply_on_output: bool = False

    @model_validator(mode="after")
    def _identifier_when_applied(self) -> GuardrailSettings:
        if (self.apply_on_input or self.apply_on_output) and not self.identifier:
            raise ValueError("apply_on_input/apply_on_output need the guardrail identifier")
        return self


class SafetySettings(_Frozen):
    limits: InputLimits = Field(default_factory=InputLimits)
    injection: InjectionSettings = Field(default_factory=InjectionSettings)
    passages: PassageSettings = Field(default_factory=PassageSettings)
    toxicity: ToxicitySettings = Field(default_factory=ToxicitySettings)
    pii: PiiSettings = Field(default_factory=PiiSettings)
    entities: EntitySettings = Field(default_factory=EntitySettings)
    guardrail: GuardrailSettings = Field(default_factory=GuardrailSettings)
    fail_open: bool = Field(False, description="If a remote check errors: False blocks, True lets the text through.")
    check_timeout_seconds: float = Field(3.0, gt=0, le=30)

    @classmethod
    def from_environment(cls, environment: Mapping[str, str]) -> SafetySettings:
        """Parse the JSON the stack put in ``SAFETY_SETTINGS`` (the handler passes ``os.environ``)."""
        return cls.model_validate_json(environment[ENVIRONMENT_VARIABLE])
