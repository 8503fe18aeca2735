"""The settings contract of the pipeline functions: what the Data stack hands each step, defined once.

usecases/<id>/data.yaml is modelled for authors in stacks/data/settings.py (`DataSettings`: descriptions,
cross-checks, one-line errors). At synth the Data stack builds this contract from it
(`DataSettings.contract()`), writes its `wire()` form, and writes each step only the sections it
uses (`FUNCTION_SECTIONS`) as /opt/settings/<step>.json in its settings layer (stacks/common/
settings_layer.py). The function parses the same model with `model_validate_json`
(`settings_from_file`), so the two sides cannot drift: a field renamed on one side fails mypy at the
stack and validation at the function. The shape is the one the domain code reads (fields in order, a
text source's one field, threshold bands with their direction), so the functions do no reshaping.

Every section is optional so a function can be given only its slice; reading a section the function was
not given raises `SettingsError` (a use case without a bias profile is a given, empty ``profile``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

FieldType = Literal["string", "integer", "number", "boolean", "date", "datetime"]
Format = Literal["jsonl", "csv", "text"]
Action = Literal["mask", "drop", "hash"]
Rendering = Literal["native", "markdown", "csv", "none"]  # how a source reaches the knowledge base (documents/)
Section = Literal["limits", "pii", "sources", "profile", "monitoring"]
Dedupe = Literal["key", "records", "none"]  # what a duplicate is: same key, same whole record, or not looked for
Encoding = Literal["utf-8", "latin-1", "cp1252", "utf-16", "auto"]  # auto: detected (charset-normalizer)
HeaderMatch = Literal["exact", "loose"]  # loose: case, surrounding whitespace and quotes, inner spaces as _
TEXT_FIELD = "text"  # the one field of a text/markdown document

# The sections each step's function receives (and the stack writes into its settings file).
FUNCTION_SECTIONS: dict[str, tuple[Section, ...]] = {
    "validate": ("limits", "sources"),
    "split": ("limits", "sources"),  # a big object cut into parts (pipeline.rows)
    "part": ("limits", "pii", "sources"),  # one part validated and redacted as a small object is
    "redact": ("pii", "sources"),
    "profile": ("profile",),
    "assess": ("profile",),
    "publish": ("sources",),
    "quarantine": ("sources",),  # where a failed publish may have left records and documents
    "finalize": ("monitoring",),
}


class SettingsError(RuntimeError):
    """The function was deployed without a settings section it needs."""


class _Contract(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class FieldSpec(_Contract):
    name: str
    type: FieldType
    required: bool = False
    max_length: int | None = None
    minimum: float | None = None
    maximum: float | None = None
    allowed: tuple[str, ...] | None = None  # a tuple, not a set: the file's bytes (and digest) stay stable
    pii: str | None = None
    scan: bool = False


class SourceSpec(_Contract):
    name: str
    format: Format
    fields: tuple[FieldSpec, ...]  # in CSV column order; a text source has the one TEXT_FIELD
    knowledge: Rendering
    key: tuple[str, ...] = ()  # the fields that identify a record; empty: the source declares no key
    dedupe: Dedupe = "none"  # resolved at synth: "key" when a key is declared, unless data.yaml says otherwise
    encoding: Encoding = "utf-8"
    delimiter: str = ","  # CSV: the one character between cells
    ignore_columns: tuple[str, ...] = ()  # CSV: header names dropped with their cells (a pandas index: "")
    match_header: HeaderMatch = "exact"

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    @property
    def scanned(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields if f.scan)


def text_field() -> FieldSpec:
    """The one field of a text source: the whole document, required and scanned for PII."""
    return FieldSpec(name=TEXT_FIELD, type="string", required=True, scan=True)


class Limits(_Contract):
    max_object_bytes: int
    max_record_bytes: int
    max_document_bytes: int
    # CSV and JSONL objects stored larger are split into parts of at most this size (stacks/data/settings.py)
    row_fanout_bytes: int = 8 * 1024 * 1024
    max_fanout_object_bytes: int = 10 * 1024**3  # the most such an object may hold, stored and decompressed


class PiiPolicy(_Contract):
    language: str
    min_score: float
    chunk_bytes: int
    default_action: Action
    actions: dict[str, Action] = Field(default_factory=dict)

    def action_for(self, entity_type: str) -> Action:
        return self.actions.get(entity_type, self.default_action)


class Band(_Contract):
    """A figure is WARN past ``warn`` and FAIL past ``fail`` (None: never FAIL); ``below`` gives the direction.

    ``fail_on`` "interval": FAIL needs the figure's whole confidence interval past ``fail`` (its near bound:
    the lower one of an above-band, the upper one of a below-band), so sampling noise cannot fail the gate;
    an estimate past ``fail`` with an interval that still reaches it is WARN. "estimate": the point value
    decides. WARN always goes by the estimate. "Past" is strict: a value or bound equal to a limit is not.
    """

    warn: float
    fail: float | None
    below: bool
    fail_on: Literal["interval", "estimate"] = "estimate"

    def past(self, value: float, limit: float) -> bool:
        return value < limit if self.below else value > limit

    def status(self, value: float, interval: tuple[float, float] | None = None) -> str:
        """The figure's status; with ``fail_on`` "interval" FAIL needs ``interval`` (None: at most WARN)."""
        if self.fail is not None and self.past(value, self.fail):
            if self.fail_on == "estimate":
                return "FAIL"
            if interval is not None and self.past(interval[1] if self.below else interval[0], self.fail):
                return "FAIL"
            return "WARN"
        return "WARN" if self.past(value, self.warn) else "PASS"


class Thresholds(_Contract):
    chi_square_p: Band
    psi: Band
    parity_difference: Band
    disparate_impact: Band
    missing_rate: Band


class ProfileSpec(_Contract):
    source: str
    groups: dict[str, dict[str, float]]  # group field -> reference share per value
    thresholds: Thresholds
    min_records: int
    min_records_per_value: int = 30  # a value with fewer records is left out of the parity figures
    confidence: float = 0.95  # of every interval
    outcome_field: str | None = None
    outcome_positive: bool | int | str | None = None


class Monitoring(_Contract):
    quarantine_rate_alarm: float


class PipelineSettings(_Contract):
    """A function's slice of the settings; the sections it was not given raise `SettingsError` when read."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    sources_: dict[str, SourceSpec] | None = Field(None, alias="sources")
    limits_: Limits | None = Field(None, alias="limits")
    pii_: PiiPolicy | None = Field(None, alias="pii")
    profile_: ProfileSpec | None = Field(None, alias="profile")
    monitoring_: Monitoring | None = Field(None, alias="monitoring")

    @classmethod
    def of(cls, sections: Mapping[Section, BaseModel | Mapping[str, SourceSpec] | None]) -> PipelineSettings:
        """The settings holding exactly ``sections`` (a given section may be None: no bias profile)."""
        return cls.model_validate(dict(sections))

    def only(self, sections: tuple[Section, ...]) -> PipelineSettings:
        """The slice of these settings one function receives."""
        return PipelineSettings.of({section: self._need(section) for section in sections})

    def wire(self) -> dict[str, Any]:
        """The JSON form a function parses back: the given sections by name, nothing else."""
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)

    def _need(self, name: Section) -> Any:
        if name not in self.given:
            raise SettingsError(f"this function was not given the '{name}' settings section")
        return getattr(self, f"{name}_")

    @property
    def given(self) -> frozenset[str]:
        return frozenset(type(self).model_fields[name].alias or name for name in self.model_fields_set)

    @property
    def sources(self) -> Mapping[str, SourceSpec]:
        sources: Mapping[str, SourceSpec] = self._need("sources")
        return sources

    @property
    def limits(self) -> Limits:
        limits: Limits = self._need("limits")
        return limits

    @property
    def pii(self) -> PiiPolicy:
        pii: PiiPolicy = self._need("pii")
        return pii

    @property
    def profile(self) -> ProfileSpec | None:
        """None when the use case defines no bias profile."""
        profile: ProfileSpec | None = self._need("profile")
        return profile

    @property
    def quarantine_rate_alarm(self) -> float:
        monitoring: Monitoring = self._need("monitoring")
        return monitoring.quarantine_rate_alarm
