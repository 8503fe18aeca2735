"""Data-evaluation settings of a use case, from usecases/<id>/data.yaml.

`UseCase.data.sources` (stacks/config/usecase.py) names the sources a use case needs and their formats; this
file says what a valid record of each source is (fields, types, sizes), what happens to each PII entity
type (mask, drop or salted hash), which group fields the bias profile compares with which reference
distribution, and the thresholds that turn the profile into PASS, WARN or FAIL.

`DataSettings.contract()` builds what the pipeline Lambdas receive: the settings contract defined once in
lambdas/pipeline/contract.py, which the functions parse. Each function gets its slice
(`FUNCTION_SECTIONS`) as one file in the Data stack's settings layer (stacks/common/settings_layer.py),
not the 4 KB environment.

Maxima that follow from limits elsewhere are stated on the fields (and so in the generated reference in
docs/data.md): fields per source and name lengths (the run's assessment in the 256 KB Step Functions
state, see `MAX_SOURCES` in stacks/config/usecase.py), and the counters one object adds to the run ledger.
"""

from __future__ import annotations

import math
import re
import typing
from pathlib import Path
from typing import Any, Literal

from pipeline import contract
from pipeline.contract import PipelineSettings
from pydantic import Field, ValidationError, model_validator

from stacks.config import (
    MAX_SOURCE_NAME,
    MAX_SOURCES,
    USECASES_DIR,
    ConfigError,
    StrictModel,
    UseCase,
    display_path,
    field_error,
    read_yaml_mapping,
    validation_error,
)
from stacks.config.comprehend_types import PiiEntityType

DATA_FILE = "data.yaml"

# 8 sources (MAX_SOURCES) of 100 fields keep the run's assessment within the Step Functions state (256 KB).
MAX_FIELDS_PER_SOURCE = 100
# One object's counts are added to the run ledger in one DynamoDB update of at most this many counters
# (lambdas/pipeline/ledger.py MAX_COUNTERS; its 4 KB update-expression limit).
MAX_LEDGER_COUNTERS = 250
# Counters every object of a source adds: objects, rows_in, records_in, skipped_blank, quarantined, passed,
# objects_quarantined, dedupe|<source>|<rule>, encoding|<source>|<encoding>, repeated|<source>,
# valid|<source> and pii_records|<source> (lambdas/pipeline/profile.py `object_counts`).
FIXED_COUNTERS = 12
# CSV delimiters by name (a tab is hard to see in YAML).
DELIMITERS = {"comma": ",", "tab": "\t", "semicolon": ";"}
FieldType = Literal["string", "integer", "number", "boolean", "date", "datetime"]
PiiAction = Literal["mask", "drop", "hash"]
# Languages DetectPiiEntities supports.
PiiLanguage = Literal["en", "es"]
# DetectPiiEntities rejects documents over 100 KB of UTF-8.
COMPREHEND_MAX_BYTES = 100_000
_NAME = r"^[a-z][a-z0-9_]{0,62}$"
PII_ENTITY_TYPES = len(typing.get_args(PiiEntityType))


class FieldSpec(StrictModel):
    """One field of a structured record."""

    type: FieldType = Field(description="string, integer, number, boolean, date (ISO 8601) or datetime.")
    required: bool = Field(False, description="A record without it is quarantined; optional fields are profiled.")
    max_length: int | None = Field(None, ge=1, description="Strings: maximum length in characters.")
    minimum: float | None = Field(None, description="Numbers: smallest allowed value.")
    maximum: float | None = Field(None, description="Numbers: largest allowed value.")
    allowed: list[str] | None = Field(None, min_length=1, description="Strings: the only values accepted.")
    pii: PiiEntityType | None = Field(None, description="The whole value is this PII type (no detection needed).")
    scan: bool = Field(False, description="Free text: detect PII in it with Comprehend.")

    @model_validator(mode="after")
    def _options_fit_the_type(self) -> FieldSpec:
        if self.type != "string" and (self.max_length or self.allowed or self.pii or self.scan):
            raise ValueError("max_length, allowed, pii and scan apply to string fields only")
        if self.type not in ("integer", "number") and (self.minimum is not None or self.maximum is not None):
            raise ValueError("minimum and maximum apply to integer and number fields only")
        if self.pii and self.scan:
            raise ValueError("a field is either entirely one PII type (pii) or free text to scan (scan), not both")
        if self.minimum is not None and self.maximum is not None and self.minimum > self.maximum:
            raise ValueError("minimum is greater than maximum")
        return self


# How each format may reach the knowledge base under curated documents/ (the first is the default). A
# Bedrock knowledge base parses .txt, .md and .csv but not JSON lines, so JSONL is rendered; `none` keeps a
# source out of the knowledge base (its records are still published under records/).
KNOWLEDGE_RENDERINGS: dict[str, tuple[str, ...]] = {
    "jsonl": ("markdown", "csv", "none"),
    "csv": ("native", "markdown", "none"),
    "text": ("native", "none"),
}


class SourceSpec(StrictModel):
    """Schema of one source. Text sources are whole documents, scanned for PII; they have no fields."""

    format: Literal["jsonl", "csv", "text"] = Field(description="Must equal the format in usecase.yaml.")
    fields: dict[str, FieldSpec] = Field(
        default_factory=dict,
        max_length=MAX_FIELDS_PER_SOURCE,
        description="Field name (lowercase letters, digits and _, at most 63) -> its spec. At most 100 per source: "
        "the run's assessment lists every optional field and travels in the Step Functions state (256 KB).",
    )
    knowledge: Literal["native", "markdown", "csv", "none"] = Field(
        "native",
        description="How the source reaches the knowledge base: native (text and CSV as they are), markdown "
        "(one document per object, a section per record), csv (the schema's columns) or none. "
        "Default: markdown for jsonl, native otherwise.",
    )

    key: list[str] | None = Field(
        None,
        min_length=1,
        description="The required field(s) that identify a record, e.g. [customer_id]. Duplicates by key are "
        "quarantined naming the first record, within an object and across the dataset.",
    )
    dedupe: Literal["key", "records", "none"] | None = Field(
        None,
        description="What a duplicate is: key (same key; needs `key`), records (same whole record) or none "
        "(whole-record repeats are kept and counted as repeated_records). Default: key when a key is declared, "
        "else none: without a key two equal rows may be two real events.",
    )
    encoding: Literal["utf-8", "latin-1", "cp1252", "utf-16", "auto"] = Field(
        "utf-8",
        description="How objects are decoded; auto: UTF-8 when it decodes, else detected by charset-normalizer "
        "(the encoding used is in the run report).",
    )
    delimiter: Literal["comma", "tab", "semicolon"] = Field("comma", description="CSV only: between cells.")
    ignore_columns: list[str] = Field(
        default_factory=list,
        description='CSV only: header names dropped with their cells, e.g. [""] for a pandas index column.',
    )
    match_header: Literal["exact", "loose"] = Field(
        "exact",
        description="CSV only: exact (names as the fields, surrounding spaces ignored) or loose (also ignores "
        "case and surrounding quotes; inner spaces, dots and hyphens read as _: 'Total Bill' is total_bill).",
    )

    @model_validator(mode="before")
    @classmethod
    def _default_knowledge_rendering(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("knowledge") is None and data.get("format") in KNOWLEDGE_RENDERINGS:
            return {**data, "knowledge": KNOWLEDGE_RENDERINGS[data["format"]][0]}
        return data

    @model_validator(mode="after")
    def _fields_fit_the_format(self) -> SourceSpec:
        if self.knowledge not in KNOWLEDGE_RENDERINGS[self.format]:
            raise ValueError(
                f"knowledge '{self.knowledge}' does not fit {self.format} sources "
                f"(one of: {', '.join(KNOWLEDGE_RENDERINGS[self.format])})"
            )
        if self.format == "text" and self.fields:
            raise ValueError("text sources are whole documents and take no fields")
        if self.format != "text" and not self.fields:
            raise ValueError(f"{self.format} sources need at least one field")
        for name in self.fields:
            if not _matches(_NAME, name):
                raise ValueError(f"field name '{name}' must match {_NAME}")
        return self._reading_fits_the_fields()

    def _reading_fits_the_fields(self) -> SourceSpec:
        """Key, dedupe rule and CSV dialect refer to real fields and fit the format."""
        for name in self.key or ():
            field = self.fields.get(name)
            if field is None:
                raise ValueError(f"key field '{name}' is not a field of the source")
            if not field.required:
                raise ValueError(f"key field '{name}' must be required: a record without it has no key")
        if self.key and len(set(self.key)) != len(self.key):
            raise ValueError("key names a field twice")
        if self.dedupe == "key" and not self.key:
            raise ValueError("dedupe: key needs the key fields (key: [field, ...])")
        dialect = {"delimiter", "ignore_columns", "match_header"} & self.model_fields_set
        if self.format != "csv" and dialect:
            raise ValueError(f"{', '.join(sorted(dialect))} apply to csv sources only")
        clashes = [name for name in self.ignore_columns if name.strip().lower() in self.fields]
        if clashes:
            raise ValueError(f"ignore_columns names field(s) of the schema: {clashes}")
        return self


class Limits(StrictModel):
    max_object_bytes: int = Field(
        50 * 1024 * 1024,
        ge=1,
        le=4 * 1024**3,
        description="Larger objects are quarantined whole, but for CSV and JSONL objects, which are split into "
        "parts instead (row_fanout_bytes, max_fanout_object_bytes). A .gz object read whole may expand to at most "
        "this much.",
    )
    max_record_bytes: int = Field(64 * 1024, ge=64, le=16 * 1024 * 1024, description="One JSONL line or CSV row.")
    max_document_bytes: int = Field(1024 * 1024, ge=64, le=64 * 1024 * 1024, description="One text document.")
    row_fanout_bytes: int = Field(
        8 * 1024 * 1024,
        ge=1024,
        le=4 * 1024**3,
        description="CSV and JSONL objects stored larger than this are streamed and split at record boundaries "
        "into parts of at most this many bytes (a longer record alone), each validated and redacted by its own "
        "Lambda on a Distributed Map; below max_object_bytes.",
    )
    max_fanout_object_bytes: int = Field(
        10 * 1024**3,
        ge=1024,
        le=100 * 1024**3,
        description="The largest CSV or JSONL object split into parts (its stored size, and a .gz object's "
        "decompressed size); a larger one is quarantined whole, counted as one record. One Lambda streams the "
        "split within its 15 minutes (docs/data.md, Big objects); at least row_fanout_bytes.",
    )

    @model_validator(mode="after")
    def _fanout_below_the_object_limit(self) -> Limits:
        if self.row_fanout_bytes >= self.max_object_bytes:
            raise ValueError(
                f"row_fanout_bytes ({self.row_fanout_bytes}) must be below max_object_bytes ({self.max_object_bytes})"
            )
        if self.max_fanout_object_bytes < self.row_fanout_bytes:
            raise ValueError(
                f"max_fanout_object_bytes ({self.max_fanout_object_bytes}) must be at least row_fanout_bytes "
                f"({self.row_fanout_bytes})"
            )
        return self


class PiiSettings(StrictModel):
    language: PiiLanguage = Field("en", description="Language of the text DetectPiiEntities reads.")
    min_score: float = Field(0.5, ge=0, le=1, description="Entities Comprehend scores lower are not PII.")
    chunk_bytes: int = Field(
        90_000, ge=1_000, le=COMPREHEND_MAX_BYTES, description="UTF-8 bytes per request (Comprehend takes 100 KB)."
    )
    default_action: PiiAction = Field("mask", description="For entity types `actions` does not list.")
    actions: dict[PiiEntityType, PiiAction] = Field(
        default_factory=dict, description="Comprehend entity type -> mask, drop (the field) or hash (salted HMAC)."
    )


class GroupSpec(StrictModel):
    reference: dict[str, float] = Field(
        min_length=2,
        description="Expected share of each value in the population the model will serve, summing to 1: from a "
        "census or official survey, the CRM's customer base, HR headcount and the like; name the source and date "
        "in a comment. Values are compared as text: quote Yes, No, On, Off and numbers.",
    )

    @model_validator(mode="after")
    def _is_a_distribution(self) -> GroupSpec:
        if any(not 0 < share <= 1 for share in self.reference.values()):
            raise ValueError("every reference share must be in (0, 1]")
        if not math.isclose(sum(self.reference.values()), 1.0, abs_tol=1e-6):
            raise ValueError(f"reference shares must sum to 1, got {sum(self.reference.values()):.6f}")
        return self


OUTCOME_TYPES = ("boolean", "integer", "string")


class Outcome(StrictModel):
    field: str = Field(description="A non-PII boolean, integer or string field of the profiled source.")
    positive: bool | int | str = Field(
        description="The favourable value, of the field's type: true/false unquoted for a boolean field, a number "
        "for an integer one, one of `allowed` for a string one (quote Yes/No). A run where no compared record "
        "or every one has it reports parity as undefined (WARN)."
    )


class BelowBand(StrictModel):
    """WARN below ``warn_below``; FAIL below ``fail_below`` (omit to never fail on this figure)."""

    warn_below: float = Field(description="WARN below this value.")
    fail_below: float | None = Field(None, description="FAIL below this value (omit: never FAIL).")

    @model_validator(mode="after")
    def _ordered(self) -> BelowBand:
        if self.fail_below is not None and self.fail_below > self.warn_below:
            raise ValueError("fail_below must not be above warn_below")
        return self


class AboveBand(StrictModel):
    """WARN above ``warn_above``; FAIL above ``fail_above`` (omit to never fail on this figure)."""

    warn_above: float = Field(description="WARN above this value.")
    fail_above: float | None = Field(None, description="FAIL above this value (omit: never FAIL).")

    @model_validator(mode="after")
    def _ordered(self) -> AboveBand:
        if self.fail_above is not None and self.fail_above < self.warn_above:
            raise ValueError("fail_above must not be below warn_above")
        return self


FailOn = Literal["interval", "estimate"]
FAIL_ON = (
    "What must be past the fail limit to FAIL: interval (the whole confidence interval, so noise cannot fail "
    "the gate; an estimate past it alone is WARN) or estimate (the point value)."
)


class IntervalAboveBand(AboveBand):
    """An above-band of a figure with a confidence interval."""

    fail_on: FailOn = Field("interval", description=FAIL_ON)


class IntervalBelowBand(BelowBand):
    """A below-band of a figure with a confidence interval."""

    fail_on: FailOn = Field("interval", description=FAIL_ON)


class Thresholds(StrictModel):
    chi_square_p: BelowBand = Field(
        default_factory=lambda: BelowBand(warn_below=0.01), description="Chi-square p-value of groups vs reference."
    )
    psi: IntervalAboveBand = Field(
        default_factory=lambda: IntervalAboveBand(warn_above=0.1, fail_above=0.25),
        description="Population stability index (interval: BCa bootstrap).",
    )
    parity_difference: IntervalAboveBand = Field(
        default_factory=lambda: IntervalAboveBand(warn_above=0.1, fail_above=0.2),
        description="Demographic-parity difference of the outcome rate (interval: Newcombe, Bonferroni over pairs).",
    )
    disparate_impact: IntervalBelowBand = Field(
        default_factory=lambda: IntervalBelowBand(warn_below=0.8, fail_below=0.6),
        description="Disparate-impact ratio of the outcome rate (interval: Katz log, Bonferroni over pairs).",
    )
    missing_rate: AboveBand = Field(
        default_factory=lambda: AboveBand(warn_above=0.05, fail_above=0.2),
        description="Share of records without an optional field, every source.",
    )


class ProfileSpec(StrictModel):
    source: str = Field(description="The source whose records the bias profile compares.")
    outcome: Outcome | None = Field(None, description="The favourable outcome, for parity per group.")
    min_records: int = Field(30, ge=1, description="Fewer records in a group field: reported, only WARN.")
    min_records_per_value: int = Field(
        30,
        ge=1,
        description="A value with fewer records is reported as too small and left out of the parity figures "
        "(at 13 records one value alone can drive disparate impact to 0.48).",
    )
    confidence: float = Field(0.95, ge=0.8, le=0.999, description="Confidence level of every interval.")
    groups: dict[str, GroupSpec] = Field(
        min_length=1,
        description="Group field (a plain string field of the source: not PII, not scanned) -> its reference.",
    )
    thresholds: Thresholds = Field(default_factory=Thresholds, description="When a figure is WARN or FAIL.")


class Monitoring(StrictModel):
    quarantine_rate_alarm: float = Field(0.05, gt=0, le=1, description="Alarm above this share of a run's records.")


class DataSettings(StrictModel):
    """Everything the data-evaluation stage needs from a use case."""

    map_concurrency: int = Field(20, ge=1, le=10_000, description="Distributed Map MaxConcurrency.")
    limits: Limits = Field(default_factory=Limits, description="Sizes past which input is quarantined.")
    pii: PiiSettings = Field(default_factory=PiiSettings, description="How PII is found and what happens to it.")
    sources: dict[str, SourceSpec] = Field(
        min_length=1,
        max_length=MAX_SOURCES,
        description="Source name -> its schema; exactly the sources of usecase.yaml (at most 8, same formats).",
    )
    profile: ProfileSpec | None = Field(None, description="The bias profile; omit for none.")
    monitoring: Monitoring = Field(default_factory=Monitoring, description="Alarm thresholds.")

    @model_validator(mode="after")
    def _profile_refers_to_real_fields(self) -> DataSettings:
        for name in self.sources:
            if not _matches(r"^[a-z0-9_]+$", name) or len(name) > MAX_SOURCE_NAME:
                raise ValueError(
                    f"source name '{name}' must match ^[a-z0-9_]+$ and have at most {MAX_SOURCE_NAME} characters"
                )
        for name in self.sources:
            counters = self.ledger_counters(name)
            if counters > MAX_LEDGER_COUNTERS:
                raise ValueError(
                    f"an object of source '{name}' could add {counters} counters to the run ledger "
                    f"({FIXED_COUNTERS}, one per "
                    f"optional field, {PII_ENTITY_TYPES} PII types and the profile's groups), over the "
                    f"{MAX_LEDGER_COUNTERS} one update takes: make fields required, or profile fewer groups or values"
                )
        if self.profile is None:
            return self
        source = self.sources.get(self.profile.source)
        if source is None:
            raise ValueError(f"profile.source '{self.profile.source}' is not one of the sources")
        for group, spec in self.profile.groups.items():
            field = source.fields.get(group)
            if field is None:
                raise ValueError(f"profile group '{group}' is not a field of source '{self.profile.source}'")
            if field.type != "string" or field.pii or field.scan:
                raise ValueError(f"profile group '{group}' must be a plain string field (not PII, not free text)")
            if field.allowed is not None and not set(spec.reference) <= set(field.allowed):
                unknown = sorted(set(spec.reference) - set(field.allowed))
                raise ValueError(f"profile group '{group}' reference names values the schema forbids: {unknown}")
        outcome = self.profile.outcome
        if outcome is not None:
            field = source.fields.get(outcome.field)
            if field is None or field.pii or field.scan:
                raise ValueError(
                    f"profile outcome '{outcome.field}' must be a non-PII field of '{self.profile.source}'"
                )
            _check_positive(outcome, field)
        return self

    def ledger_counters(self, source: str) -> int:
        """The most counters one object of ``source`` adds to the run ledger (lambdas/pipeline/profile.py)."""
        spec = self.sources[source]
        optional = sum(1 for field in spec.fields.values() if not field.required)
        counters = FIXED_COUNTERS + optional + PII_ENTITY_TYPES
        if self.profile is not None and self.profile.source == source:
            per_value = 2 if self.profile.outcome is not None else 1  # group|... and positive|...
            # Each reference value, (other) and (missing).
            counters += sum((len(group.reference) + 2) * per_value for group in self.profile.groups.values())
        return counters

    def contract(self) -> PipelineSettings:
        """The settings contract of the pipeline functions (lambdas/pipeline/contract.py), every section given.

        Each function's settings file holds `contract().only(FUNCTION_SECTIONS[step]).wire()`.
        """
        limits, pii, profile = self.limits, self.pii, self.profile
        return PipelineSettings.of(
            {
                "limits": contract.Limits(
                    max_object_bytes=limits.max_object_bytes,
                    max_record_bytes=limits.max_record_bytes,
                    max_document_bytes=limits.max_document_bytes,
                    row_fanout_bytes=limits.row_fanout_bytes,
                    max_fanout_object_bytes=limits.max_fanout_object_bytes,
                ),
                "pii": contract.PiiPolicy(
                    language=pii.language,
                    min_score=pii.min_score,
                    chunk_bytes=pii.chunk_bytes,
                    default_action=pii.default_action,
                    actions=dict(pii.actions),
                ),
                "sources": {name: _source_contract(name, spec) for name, spec in self.sources.items()},
                "profile": None if profile is None else _profile_contract(profile),
                "monitoring": contract.Monitoring(quarantine_rate_alarm=self.monitoring.quarantine_rate_alarm),
            }
        )


def _source_contract(name: str, spec: SourceSpec) -> contract.SourceSpec:
    fields = tuple(
        contract.FieldSpec(
            name=field_name,
            type=field.type,
            required=field.required,
            max_length=field.max_length,
            minimum=field.minimum,
            maximum=field.maximum,
            allowed=None if field.allowed is None else tuple(field.allowed),
            pii=field.pii,
            scan=field.scan,
        )
        for field_name, field in spec.fields.items()
    )
    if spec.format == "text":
        fields = (contract.text_field(),)
    return contract.SourceSpec(
        name=name,
        format=spec.format,
        fields=fields,
        knowledge=spec.knowledge,
        key=tuple(spec.key or ()),
        dedupe=spec.dedupe or ("key" if spec.key else "none"),
        encoding=spec.encoding,
        delimiter=DELIMITERS[spec.delimiter],
        ignore_columns=tuple(spec.ignore_columns),
        match_header=spec.match_header,
    )


def _check_positive(outcome: Outcome, field: FieldSpec) -> None:
    """`outcome.positive` must be a value the field can hold: a wrong one made every rate 0 and passed."""
    where, name, value = "profile.outcome.positive", outcome.field, outcome.positive
    if field.type not in OUTCOME_TYPES:
        raise field_error(where, f"the outcome field '{name}' is {field.type}: use a boolean, integer or string field")
    if field.type == "boolean" and not isinstance(value, bool):
        raise field_error(where, f"{value!r} is not a boolean, but '{name}' is a boolean field: write true or false")
    if field.type == "integer" and (isinstance(value, bool) or not isinstance(value, int)):
        raise field_error(where, f"{value!r} is not an integer, but '{name}' is an integer field")
    if field.type != "string":
        return
    if isinstance(value, bool):
        raise field_error(where, f"'{name}' is a string field", value)
    if not isinstance(value, str):
        raise field_error(where, f"'{name}' is a string field: quote {value!r}")
    if field.allowed is not None and value not in field.allowed:
        raise field_error(where, f"'{value}' is not a value '{name}' allows ({', '.join(field.allowed)})")


def _profile_contract(profile: ProfileSpec) -> contract.ProfileSpec:
    t = profile.thresholds

    def below(band: BelowBand) -> contract.Band:
        fail_on = band.fail_on if isinstance(band, IntervalBelowBand) else "estimate"
        return contract.Band(warn=band.warn_below, fail=band.fail_below, below=True, fail_on=fail_on)

    def above(band: AboveBand) -> contract.Band:
        fail_on = band.fail_on if isinstance(band, IntervalAboveBand) else "estimate"
        return contract.Band(warn=band.warn_above, fail=band.fail_above, below=False, fail_on=fail_on)

    return contract.ProfileSpec(
        source=profile.source,
        groups={group: dict(spec.reference) for group, spec in profile.groups.items()},
        thresholds=contract.Thresholds(
            chi_square_p=below(t.chi_square_p),
            psi=above(t.psi),
            parity_difference=above(t.parity_difference),
            disparate_impact=below(t.disparate_impact),
            missing_rate=above(t.missing_rate),
        ),
        min_records=profile.min_records,
        min_records_per_value=profile.min_records_per_value,
        confidence=profile.confidence,
        outcome_field=None if profile.outcome is None else profile.outcome.field,
        outcome_positive=None if profile.outcome is None else profile.outcome.positive,
    )


def _matches(pattern: str, value: str) -> bool:
    return re.match(pattern, value) is not None


def load_data_settings(usecase: UseCase, root: Path = USECASES_DIR) -> DataSettings:
    """Read usecases/<id>/data.yaml and check it covers exactly the register's sources and formats."""
    path = root / usecase.id / DATA_FILE
    source = display_path(path, root)
    if not path.is_file():
        raise ConfigError(source, "(file)", "the data stage needs this file: schemas, PII policy and bias profile")
    raw = read_yaml_mapping(path)
    try:
        settings = DataSettings.model_validate(raw)
    except ValidationError as exc:
        raise validation_error(source, exc, model=DataSettings, document=path) from None
    declared = {s.name: s.format for s in usecase.data.sources}
    configured = {name: spec.format for name, spec in settings.sources.items()}
    for name, fmt in declared.items():
        if name not in configured:
            raise ConfigError(source, f"sources.{name}", "listed in usecase.yaml but has no schema here")
        if configured[name] != fmt:
            raise ConfigError(source, f"sources.{name}.format", f"'{configured[name]}' but usecase.yaml says '{fmt}'")
    for name in configured.keys() - declared.keys():
        raise ConfigError(source, f"sources.{name}", "not a data source of the use case (usecase.yaml data.sources)")
    return settings
