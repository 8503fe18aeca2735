"""SyncSettings: the one environment variable the Knowledge stack writes and the sync handler parses."""

from __future__ import annotations

import json

import pytest
from knowledge.contract import ENVIRONMENT_VARIABLE, SyncSettings
from pydantic import ValidationError

from tests.lambdas.knowledge.sync_world import SETTINGS

QUEUE_URL = "https://sqs.eu-west-1.amazonaws.com/123456789012/knowledge-sync"


def test_from_environment_gives_the_domain_its_target_and_timing():
    settings = SyncSettings.from_environment({ENVIRONMENT_VARIABLE: json.dumps({**SETTINGS, "queue_url": QUEUE_URL})})
    assert (settings.target.knowledge_base_id, settings.target.data_source_id) == (
        SETTINGS["knowledge_base_id"],
        SETTINGS["data_source_id"],
    )
    assert settings.timing.give_up_after.total_seconds() == SETTINGS["give_up_after_seconds"]
    assert settings.queue_url == QUEUE_URL


@pytest.mark.parametrize(
    "change",
    [
        {"queue_url": None},  # missing
        {"retry_delay_seconds": 901},  # longer than SQS can delay a message
        {"poll_interval_seconds": 0},
        {"knowledge_base_id": ""},
        {"unknown": 1},
    ],
)
def test_bad_settings_are_rejected(change):
    data = {**SETTINGS, "queue_url": QUEUE_URL, **change}
    with pytest.raises(ValidationError):
        SyncSettings.model_validate({k: v for k, v in data.items() if v is not None})
