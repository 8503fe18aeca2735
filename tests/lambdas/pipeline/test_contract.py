"""The pipeline's settings contract (lambdas/pipeline/contract.py): slices, the wire form and strictness."""

from __future__ import annotations

import json

import pytest
from pipeline.contract import FUNCTION_SECTIONS, PipelineSettings, SettingsError
from pydantic import ValidationError

from tests.lambdas.pipeline.harness import pipeline_settings


@pytest.mark.parametrize(("step", "sections"), FUNCTION_SECTIONS.items())
def test_a_slice_round_trips_through_its_wire_form_and_holds_only_its_sections(step, sections):
    sliced = pipeline_settings().only(sections)
    wire = sliced.wire()
    assert set(wire) == set(sections), step
    parsed = PipelineSettings.model_validate_json(json.dumps(wire))
    assert parsed == sliced
    assert parsed.given == frozenset(sections)


def test_reading_a_section_the_function_was_not_given_names_it():
    validate = pipeline_settings().only(FUNCTION_SECTIONS["validate"])
    assert validate.limits.max_record_bytes == pipeline_settings().limits.max_record_bytes
    with pytest.raises(SettingsError, match="'pii'"):
        _ = validate.pii
    with pytest.raises(SettingsError, match="'profile'"):
        _ = validate.profile


def test_a_given_empty_profile_means_no_bias_profile():
    settings = PipelineSettings.model_validate_json('{"profile": null}')
    assert settings.profile is None
    with pytest.raises(SettingsError, match="'profile'"):
        _ = PipelineSettings.model_validate_json("{}").profile


def test_unknown_or_misspelt_keys_are_refused_not_ignored():
    wire = pipeline_settings().only(("limits",)).wire()
    with pytest.raises(ValidationError, match="max_objekt_bytes"):
        PipelineSettings.model_validate({"limits": {**wire["limits"], "max_objekt_bytes": 1}})
    with pytest.raises(ValidationError, match="limitz"):
        PipelineSettings.model_validate({"limitz": wire["limits"]})


def test_the_wire_form_is_stable_so_the_files_digest_is():
    """Allowed values are a tuple, not a set: the same data.yaml gives the same bytes in every process."""
    settings = pipeline_settings()
    allowed = [f.allowed for s in settings.sources.values() for f in s.fields if f.allowed]
    assert allowed
    assert all(isinstance(a, tuple) for a in allowed)
    assert json.dumps(settings.wire()) == json.dumps(PipelineSettings.model_validate(settings.wire()).wire())
