"""The Bedrock model catalogue (stacks/config/models.yaml) and the synth-time check of a use case's models.

Why: a plausible but wrong id in usecase.yaml `models:` passes pydantic's shape check and fails only
at deploy or at the first call. `check_models` compares the ids with what AWS documents (see the
`source` list in the YAML) and returns one plain line per problem:

- errors, known to fail: an embedding model as `text` or a text model as `embedding`; an
  `embedding_dimensions` the model does not make; a foundation model with no on-demand endpoint
  (only its inference profiles serve it); a model not offered in a pinned Region, or a profile not
  callable from it (the caller's Region must be one of the profile's source Regions); an embedding
  model named by a cross-Region inference profile.
- warnings, synth continues: an id the catalogue does not know (AWS adds models faster than this
  file is checked), with the closest known id; a legacy model, with its dates and a successor.

Decision on embeddings and profiles: the kit's knowledge base embeds with the foundation-model ARN
of `embedding` in the knowledge base's own Region (`VectorKnowledgeBase`), and AWS documents
inference profiles for knowledge-base parsing and response generation only, not for vector
embeddings. A profile id as `embedding` is therefore an error that names the foundation model to
use instead. `text` is used for generation (Converse) and may be a foundation model or a profile.

Region errors need pinned Regions; an environment-agnostic synth (no Regions) gets none of them.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, PrivateAttr, ValidationError, model_validator

from stacks.config.base import REPO_ROOT, StrictModel, display_path, read_yaml_mapping, validation_error

CATALOGUE_PATH = Path(__file__).resolve().with_name("models.yaml")
CATALOGUE_NAME = "stacks/config/models.yaml"  # how messages name the file, wherever it was loaded from

REGION_PATTERN = r"^[a-z]{2}(-gov)?-[a-z]+-\d$"
Region = Annotated[str, Field(pattern=REGION_PATTERN)]
ModelId = Annotated[str, Field(min_length=3, pattern=r"^[a-z0-9][a-z0-9.:-]*$")]
Modality = Literal["text", "embedding", "multimodal-embedding", "image"]
Lifecycle = Literal["active", "legacy"]

# Modalities a knowledge base can embed text with (the Knowledge Bases page lists both kinds).
EMBEDDING_MODALITIES: frozenset[str] = frozenset({"embedding", "multimodal-embedding"})

TEXT_FIELD = "models.text"
EMBEDDING_FIELD = "models.embedding"
DIMENSIONS_FIELD = "models.embedding_dimensions"


class Source(StrictModel):
    """One AWS documentation page the data was taken from."""

    title: str = Field(min_length=3)
    url: str = Field(pattern=r"^https://docs\.aws\.amazon\.com/")


class InferenceProfile(StrictModel):
    """A cross-Region (system-defined) inference profile: `us.`, `eu.`, `apac.`, `jp.`, `au.` or `global.`."""

    id: ModelId
    model: ModelId = Field(description="Foundation-model id the profile routes to.")
    source_regions: list[Region] = Field(description="Regions a caller may invoke the profile from.")


class FoundationModel(StrictModel):
    """One Bedrock foundation model, where it is served on demand, and its inference profiles."""

    id: ModelId
    name: str = Field(min_length=2)
    provider: str = Field(pattern=r"^[a-z0-9-]+$")
    modality: Modality
    embedding_dimensions: list[Annotated[int, Field(gt=0)]] | None = None
    regions: list[Region] = Field(description="Regions serving the foundation-model id In-Region, on demand.")
    lifecycle: Lifecycle
    legacy_since: date | None = None
    eol: date | None = Field(None, description="Last end-of-life date AWS documents for the model.")
    legacy_regions: list[Region] | None = Field(None, description="Where a partly legacy model is legacy.")
    successor: ModelId | None = Field(None, description="Active model or profile to recommend instead.")
    profiles: list[InferenceProfile] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> FoundationModel:
        if (self.modality in EMBEDDING_MODALITIES) != bool(self.embedding_dimensions):
            raise ValueError("embedding_dimensions is required for embedding models and only for them")
        if self.lifecycle == "legacy" and (self.legacy_since is None or self.successor is None):
            raise ValueError("a legacy model needs legacy_since and successor")
        if self.lifecycle == "active" and (self.legacy_since or self.eol or self.legacy_regions or self.successor):
            raise ValueError("legacy_since, eol, legacy_regions and successor are for legacy models")
        for profile in self.profiles:
            if profile.model != self.id:
                raise ValueError(f"profile {profile.id} routes to {profile.model}, not to {self.id}")
        return self


class Recommended(StrictModel):
    """What messages suggest when nothing closer fits."""

    text: ModelId
    embedding: ModelId


class Catalogue(StrictModel):
    """stacks/config/models.yaml: the models and profiles the kit knows, with the date they were checked."""

    source: list[Source] = Field(min_length=1)
    checked: date
    recommended: Recommended
    models: list[FoundationModel] = Field(min_length=1)

    _models: dict[str, FoundationModel] = PrivateAttr(default_factory=dict)
    _profiles: dict[str, InferenceProfile] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _ids_resolve(self) -> Catalogue:
        seen: set[str] = set()
        for entry_id in (i for m in self.models for i in (m.id, *(p.id for p in m.profiles))):
            if entry_id in seen:
                raise ValueError(f"id {entry_id} appears twice")
            seen.add(entry_id)
        self._models = {m.id: m for m in self.models}
        self._profiles = {p.id: p for m in self.models for p in m.profiles}
        wanted = [(m.id, m.successor, m.modality) for m in self.models if m.successor]
        wanted += [("recommended.text", self.recommended.text, "text")]
        wanted += [("recommended.embedding", self.recommended.embedding, "embedding")]
        for owner, target, modality in wanted:
            model = self.model_of(target) if target else None
            if model is None or model.lifecycle != "active" or model.modality != modality:
                raise ValueError(f"{owner}: {target} must be an active {modality} model or profile in this file")
        return self

    def model(self, model_id: str) -> FoundationModel | None:
        """The foundation model with this id (not a profile id)."""
        return self._models.get(model_id)

    def profile(self, profile_id: str) -> InferenceProfile | None:
        """The inference profile with this id."""
        return self._profiles.get(profile_id)

    def model_of(self, model_or_profile_id: str) -> FoundationModel | None:
        """The foundation model behind a model or profile id; None for an unknown id."""
        profile = self._profiles.get(model_or_profile_id)
        return self._models.get(profile.model if profile else model_or_profile_id)

    def known_ids(self) -> list[str]:
        """Every model and profile id, in file order."""
        return [i for m in self.models for i in (m.id, *(p.id for p in m.profiles))]


@dataclass(frozen=True)
class ModelCheck:
    """What `check_models` found: (field, reason) pairs; errors stop synth, warnings do not."""

    errors: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


@lru_cache(maxsize=4)
def load_catalogue(path: Path = CATALOGUE_PATH) -> Catalogue:
    """Read and validate the catalogue once per path; problems raise a one-line `ConfigError`.

    Top-level keys starting with ``x-`` only carry YAML anchors for repeated Region lists and are dropped.
    """
    source = display_path(path, REPO_ROOT / "stacks")
    raw = {k: v for k, v in read_yaml_mapping(path).items() if not str(k).startswith("x-")}
    try:
        return Catalogue.model_validate(raw)
    except ValidationError as exc:
        raise validation_error(source, exc) from None


def closest_id(unknown: str, catalogue: Catalogue) -> str | None:
    """The known model or profile id most like ``unknown`` (difflib), or None if nothing is close."""
    matches = difflib.get_close_matches(unknown, catalogue.known_ids(), n=1, cutoff=0.6)
    return matches[0] if matches else None


def check_models(
    text: str, embedding: str, embedding_dimensions: int, regions: Sequence[str], catalogue: Catalogue
) -> ModelCheck:
    """Check a use case's `models:` against the catalogue for the stages' pinned ``regions``.

    ``regions`` are the Regions of the stages being synthesized (empty when environment-agnostic).
    Pure: reads nothing but its arguments.
    """
    pinned = list(dict.fromkeys(regions))
    check = ModelCheck()
    _check_text(text, pinned, catalogue, check)
    _check_embedding(embedding, embedding_dimensions, pinned, catalogue, check)
    return check


def _check_text(text: str, pinned: list[str], catalogue: Catalogue, check: ModelCheck) -> None:
    model = catalogue.model_of(text)
    if model is None:
        check.warnings.append((TEXT_FIELD, _unknown(text, catalogue)))
        return
    if model.modality != "text":
        check.errors.append(
            (
                TEXT_FIELD,
                f"{text} is {_article(model.modality)} {model.modality} model ({model.name}); generation "
                f"needs a text model or profile such as {catalogue.recommended.text}",
            )
        )
        return
    profile = catalogue.profile(text)
    if profile is None:
        check.errors.extend((TEXT_FIELD, reason) for reason in _foundation_model_gaps(model, pinned))
    else:
        check.errors.extend((TEXT_FIELD, reason) for reason in _profile_gaps(profile, model, pinned))
    legacy = _legacy(text, model, pinned, is_profile=profile is not None, checked=catalogue.checked)
    if legacy:
        check.warnings.append((TEXT_FIELD, legacy))


def _check_embedding(
    embedding: str, dimensions: int, pinned: list[str], catalogue: Catalogue, check: ModelCheck
) -> None:
    model = catalogue.model_of(embedding)
    if model is None:
        check.warnings.append((EMBEDDING_FIELD, _unknown(embedding, catalogue)))
        return
    if model.modality not in EMBEDDING_MODALITIES:
        check.errors.append(
            (
                EMBEDDING_FIELD,
                f"{embedding} is {_article(model.modality)} {model.modality} model ({model.name}); the "
                f"knowledge base needs an embedding model such as {catalogue.recommended.embedding}",
            )
        )
        return
    supported = model.embedding_dimensions or []
    if dimensions not in supported:
        check.errors.append(
            (
                DIMENSIONS_FIELD,
                f"{dimensions} is not a vector size {model.id} makes "
                f"(supported: {', '.join(str(d) for d in supported)})",
            )
        )
    if catalogue.profile(embedding) is not None:
        check.errors.append(
            (
                EMBEDDING_FIELD,
                f"{embedding} is a cross-Region inference profile; the knowledge base embeds with a "
                f"foundation-model ARN in its own Region, so use {model.id}",
            )
        )
    else:
        check.errors.extend((EMBEDDING_FIELD, reason) for reason in _foundation_model_gaps(model, pinned))
    legacy = _legacy(embedding, model, pinned, is_profile=False, checked=catalogue.checked)
    if legacy:
        check.warnings.append((EMBEDDING_FIELD, legacy))


def _foundation_model_gaps(model: FoundationModel, pinned: list[str]) -> list[str]:
    """Why the foundation-model id itself cannot be called in the pinned Regions (or anywhere)."""
    if not model.regions:
        callable_profiles = [p.id for p in model.profiles if p.source_regions]
        via = f"; call it through an inference profile: {', '.join(callable_profiles)}" if callable_profiles else ""
        return [f"{model.id} is not served on demand in any Region{_retired(model)}{via}"]
    reasons = []
    for region in pinned:
        if region in model.regions:
            continue
        from_here = [p.id for p in model.profiles if region in p.source_regions]
        via = f"; from {region} use {' or '.join(from_here)}" if from_here else ""
        reasons.append(f"{model.id} is not offered in {region} (offered in: {', '.join(model.regions)}){via}")
    return reasons


def _profile_gaps(profile: InferenceProfile, model: FoundationModel, pinned: list[str]) -> list[str]:
    """Why the profile cannot be called from the pinned Regions (or from anywhere)."""
    if not profile.source_regions:
        return [f"inference profile {profile.id} cannot be called from any Region{_retired(model)}"]
    reasons = []
    for region in pinned:
        if region in profile.source_regions:
            continue
        others = [p.id for p in model.profiles if region in p.source_regions]
        if region in model.regions:
            others.append(model.id)
        via = f"; from {region} use {' or '.join(others)}" if others else ""
        reasons.append(
            f"inference profile {profile.id} cannot be called from {region} "
            f"(source Regions: {', '.join(profile.source_regions)}){via}"
        )
    return reasons


def _legacy(model_id: str, model: FoundationModel, pinned: list[str], *, is_profile: bool, checked: date) -> str | None:
    """The legacy warning for ``model_id``, or None when it is active where it is used."""
    if model.lifecycle != "legacy":
        return None
    where = ""
    if model.legacy_regions is not None:
        hit = [r for r in pinned if r in model.legacy_regions]
        if pinned and not hit and not is_profile:
            return None
        where = f" in {', '.join(hit)}" if hit else " in some Regions"
    eol = ""
    if model.eol is not None:
        eol = f", end of life {model.eol.isoformat()}"
        if model.eol <= checked:
            eol += f" (before this catalogue was checked on {checked.isoformat()}: calls fail)"
    since = model.legacy_since.isoformat() if model.legacy_since else "an unknown date"
    return f"{model_id} is legacy{where} since {since}{eol}; choose an active model such as {model.successor}"


def _retired(model: FoundationModel) -> str:
    return f" ({model.name} reached end of life on {model.eol.isoformat()})" if model.eol else ""


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


def _unknown(model_id: str, catalogue: Catalogue) -> str:
    reason = (
        f"{model_id} is not in {CATALOGUE_NAME} (checked {catalogue.checked.isoformat()}); "
        "synth continues — check the id in the Bedrock console"
    )
    suggestion = closest_id(model_id, catalogue)
    return f"{reason}; did you mean {suggestion}?" if suggestion else reason
