"""SafetySettings: parsed from the environment JSON the stack writes; bad values fail loudly."""

from __future__ import annotations

import json

import pytest
from common.safety.policy import ENVIRONMENT_VARIABLE, SafetySettings
from pydantic import ValidationError


def test_from_environment_parses_the_stack_json():
    environment = {
        ENVIRONMENT_VARIABLE: '{"injection":{"threshold":0.4},"guardrail":{"identifier":"abc123","version":"2"}}'
    }
    settings = SafetySettings.from_environment(environment)
    assert settings.injection.threshold == 0.4
    assert settings.guardrail.version == "2"
    assert settings.limits.max_chars == 4000  # defaults fill the rest


@pytest.mark.parametrize(
    "bad",
    [
        {"guardrail": {"apply_on_input": True}},  # applying needs an identifier
        {"guardrail": {"identifier": "abc", "version": "v1"}},
        {"toxicity": {"thresholds": {"HATE_SPEECH": 0}}},
        {"toxicity": {"thresholds": {"RUDENESS": 0.5}}},
        {"entities": {"endpoint_arn": "arn:aws:s3:::bucket"}},
        {"limits": {"allowed_formats": ["html"]}},
        {"unknown": True},
    ],
)
def test_bad_settings_are_rejected(bad):
    with pytest.raises(ValidationError):
        SafetySettings.model_validate(bad)


def test_sets_are_written_sorted_so_every_synth_writes_the_same_json():
    settings = SafetySettings.model_validate(
        {"entities": {"deny_terms": ["zeta", "alpha", "mid"], "deny_types": ["B", "A"]}, "pii": {"entity_types": []}}
    )
    entities = json.loads(settings.model_dump_json())["entities"]
    assert (entities["deny_terms"], entities["deny_types"]) == (["alpha", "mid", "zeta"], ["A", "B"])
    assert settings.model_dump()["entities"]["deny_terms"] == frozenset({"alpha", "mid", "zeta"})
