"""`GuardrailPolicy`: usecases/<id>/guardrail.yaml, validated before anything is synthesized.

The policy is the Bedrock guardrail written as data: content filters, denied topics, word filters,
sensitive-information filters, contextual grounding and the blocked messages. Every limit below is
Bedrock's own (CreateGuardrail API); tests/stacks/test_guardrails.py checks each one against the
botocore service model, so a change in the API shows up as a failing test instead of a failed deploy.

Lists are normalized (sorted, de-duplicated, whitespace collapsed) so that `fingerprint()` changes
when, and only when, what the guardrail enforces changes; the stack names its version after it.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from stacks.config import (
    USECASES_DIR,
    ConfigError,
    StrictModel,
    display_path,
    read_yaml_mapping,
    validation_error,
    worded,
)

Strength = Literal["NONE", "LOW", "MEDIUM", "HIGH"]
PiiAction = Literal["BLOCK", "ANONYMIZE"]
HarmCategory = Literal["SEXUAL", "VIOLENCE", "HATE", "INSULTS", "MISCONDUCT"]
HARM_CATEGORIES: tuple[HarmCategory, ...] = ("SEXUAL", "VIOLENCE", "HATE", "INSULTS", "MISCONDUCT")

# Bedrock's PII entity types (GuardrailPiiEntityType in the CreateGuardrail API).
PiiType = Literal[
    "ADDRESS",
    "AGE",
    "AWS_ACCESS_KEY",
    "AWS_SECRET_KEY",
    "CA_HEALTH_NUMBER",
    "CA_SOCIAL_INSURANCE_NUMBER",
    "CREDIT_DEBIT_CARD_CVV",
    "CREDIT_DEBIT_CARD_EXPIRY",
    "CREDIT_DEBIT_CARD_NUMBER",
    "DRIVER_ID",
    "EMAIL",
    "INTERNATIONAL_BANK_ACCOUNT_NUMBER",
    "IP_ADDRESS",
    "LICENSE_PLATE",
    "MAC_ADDRESS",
    "NAME",
    "PASSWORD",
    "PHONE",
    "PIN",
    "SWIFT_CODE",
    "UK_NATIONAL_HEALTH_SERVICE_NUMBER",
    "UK_NATIONAL_INSURANCE_NUMBER",
    "UK_UNIQUE_TAXPAYER_REFERENCE_NUMBER",
    "URL",
    "USERNAME",
    "US_BANK_ACCOUNT_NUMBER",
    "US_BANK_ROUTING_NUMBER",
    "US_INDIVIDUAL_TAX_IDENTIFICATION_NUMBER",
    "US_PASSPORT_NUMBER",
    "US_SOCIAL_SECURITY_NUMBER",
    "VEHICLE_IDENTIFICATION_NUMBER",
]

# CreateGuardrail limits (botocore shapes named in brackets).
MAX_BLOCKED_MESSAGE = 500  # GuardrailBlockedMessaging
MAX_DESCRIPTION = 200  # CreateGuardrailRequest.description
MAX_TOPICS = 30  # GuardrailTopicsConfig
MAX_TOPIC_NAME = 100  # GuardrailTopicName
TOPIC_NAME_PATTERN = worded(  # GuardrailTopicName
    r"^[0-9a-zA-Z\-_ !?.]+$", "must be letters, digits, spaces and - _ ! ? . only"
)
MAX_TOPIC_DEFINITION = 200  # GuardrailTopicDefinition
MAX_TOPIC_EXAMPLES = 5  # GuardrailTopicExamples
MAX_TOPIC_EXAMPLE = 100  # GuardrailTopicExample
MAX_WORDS = 10_000  # GuardrailWordsConfig
MAX_WORD = 100  # GuardrailWordConfig.text
MAX_REGEXES = 30  # GuardrailRegexesConfig
MAX_REGEX_NAME = 100  # GuardrailRegexConfig.name
MAX_REGEX_DESCRIPTION = 1000  # GuardrailRegexConfig.description
MAX_REGEX_PATTERN = 500  # GuardrailRegexConfig.pattern
# Contextual grounding: the API takes 0 <= threshold; the console and docs allow up to 0.99
# (a threshold of 1 would block every answer).
MAX_GROUNDING_THRESHOLD = 0.99


def _one_line(value: str) -> str:
    return " ".join(value.split())


class BlockedMessages(StrictModel):
    """What the user sees instead of a blocked prompt or answer."""

    input: str = Field(min_length=1, max_length=MAX_BLOCKED_MESSAGE, description="Shown instead of a blocked prompt.")
    output: str = Field(min_length=1, max_length=MAX_BLOCKED_MESSAGE, description="Shown instead of a blocked answer.")

    @field_validator("input", "output")
    @classmethod
    def _collapse(cls, value: str) -> str:
        return _one_line(value)


class FilterStrengths(StrictModel):
    """Strength of one content filter on the prompt (input) and on the answer (output)."""

    input: Strength = Field(description="Strength on the prompt.")
    output: Strength = Field(description="Strength on the answer.")


class ContentFilters(StrictModel):
    """All five harm categories must be set explicitly; PROMPT_ATTACK guards the input only."""

    SEXUAL: FilterStrengths
    VIOLENCE: FilterStrengths
    HATE: FilterStrengths
    INSULTS: FilterStrengths
    MISCONDUCT: FilterStrengths
    PROMPT_ATTACK: Strength = Field(
        "HIGH", description="Input strength of the prompt-attack filter; Bedrock requires its output strength NONE."
    )

    @model_validator(mode="after")
    def _prompt_attack_on(self) -> ContentFilters:
        if self.PROMPT_ATTACK == "NONE":
            raise ValueError("PROMPT_ATTACK must be LOW, MEDIUM or HIGH: the kit does not ship without it")
        return self


class DeniedTopic(StrictModel):
    name: str = Field(
        min_length=1, max_length=MAX_TOPIC_NAME, pattern=TOPIC_NAME_PATTERN, description="Unique (ignoring case)."
    )
    definition: str = Field(
        min_length=1, max_length=MAX_TOPIC_DEFINITION, description="What the topic covers; whitespace is collapsed."
    )
    examples: list[Annotated[str, Field(min_length=1, max_length=MAX_TOPIC_EXAMPLE)]] = Field(
        min_length=1, max_length=MAX_TOPIC_EXAMPLES, description="Example prompts that belong to the topic."
    )

    @field_validator("definition")
    @classmethod
    def _collapse(cls, value: str) -> str:
        return _one_line(value)

    @field_validator("examples")
    @classmethod
    def _normalize_examples(cls, value: list[str]) -> list[str]:
        return sorted({_one_line(v) for v in value})


class WordFilters(StrictModel):
    """Custom denied words or phrases plus the managed PROFANITY list."""

    managed_profanity: bool = Field(True, description="Block the words of AWS's managed PROFANITY list.")
    deny: list[Annotated[str, Field(min_length=1, max_length=MAX_WORD)]] = Field(
        default_factory=list, max_length=MAX_WORDS, description="Custom words or phrases to block."
    )

    @field_validator("deny")
    @classmethod
    def _normalize(cls, value: list[str]) -> list[str]:
        return sorted({_one_line(v) for v in value})


class PiiRule(StrictModel):
    """BLOCK or ANONYMIZE, set explicitly for both directions (no defaults: see docs/security.md)."""

    input: PiiAction = Field(description="Action on the prompt.")
    output: PiiAction = Field(description="Action on the answer.")


class RegexRule(StrictModel):
    name: str = Field(min_length=1, max_length=MAX_REGEX_NAME, description="Unique name, shown in assessments.")
    description: str = Field(min_length=1, max_length=MAX_REGEX_DESCRIPTION, description="What the pattern finds.")
    pattern: str = Field(
        min_length=1, max_length=MAX_REGEX_PATTERN, description="Regular expression; must compile (checked at load)."
    )
    input: PiiAction = Field(description="Action on the prompt.")
    output: PiiAction = Field(description="Action on the answer.")

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        # Bedrock evaluates the pattern itself; Python's compiler catches the syntax errors both share.
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"pattern does not compile: {exc}") from None
        return value


class SensitiveInformation(StrictModel):
    pii: dict[PiiType, PiiRule] = Field(
        default_factory=dict, description="Bedrock PII type -> what happens to it on the prompt and on the answer."
    )
    regexes: list[RegexRule] = Field(
        default_factory=list, max_length=MAX_REGEXES, description="Custom patterns, handled like PII types."
    )

    @field_validator("regexes")
    @classmethod
    def _unique_names(cls, value: list[RegexRule]) -> list[RegexRule]:
        names = [r.name for r in value]
        if len(set(names)) != len(names):
            raise ValueError("regex names must be unique")
        return sorted(value, key=lambda r: r.name)


class ContextualGrounding(StrictModel):
    """Answers scoring below these thresholds are blocked (0 disables nothing; 0.99 is the maximum)."""

    grounding: float = Field(
        ge=0, le=MAX_GROUNDING_THRESHOLD, description="Minimum score of an answer's grounding in its sources."
    )
    relevance: float = Field(ge=0, le=MAX_GROUNDING_THRESHOLD, description="Minimum score of an answer's relevance.")


class GuardrailPolicy(StrictModel):
    """One guardrail, as a reviewer reads it in guardrail.yaml."""

    description: str = Field(min_length=1, max_length=MAX_DESCRIPTION, description="The guardrail's description.")
    blocked_messages: BlockedMessages = Field(description="What the user sees instead of a blocked prompt or answer.")
    content_filters: ContentFilters = Field(
        description="Harm-category filters (all five set explicitly) and the prompt-attack filter."
    )
    denied_topics: list[DeniedTopic] = Field(
        default_factory=list, max_length=MAX_TOPICS, description="Topics the guardrail refuses; names are unique."
    )
    words: WordFilters = Field(
        default_factory=WordFilters, description="Custom denied words or phrases plus the managed PROFANITY list."
    )
    sensitive_information: SensitiveInformation = Field(
        default_factory=SensitiveInformation, description="PII types and custom patterns, each blocked or anonymized."
    )
    contextual_grounding: ContextualGrounding | None = Field(
        None, description="Block answers scoring below these thresholds (RAG); no check when absent."
    )

    @field_validator("description")
    @classmethod
    def _collapse(cls, value: str) -> str:
        return _one_line(value)

    @field_validator("denied_topics")
    @classmethod
    def _unique_topics(cls, value: list[DeniedTopic]) -> list[DeniedTopic]:
        names = [t.name.casefold() for t in value]
        if len(set(names)) != len(names):
            raise ValueError("topic names must be unique")
        return sorted(value, key=lambda t: t.name.casefold())

    def normalized(self) -> dict[str, Any]:
        """The policy as plain data with a stable order; what the fingerprint hashes."""
        return self.model_dump(mode="json")

    def fingerprint(self) -> str:
        """sha256 of the normalized policy: equal policies (whatever their YAML order) share it."""
        canonical = json.dumps(self.normalized(), sort_keys=True, separators=(",", ":"), ensure_ascii=True)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def load_guardrail_policy(usecase_id: str, root: Path = USECASES_DIR) -> GuardrailPolicy:
    """Read and validate usecases/<id>/guardrail.yaml; every problem is a one-line `ConfigError`."""
    path = root / usecase_id / "guardrail.yaml"
    return parse_guardrail_policy(read_yaml_mapping(path) if path.is_file() else None, source=display_path(path))


def parse_guardrail_policy(raw: dict[str, Any] | None, *, source: str) -> GuardrailPolicy:
    if raw is None:
        raise ConfigError(source, "(file)", "missing: every use case needs a guardrail policy")
    try:
        return GuardrailPolicy.model_validate(raw)
    except ValidationError as exc:
        raise validation_error(source, exc, model=GuardrailPolicy) from None
