"""The JSON-schema (draft 4, what API Gateway validates) request models of the chat API's POST bodies.

They mirror the app's own body models (`ChatBody`, `FeedbackBody`, `EventBody` in lambdas/api/app.py), so API
Gateway refuses a malformed request with 400 before a function runs (and bills); the app validates again.
`message` is limited to api.yaml `max_prompt_chars` (JSON Schema counts characters, as the app does);
tests/stacks/test_api.py checks that the schemas and the app's models agree on sample bodies.
"""

from __future__ import annotations

from typing import Any

SCHEMA = "http://json-schema.org/draft-04/schema#"
SESSION_ID = {
    "type": "string",
    "pattern": "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
}
REQUEST_ID = {"type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[A-Za-z0-9-]+$"}


def _optional(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` or JSON null (the app reads an absent field and null alike)."""
    return {**schema, "type": [schema["type"], "null"]}


def _object(title: str, properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "$schema": SCHEMA,
        "title": title,
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }


def chat_schema(max_prompt_chars: int) -> dict[str, Any]:
    """POST /chat and POST /chat/stream."""
    return _object(
        "ChatRequest",
        {
            "message": {"type": "string", "minLength": 1, "maxLength": max_prompt_chars},
            "session_id": _optional(SESSION_ID),
            "architecture": _optional({"type": "string", "maxLength": 32}),
            "task": _optional({"type": "string", "maxLength": 64}),
        },
        ["message"],
    )


def feedback_schema() -> dict[str, Any]:
    """POST /feedback: a thumbs up or down on one answer."""
    return _object(
        "FeedbackRequest",
        {
            "session_id": SESSION_ID,
            "request_id": REQUEST_ID,
            "rating": {"type": "string", "enum": ["up", "down"]},
            "reason": _optional({"type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[a-z][a-z0-9_]*$"}),
            "comment": _optional({"type": "string", "maxLength": 1000}),
        },
        ["session_id", "request_id", "rating"],
    )


def events_schema() -> dict[str, Any]:
    """POST /events: copy, regenerate, session start and end."""
    return _object(
        "EventRequest",
        {
            "session_id": SESSION_ID,
            "kind": {"type": "string", "enum": ["copy", "regenerate", "session_start", "session_end"]},
            "duration_seconds": _optional({"type": "number", "minimum": 0, "maximum": 7 * 24 * 3600}),
            "request_id": _optional(REQUEST_ID),
        },
        ["session_id", "kind"],
    )
