"""Runtime settings of the pipeline, parsed from the JSON file the Data stack's settings layer holds.

stacks/data/settings.py validates usecases/<id>/data.yaml at synth time and writes each function only the
sections it uses, as /opt/settings/<step>.json in the stack's settings layer (stacks/common/
settings_layer.py; the environment names the file and its SHA-256); this module turns that JSON into
frozen dataclasses. Every section is optional here so a function can be given just its slice; using a
section a function was not given raises a clear error.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal, cast

from common.settings_file import read_settings_file

FieldType = Literal["string", "integer", "number", "boolean", "date", "datetime"]
Format = Literal["jsonl", "csv", "text"]
Action = Literal["mask", "drop", "hash"]
Rendering = Literal["native", "markdown", "csv", "none"]  # how a source reaches the knowledge base (documents/)
TEXT_FIELD = "text"  # the one field of a text/markdown document


class SettingsError(RuntimeError):
    """The function was deployed without a settings section it needs."""


@dataclass(frozen=True)
class FieldSpec:
    name: str
    type: FieldType
    required: bool = False
    max_length: int | None = None
    minimum: float | None = None
    maximum: float | None = None
    allowed: frozenset[str] | None = None
    pii: str | None = None
    scan: bool = False


@dataclass(frozen=True)
class SourceSpec:
    name: str
    format: Format
    fields: tuple[FieldSpec, ...]
    knowledge: Rendering = "native"

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    @property
    def scanned(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields if f.scan)


@dataclass(frozen=True)
class Limits:
    max_object_bytes: int
    max_record_bytes: int
    max_document_bytes: int


@dataclass(frozen=True)
class PiiPolicy:
    language: str
    min_score: float
    chunk_bytes: int
    default_action: Action
    actions: Mapping[str, Action]

    def action_for(self, entity_type: str) -> Action:
        return self.actions.get(entity_type, self.default_action)


@dataclass(frozen=True)
class Band:
    """A figure is WARN past ``warn`` and FAIL past ``fail`` (None: never FAIL); ``below`` gives the direction."""

    warn: float
    fail: float | None
    below: bool

    def status(self, value: float) -> str:
        def past(limit: float) -> bool:
            return value < limit if self.below else value > limit

        if self.fail is not None and past(self.fail):
            return "FAIL"
        return "WARN" if past(self.warn) else "PASS"


@dataclass(frozen=True)
class Thresholds:
    chi_square_p: Band
    psi: Band
    parity_difference: Band
    disparate_impact: Band
    missing_rate: Band


@dataclass(frozen=True)
class ProfileSpec:
    source: str
    groups: Mapping[str, Mapping[str, float]]  # group field -> reference share per value
    thresholds: Thresholds
    min_records: int
    outcome_field: str | None = None
    outcome_positive: Any = None


@dataclass(frozen=True)
class PipelineSettings:
    sources_: Mapping[str, SourceSpec] | None = None
    limits_: Limits | None = None
    pii_: PiiPolicy | None = None
    profile_: ProfileSpec | None = None
    quarantine_rate_alarm_: float | None = None
    given: frozenset[str] = field(default_factory=frozenset)

    def _need(self, name: str, value: Any) -> Any:
        if value is None and name not in self.given:
            raise SettingsError(f"this function was not given the '{name}' settings section")
        return value

    @property
    def sources(self) -> Mapping[str, SourceSpec]:
        return cast("Mapping[str, SourceSpec]", self._need("sources", self.sources_))

    @property
    def limits(self) -> Limits:
        return cast(Limits, self._need("limits", self.limits_))

    @property
    def pii(self) -> PiiPolicy:
        return cast(PiiPolicy, self._need("pii", self.pii_))

    @property
    def profile(self) -> ProfileSpec | None:
        """None when the use case defines no bias profile."""
        return cast("ProfileSpec | None", self._need("profile", self.profile_))

    @property
    def quarantine_rate_alarm(self) -> float:
        return cast(float, self._need("monitoring", self.quarantine_rate_alarm_))


def _band(raw: Mapping[str, Any], below: bool) -> Band:
    if below:
        return Band(warn=float(raw["warn_below"]), fail=_opt_float(raw.get("fail_below")), below=True)
    return Band(warn=float(raw["warn_above"]), fail=_opt_float(raw.get("fail_above")), below=False)


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)


def _source(name: str, raw: Mapping[str, Any]) -> SourceSpec:
    fields = tuple(
        FieldSpec(
            name=fname,
            type=spec["type"],
            required=bool(spec.get("required", False)),
            max_length=spec.get("max_length"),
            minimum=spec.get("minimum"),
            maximum=spec.get("maximum"),
            allowed=frozenset(spec["allowed"]) if spec.get("allowed") is not None else None,
            pii=spec.get("pii"),
            scan=bool(spec.get("scan", False)),
        )
        for fname, spec in raw.get("fields", {}).items()
    )
    if raw["format"] == "text":
        fields = (FieldSpec(name=TEXT_FIELD, type="string", required=True, scan=True),)
    knowledge = raw.get("knowledge") or default_rendering(raw["format"])
    return SourceSpec(name=name, format=raw["format"], fields=fields, knowledge=knowledge)


def default_rendering(fmt: str) -> Rendering:
    """Text and CSV reach the knowledge base as they are; JSON lines, which it cannot parse, as markdown."""
    return "markdown" if fmt == "jsonl" else "native"


def parse_settings(raw: Mapping[str, Any]) -> PipelineSettings:
    """Build settings from the runtime JSON (already decoded)."""
    given = frozenset(raw)
    sources = {n: _source(n, s) for n, s in raw["sources"].items()} if "sources" in raw else None
    limits = Limits(**raw["limits"]) if "limits" in raw else None
    pii = None
    if "pii" in raw:
        p = raw["pii"]
        pii = PiiPolicy(
            language=p["language"],
            min_score=float(p["min_score"]),
            chunk_bytes=int(p["chunk_bytes"]),
            default_action=p["default_action"],
            actions=dict(p.get("actions", {})),
        )
    profile = None
    if raw.get("profile"):
        p = raw["profile"]
        t = p["thresholds"]
        outcome = p.get("outcome") or {}
        profile = ProfileSpec(
            source=p["source"],
            groups={g: dict(spec["reference"]) for g, spec in p["groups"].items()},
            thresholds=Thresholds(
                chi_square_p=_band(t["chi_square_p"], below=True),
                psi=_band(t["psi"], below=False),
                parity_difference=_band(t["parity_difference"], below=False),
                disparate_impact=_band(t["disparate_impact"], below=True),
                missing_rate=_band(t["missing_rate"], below=False),
            ),
            min_records=int(p["min_records"]),
            outcome_field=outcome.get("field"),
            outcome_positive=outcome.get("positive"),
        )
    monitoring = raw.get("monitoring")
    return PipelineSettings(
        sources_=sources,
        limits_=limits,
        pii_=pii,
        profile_=profile,
        quarantine_rate_alarm_=float(monitoring["quarantine_rate_alarm"]) if monitoring else None,
        given=given,
    )


@cache
def settings_from_file(path: Path, sha256: str) -> PipelineSettings:
    """Read, verify and parse a function's settings file once per container."""
    return parse_settings(json.loads(read_settings_file(path, sha256)))
