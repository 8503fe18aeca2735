"""The errors an action group answers with: a stable code, an HTTP status and a sentence for the agent.

Every failure a tool can meet ends as one of these in the agent's response format (the resolver's envelope,
``responseBody["application/json"]["body"]`` = ``{"error": {"code", "message", "field"?}}``); none escapes as an
unhandled exception, which would fail the agent's whole turn. The codes are the contract with the agent's
instructions and with dashboards: add codes, never rename them.
"""

from __future__ import annotations

from typing import Any, Final

CUSTOMER_NOT_FOUND: Final = "CUSTOMER_NOT_FOUND"
INVALID_PARAMETER: Final = "INVALID_PARAMETER"
OFFER_EXISTS: Final = "OFFER_EXISTS"
TABLE_UNAVAILABLE: Final = "TABLE_UNAVAILABLE"
RESULT_WITHHELD: Final = "RESULT_WITHHELD"
UNKNOWN_OPERATION: Final = "UNKNOWN_OPERATION"
INTERNAL_ERROR: Final = "INTERNAL_ERROR"

STATUS: Final = {
    INVALID_PARAMETER: 400,
    CUSTOMER_NOT_FOUND: 404,
    UNKNOWN_OPERATION: 404,
    OFFER_EXISTS: 409,
    RESULT_WITHHELD: 422,
    TABLE_UNAVAILABLE: 424,  # Failed Dependency: DynamoDB failed or throttled after the SDK's retries
    INTERNAL_ERROR: 500,
}


class ToolError(Exception):
    """A failure with a stable code; ``message`` is for the agent and never holds stored text."""

    def __init__(self, code: str, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        if code not in STATUS:
            raise ValueError(f"unknown error code {code}")
        self.code = code
        self.message = message
        self.field = field

    @property
    def status(self) -> int:
        return STATUS[self.code]

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field is not None:
            error["field"] = self.field
        return {"error": error}
