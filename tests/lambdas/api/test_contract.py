"""The Api settings contract: what the stack writes, the app parses; consistency rules; quota per group."""

from __future__ import annotations

import json
from typing import Any

import pytest
from api.contract import (
    API_SETTINGS_ENV,
    ARCHITECTURES,
    ApiSettings,
    QuotaSpec,
    settings_from_environment,
)
from pydantic import ValidationError


def settings_dict(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "usecase": "support",
        "architecture": "direct",
        "model_id": "eu.anthropic.claude-3-haiku-20240307-v1:0",
        "conversations_table": "conv",
        "quotas_table": "quotas",
        "telemetry_table": "telemetry",
        "quotas": {"users": {"tokens_per_day": 1000, "requests_per_minute": 5}},
        "metrics_namespace": "JourneyKit/Api",
    }
    base.update(overrides)
    return base


def test_round_trip_through_the_environment() -> None:
    settings = ApiSettings.model_validate(
        settings_dict(per_request=["rag"], knowledge_base_id="KB123", prompt_parameters={"summarize": "/p/s"})
    )
    parsed = settings_from_environment({API_SETTINGS_ENV: settings.model_dump_json()})
    assert parsed == settings
    assert parsed.architectures == ("direct", "rag")
    assert parsed.tasks == ("summarize",)
    assert parsed.max_prompt_chars == 4000
    assert parsed.history_tokens == 2000


def test_parsed_once_per_value() -> None:
    value = json.dumps(settings_dict(usecase="cached"))
    assert settings_from_environment({API_SETTINGS_ENV: value}) is settings_from_environment({API_SETTINGS_ENV: value})


def test_architecture_names() -> None:
    assert ARCHITECTURES == ("direct", "rag", "agent", "multi-task")


def test_default_architecture_is_not_repeated() -> None:
    settings = ApiSettings.model_validate(settings_dict(per_request=["direct", "multi-task"]))
    assert settings.architectures == ("direct", "multi-task")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"extra": 1}, "Extra inputs"),
        ({"architecture": "chain"}, "architecture"),
        ({"architecture": "rag"}, "knowledge_base_id"),
        ({"per_request": ["agent"], "agent_id": "A"}, "agent_alias_id"),
        ({"default_task": "x"}, "default_task"),
        ({"guardrail_id": "g1"}, "guardrail_version"),
        ({"max_prompt_chars": 0}, "max_prompt_chars"),
        ({"quotas": {"users": {"tokens_per_day": 0, "requests_per_minute": 1}}}, "tokens_per_day"),
        ({"conversations_table": ""}, "conversations_table"),
    ],
)
def test_inconsistent_settings_are_refused(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        ApiSettings.model_validate(settings_dict(**overrides))


def test_frozen() -> None:
    settings = ApiSettings.model_validate(settings_dict())
    with pytest.raises(ValidationError):
        settings.usecase = "other"  # type: ignore[misc]


def test_quota_is_the_largest_of_each_kind_over_the_callers_groups() -> None:
    settings = ApiSettings.model_validate(
        settings_dict(
            quotas={
                "users": {"tokens_per_day": 1000, "requests_per_minute": 50},
                "admins": {"tokens_per_day": 9000, "requests_per_minute": 5},
                "default": {"tokens_per_day": 10, "requests_per_minute": 1},
            }
        )
    )
    assert settings.quota_for(["users", "admins", "other"]) == QuotaSpec(tokens_per_day=9000, requests_per_minute=50)
    assert settings.quota_for(["users"]) == QuotaSpec(tokens_per_day=1000, requests_per_minute=50)
    assert settings.quota_for([]) == QuotaSpec(tokens_per_day=10, requests_per_minute=1)
    assert settings.quota_for(["other"]) == QuotaSpec(tokens_per_day=10, requests_per_minute=1)
    # "default" named as a group does not raise a caller above its own groups
    assert settings.quota_for(["default", "users"]) == QuotaSpec(tokens_per_day=1000, requests_per_minute=50)


def test_no_quota_without_a_listed_group_or_a_default() -> None:
    settings = ApiSettings.model_validate(settings_dict())
    assert settings.quota_for(["admins"]) is None
