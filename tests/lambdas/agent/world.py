"""A moto DynamoDB with the agent's tables (keys from agent.contract), the settings file, and real agent events."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from agent import retention_analyst
from agent.contract import CUSTOMERS_KEY, IDEMPOTENCY_KEY, INTERACTIONS_KEY, OFFERS_KEY, ToolSettings
from common.clients import client
from common.settings_file import SETTINGS_DIR_ENV, SETTINGS_FILE_ENV, SETTINGS_SHA256_ENV
from moto import mock_aws

from stacks.common.settings_layer import write_settings_files

TABLES = {"customers": CUSTOMERS_KEY, "interactions": INTERACTIONS_KEY, "offers": OFFERS_KEY}
TOOL_SETTINGS = ToolSettings(
    customers_table="customers", interactions_table="interactions", offers_table="offers", idempotency_table="idem"
)


def create_table(name: str, key: tuple[str, str | None]) -> None:
    schema = [{"AttributeName": key[0], "KeyType": "HASH"}]
    attributes = [{"AttributeName": key[0], "AttributeType": "S"}]
    if key[1] is not None:
        schema.append({"AttributeName": key[1], "KeyType": "RANGE"})
        attributes.append({"AttributeName": key[1], "AttributeType": "S"})
    client("dynamodb").create_table(
        TableName=name, KeySchema=schema, AttributeDefinitions=attributes, BillingMode="PAY_PER_REQUEST"
    )


def settings_env(folder: Path, name: str, settings: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    digests = write_settings_files(folder, {name: settings})
    monkeypatch.setenv(SETTINGS_DIR_ENV, str(folder))
    monkeypatch.setenv(SETTINGS_FILE_ENV, f"{name}.json")
    monkeypatch.setenv(SETTINGS_SHA256_ENV, digests[name])


@pytest.fixture
def tables(tmp_path: Path) -> Iterator[Any]:
    """Fresh moto state per test: the three tables, the idempotency table and the action group's settings."""
    with mock_aws(), pytest.MonkeyPatch.context() as monkeypatch:
        for name, key in TABLES.items():
            create_table(name, key)
        create_table("idem", IDEMPOTENCY_KEY)
        settings_env(tmp_path, "retention_analyst", TOOL_SETTINGS.model_dump(mode="json"), monkeypatch)
        retention_analyst.settings.cache_clear()
        retention_analyst._idempotent_create.cache_clear()
        yield client("dynamodb")
        retention_analyst.settings.cache_clear()
        retention_analyst._idempotent_create.cache_clear()


def agent_event(
    method: str,
    api_path: str,
    parameters: dict[str, Any] | None = None,
    body: dict[str, Any] | None = None,
    *,
    parameter_types: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A Bedrock agent action-group invocation as Lambda receives it (OpenAPI action group, messageVersion 1.0):
    ``apiPath`` is the path as written in the schema, every value arrives as a string, and a JSON body is a list
    of properties."""
    types = parameter_types or {}
    event: dict[str, Any] = {
        "messageVersion": "1.0",
        "agent": {"name": "retention-analyst", "id": "AGENT12345", "alias": "TSTALIASID", "version": "DRAFT"},
        "inputText": "Which offer would keep customer C00034?",
        "sessionId": "111122223333-session",
        "actionGroup": "retention_analyst",
        "apiPath": api_path,
        "httpMethod": method,
        "parameters": [
            {"name": name, "type": types.get(name, "string"), "value": str(value)}
            for name, value in (parameters or {}).items()
        ],
        "sessionAttributes": {"tenant": "demo"},
        "promptSessionAttributes": {},
    }
    if body is not None:
        event["requestBody"] = {
            "content": {
                "application/json": {
                    "properties": [
                        {"name": name, "type": "integer" if isinstance(value, int) else "string", "value": str(value)}
                        for name, value in body.items()
                    ]
                }
            }
        }
    return event


def response_body(result: dict[str, Any]) -> tuple[int, Any]:
    """The status and the parsed JSON body of an action group's answer (checking the envelope on the way)."""
    assert result["messageVersion"] == "1.0"
    response = result["response"]
    assert set(response) == {"actionGroup", "apiPath", "httpMethod", "httpStatusCode", "responseBody"}
    return response["httpStatusCode"], json.loads(response["responseBody"]["application/json"]["body"])
