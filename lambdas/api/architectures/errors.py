"""Bedrock errors -> `ChatError`: one table for every architecture.

An error arrives either as a `botocore.exceptions.ClientError` of the call (``ThrottlingException``) or, once a
stream has started, as an exception event of the stream, which botocore raises as `EventStreamError` (a
`ClientError`) with the event's name as its code (``throttlingException``, ``modelStreamErrorException``).
Codes are compared case-insensitively so both spellings map the same way.

| Bedrock error (call or stream event)                                  | ChatError code       | HTTP |
|-----------------------------------------------------------------------|----------------------|------|
| ThrottlingException, ServiceQuotaExceededException, TooManyRequests,   | MODEL_THROTTLED      | 429  |
| modelStreamErrorException whose original status is 429 or says        |  (retry_after)       |      |
| "throttl"/"too many requests"                                         |                      |      |
| ValidationException (the prompt, history or a parameter is refused)   | MODEL_REJECTED_INPUT | 400  |
| ConflictException (agent: the session is busy with another request)   | SESSION_BUSY         | 409  |
| ServiceUnavailableException, ModelNotReadyException,                  | MODEL_UNAVAILABLE    | 503  |
| ModelTimeoutException                                                 |  (retry_after)       |      |
| AccessDeniedException, ResourceNotFoundException (the deployment is   | MODEL_MISCONFIGURED  | 502  |
| wrong: model access, a deleted agent alias or knowledge base)         |                      |      |
| ModelErrorException, modelStreamErrorException, InternalServerException,| MODEL_ERROR        | 502  |
| BadGatewayException, DependencyFailedException, any other             |                      |      |

``retry_after`` is the response's Retry-After header when there is one, else 60 s for a service quota (a
per-minute token quota refills within a minute) and 5 s for other throttling or unavailability. The message
never carries Bedrock's own text (it may quote the prompt); the code and the status are logged by the app.
"""

from __future__ import annotations

from botocore.exceptions import ClientError
from common.aws_errors import THROTTLING_CODES, error_code

from api.chat import ChatError

DEFAULT_RETRY_AFTER = 5
QUOTA_RETRY_AFTER = 60

_THROTTLED = frozenset(code.lower() for code in THROTTLING_CODES) | {"servicequotaexceededexception"}
_REJECTED = frozenset({"validationexception"})
_BUSY = frozenset({"conflictexception"})
_UNAVAILABLE = frozenset({"serviceunavailableexception", "modelnotreadyexception", "modeltimeoutexception"})
_MISCONFIGURED = frozenset({"accessdeniedexception", "resourcenotfoundexception"})
_STREAM_ERROR = "modelstreamerrorexception"


def chat_error(exc: ClientError) -> ChatError:
    """The `ChatError` for a Bedrock client error (see the module table)."""
    code = error_code(exc).lower()
    if code in _THROTTLED or (code == _STREAM_ERROR and _stream_error_is_throttling(exc)):
        fallback = QUOTA_RETRY_AFTER if code == "servicequotaexceededexception" else DEFAULT_RETRY_AFTER
        return ChatError(
            "MODEL_THROTTLED", 429, "The model is busy; retry shortly.", retry_after=_retry_after(exc, fallback)
        )
    if code in _REJECTED:
        return ChatError("MODEL_REJECTED_INPUT", 400, "The model rejected the request.")
    if code in _BUSY:
        return ChatError("SESSION_BUSY", 409, "This conversation is still answering another request.")
    if code in _UNAVAILABLE:
        return ChatError(
            "MODEL_UNAVAILABLE",
            503,
            "The model is temporarily unavailable.",
            retry_after=_retry_after(exc, DEFAULT_RETRY_AFTER),
        )
    if code in _MISCONFIGURED:
        return ChatError("MODEL_MISCONFIGURED", 502, "The model is not reachable with this deployment's settings.")
    return ChatError("MODEL_ERROR", 502, "The model failed to answer.")


def _stream_error_is_throttling(exc: ClientError) -> bool:
    error = exc.response.get("Error", {})
    status = error.get("originalStatusCode") or exc.response.get("originalStatusCode")
    if str(status) == "429":
        return True
    text = f"{error.get('Message', '')} {error.get('originalMessage', '')}".lower()
    return "throttl" in text or "too many requests" in text


def _retry_after(exc: ClientError, fallback: int) -> int:
    headers = exc.response.get("ResponseMetadata", {}).get("HTTPHeaders", {}) or {}
    value = str(headers.get("retry-after", "")).strip()
    return int(value) if value.isdigit() and int(value) > 0 else fallback
