"""The chat app: one ASGI (Starlette) application for every route of the Api stack.

`create_app(deps)` takes everything it talks to as `AppDependencies` (settings, the request pipeline, the
three stores, a metrics recorder, a logger, a clock and a request-id generator), so tests run it with fakes
or with the real pipeline over moto and Stubber'd clients; `api.server` builds the real ones.

Routes (docs/api.md, "The API"):

- ``POST /chat``: the answer as one JSON document. ``POST /chat/stream``: the same answer as server-sent
  events. Both run the ONE request pipeline (`ChatPipeline.stream`); the buffered route consumes its events.
- ``POST /feedback``, ``POST /events``: the user's rating of an answer; copy / regenerate / session
  start and end.
- ``GET /sessions``, ``GET /sessions/{id}``: the caller's own conversations only.
- ``GET /healthz``: liveness, no identity needed (the Lambda Web Adapter's readiness check may use it).

Caller identity. API Gateway's Cognito user-pool authorizer verifies the token; the Lambda Web Adapter then
hands the app API Gateway's ``requestContext`` as JSON in the ``x-amzn-request-context`` header
(awslabs/aws-lambda-web-adapter, docs "Request & Lambda Context": "API Gateway sends metadata (requestId,
requestTime, apiId, identity, authorizer) for each request. This is forwarded in the x-amzn-request-context
header as a JSON string"; their example reads ``requestContext.authorizer.claims.sub``). For a REST API with
a Cognito authorizer the claims are strings: ``authorizer.claims.sub`` (the user id) and
``authorizer.claims["cognito:groups"]`` (the groups, comma-separated, e.g. ``"users,admins"``; a JSON list
or ``"[users admins]"`` are read too). A request without a usable context is refused with 401
UNAUTHENTICATED (API Gateway would have refused it already; defence in depth). Only an app created with
``local=True`` (``make``-less local runs, see `api.server`) falls back to ``AppDependencies.local_user``
when the header is absent.

Errors are JSON ``{"error": {"code", "message", "request_id"}}`` with a stable code and a 4xx status
(`ERRORS`); model or table throttling is 429 with Retry-After, never 5xx. Inside an event stream that has
already started, an error is an ``event: error`` with the same object and ends the stream.
"""

from __future__ import annotations

import json
import math
import re
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import suppress
from dataclasses import asdict, dataclass, field, is_dataclass
from typing import Any, Literal, Protocol

import anyio
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from api.chat import Answer, Blocked, Caller, ChatError, ChatRequest, Citation, Citations, Delta, Done, Turn
from api.contract import ApiSettings

REQUEST_CONTEXT_HEADER = "x-amzn-request-context"
REQUEST_ID_HEADER = "x-request-id"
LOCAL_USER_ENV = "KIT_LOCAL_USER"  # "<user id>[:<group>,<group>...]", read by api.server; local runs only
DEFAULT_LOCAL_USER = "local-user:users"
SESSION_ID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"  # a UUID
_SESSION_ID = re.compile(SESSION_ID_PATTERN)
_USER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@:+-]{0,127}$")
_GROUP = re.compile(r"^[\w.@+-]{1,128}$")
MAX_BODY_BYTES = 64 * 1024  # before JSON parsing; prompts are bounded by settings.max_prompt_chars after
DEFAULT_RETRY_AFTER = 1

# code -> HTTP status: the app's stable error codes (docs/api.md lists them).
ERRORS: dict[str, int] = {
    "INVALID_JSON": 400,
    "INVALID_REQUEST": 400,
    "PROMPT_TOO_LONG": 413,
    "UNKNOWN_ARCHITECTURE": 400,
    "UNKNOWN_TASK": 400,
    "UNAUTHENTICATED": 401,
    "NO_QUOTA": 403,
    "SESSION_NOT_FOUND": 404,
    "NOT_FOUND": 404,
    "METHOD_NOT_ALLOWED": 405,
    "BODY_TOO_LARGE": 413,
    "UNSUPPORTED_MEDIA_TYPE": 415,
    "QUOTA_EXCEEDED": 429,
    "THROTTLED": 429,
    "INTERNAL": 500,
}


# ------------------------------------------------------------------------------------------ seams


class Pipeline(Protocol):
    def stream(self, request: ChatRequest) -> Iterator[Any]: ...


class ConversationStore(Protocol):
    def window(self, user_id: str, session_id: str, max_tokens: int) -> tuple[Turn, ...]: ...
    def append(self, user_id: str, session_id: str, turns: Sequence[Turn], request_id: str) -> None: ...
    def sessions(self, user_id: str) -> Sequence[Any]: ...
    def session(self, user_id: str, session_id: str) -> Any: ...


class QuotaStore(Protocol):
    def admit(self, user_id: str, quota: Any) -> None: ...
    def charge_tokens(self, user_id: str, quota: Any, tokens: int) -> None: ...


class TelemetryStore(Protocol):
    def feedback(  # noqa: PLR0917 - the store's signature
        self,
        user_id: str,
        session_id: str,
        request_id: str,
        rating: Literal["up", "down"],
        reason: str | None,
        comment: str | None,
    ) -> None: ...
    def event(
        self,
        user_id: str,
        session_id: str,
        kind: Literal["copy", "regenerate", "session_start", "session_end"],
        duration_seconds: float | None,
    ) -> None: ...
    def exchange(  # noqa: PLR0917 - the store's signature
        self, user_id: str, session_id: str, request_id: str, prompt: str, answer: str, architecture: str
    ) -> None: ...


class MetricsRecorder(Protocol):
    """One metric value with its dimensions (the server's is EMF through Powertools, `api.server`)."""

    def record(self, name: str, value: float, unit: str, dimensions: Mapping[str, str]) -> None: ...


class AppLogger(Protocol):
    def info(self, msg: str, *args: Any, **kwargs: Any) -> None: ...
    def warning(self, msg: str, *args: Any, **kwargs: Any) -> None: ...
    def exception(self, msg: str, *args: Any, **kwargs: Any) -> None: ...


class _NullMetrics:
    def record(self, name: str, value: float, unit: str, dimensions: Mapping[str, str]) -> None:
        return None


class _NullLogger:
    def info(self, msg: str, *args: Any, **kwargs: Any) -> None:
        return None

    warning = info
    exception = info


def _new_request_id() -> str:
    return str(uuid.uuid4())


@dataclass(frozen=True)
class AppDependencies:
    settings: ApiSettings
    pipeline: Pipeline
    conversations: ConversationStore
    quotas: QuotaStore
    telemetry: TelemetryStore
    metrics: MetricsRecorder = field(default_factory=_NullMetrics)
    logger: AppLogger = field(default_factory=_NullLogger)
    clock: Callable[[], float] = time.perf_counter  # monotonic seconds, for latencies
    new_request_id: Callable[[], str] = _new_request_id
    new_session_id: Callable[[], str] = _new_request_id
    local_user: str = DEFAULT_LOCAL_USER  # the identity of an app created with local=True (KIT_LOCAL_USER)
    max_concurrent_streams: int = 256  # worker threads that may step pipelines at once (per process)


# ------------------------------------------------------------------------------------------ errors


class ApiError(Exception):
    def __init__(self, code: str, message: str, *, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = ERRORS.get(code, 400)
        self.retry_after = retry_after


def _error_body(code: str, message: str, request_id: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "request_id": request_id}}


def _error_response(error: ApiError, request_id: str) -> JSONResponse:
    headers = {REQUEST_ID_HEADER: request_id}
    if error.retry_after is not None:
        headers["Retry-After"] = str(error.retry_after)
    return JSONResponse(_error_body(error.code, error.message, request_id), status_code=error.status, headers=headers)


def _as_api_error(exc: BaseException) -> ApiError | None:
    """The stable 4xx an exception of the pipeline or the stores stands for; None: a bug (500)."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, ChatError):  # the pipeline's own status: 4xx, or 502/503 when Bedrock failed
        retry = exc.retry_after
        error = ApiError(exc.code, exc.message, retry_after=None if retry is None else max(1, math.ceil(retry)))
        error.status = 429 if exc.code.endswith("THROTTLED") else exc.status if 400 <= exc.status < 600 else 500
        if error.status in (429, 503) and error.retry_after is None:
            error.retry_after = DEFAULT_RETRY_AFTER
        return error
    # the store's refusals, imported here: `api.store` pulls boto3, which the app module itself never needs
    from api.store.errors import QuotaExceeded, SessionNotFound  # noqa: PLC0415

    if isinstance(exc, QuotaExceeded):
        return ApiError("QUOTA_EXCEEDED", f"quota {exc.kind} exceeded", retry_after=max(1, int(exc.retry_after)))
    if isinstance(exc, SessionNotFound):
        return ApiError("SESSION_NOT_FOUND", "no such session")
    if _is_throttling(exc):
        return ApiError("THROTTLED", "the service is busy; retry shortly", retry_after=DEFAULT_RETRY_AFTER)
    return None


def _is_throttling(exc: BaseException) -> bool:
    response = getattr(exc, "response", None)  # botocore ClientError, without importing botocore here
    if not isinstance(response, dict):
        return False
    from common.aws_errors import THROTTLING_CODES  # noqa: PLC0415 - botocore only when an AWS error happened

    return str(response.get("Error", {}).get("Code", "")) in THROTTLING_CODES


# ------------------------------------------------------------------------------------------ bodies


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    @field_validator("*", mode="after")
    @classmethod
    def _encodable(cls, value: Any) -> Any:
        if isinstance(value, str):
            value.encode("utf-8")  # a lone surrogate ("\ud800") raises UnicodeEncodeError -> ValueError
        return value


class ChatBody(_Body):
    message: str = Field(min_length=1, description="The user's message; at most settings.max_prompt_chars.")
    session_id: str | None = Field(None, pattern=SESSION_ID_PATTERN, description="Absent: a new session.")
    architecture: str | None = Field(None, max_length=32, description="One of the settings' architectures.")
    task: str | None = Field(None, max_length=64, description="One of the settings' tasks (prompt_parameters).")


class FeedbackBody(_Body):
    session_id: str = Field(pattern=SESSION_ID_PATTERN)
    request_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9-]+$")
    rating: Literal["up", "down"]
    reason: str | None = Field(None, min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$")
    comment: str | None = Field(None, max_length=1000)


class EventBody(_Body):
    session_id: str = Field(pattern=SESSION_ID_PATTERN)
    kind: Literal["copy", "regenerate", "session_start", "session_end"]
    duration_seconds: float | None = Field(None, ge=0, le=7 * 24 * 3600, allow_inf_nan=False)
    request_id: str | None = Field(None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9-]+$")


def _describe(error: ValidationError) -> str:
    first = error.errors(include_input=False, include_url=False)[0]
    where = ".".join(str(part) for part in first["loc"]) or "body"
    return f"{where}: {first['msg']}"


async def _body(request: Request, model: type[_Body]) -> Any:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise ApiError("BODY_TOO_LARGE", f"the body exceeds {MAX_BODY_BYTES} bytes")
    media = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    if media not in ("application/json", ""):
        raise ApiError("UNSUPPORTED_MEDIA_TYPE", "send application/json")
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_BODY_BYTES:
            raise ApiError("BODY_TOO_LARGE", f"the body exceeds {MAX_BODY_BYTES} bytes")
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise ApiError("INVALID_JSON", "the body is not valid JSON") from exc
    if not isinstance(data, dict):
        raise ApiError("INVALID_REQUEST", "the body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ApiError("INVALID_REQUEST", _describe(exc)) from exc


# ------------------------------------------------------------------------------------------ identity


def _groups(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        parts: Iterable[Any] = re.split(r"[,\s]+", value.strip().strip("[]"))
    elif isinstance(value, list):
        parts = value
    else:
        raise ApiError("UNAUTHENTICATED", "the caller's groups are unreadable")
    groups = tuple(sorted({p.strip() for p in parts if isinstance(p, str) and p.strip()}))
    if not all(_GROUP.match(group) for group in groups):
        raise ApiError("UNAUTHENTICATED", "the caller's groups are unreadable")
    return groups


def caller_from_request_context(header: str) -> Caller:
    """The caller from the Lambda Web Adapter's ``x-amzn-request-context`` (API Gateway's requestContext)."""
    try:
        context = json.loads(header)
    except (ValueError, RecursionError) as exc:
        raise ApiError("UNAUTHENTICATED", "the request context is not JSON") from exc
    authorizer = context.get("authorizer") if isinstance(context, dict) else None
    claims = authorizer.get("claims") if isinstance(authorizer, dict) else None
    sub = claims.get("sub") if isinstance(claims, dict) else None
    if not isinstance(sub, str) or not _USER_ID.match(sub):
        raise ApiError("UNAUTHENTICATED", "no authenticated caller")
    assert isinstance(claims, dict)
    return Caller(user_id=sub, groups=_groups(claims.get("cognito:groups")))


def parse_local_user(value: str) -> Caller:
    """``KIT_LOCAL_USER``: ``"<user id>[:<group>,<group>...]"``, e.g. ``"alice:users,admins"``."""
    user_id, _, groups = value.partition(":")
    if not _USER_ID.match(user_id):
        raise ValueError(f"{LOCAL_USER_ENV}: {user_id!r} is not a valid user id")
    return Caller(user_id=user_id, groups=_groups(groups))


# ------------------------------------------------------------------------------------------ SSE


def sse(event: str, data: Mapping[str, Any]) -> bytes:
    """One server-sent event: ``event: <name>``, one ``data:`` line of compact JSON, a blank line."""
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return f"event: {event}\ndata: {payload}\n\n".encode()


def _citation(item: Citation) -> dict[str, str]:
    return {"source": item.source, "text": item.text}


BLOCKED_MESSAGES = {
    "input": "The message was not accepted by the content policy.",
    "output": "The answer was withheld by the content policy.",
}


def _blocked(blocked: Blocked, request_id: str) -> dict[str, Any]:
    """What the client learns of a block: the code and stage, never the causes (they stay in logs and metrics)."""
    message = BLOCKED_MESSAGES.get(blocked.stage, BLOCKED_MESSAGES["output"])
    return {"code": blocked.code, "stage": blocked.stage, "message": message, "request_id": request_id}


def _causes(blocked: Blocked) -> list[str]:
    return [cause.strip() for cause in blocked.reason.split(",") if cause.strip()] or ["unknown"]


def _metadata(answer: Answer, session_id: str) -> dict[str, Any]:
    return {
        "request_id": answer.request_id,
        "session_id": session_id,
        "architecture": answer.architecture,
        "citations": [_citation(c) for c in answer.citations],
        "guardrail_action": answer.guardrail_action,
        "usage": {"input_tokens": answer.usage.input_tokens, "output_tokens": answer.usage.output_tokens},
        "prompt_version": answer.prompt_version,
    }


def _jsonable(value: Any) -> Any:
    """The JSON form of a store's answer: its ``as_dict()``, a pydantic model's or a dataclass's fields."""
    as_dict = getattr(value, "as_dict", None)
    if callable(as_dict):
        return _jsonable(as_dict())
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if is_dataclass(value) and not isinstance(value, type):
        return _jsonable(asdict(value))
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


# ------------------------------------------------------------------------------------------ the app


_END = object()


def _step(iterator: Iterator[Any]) -> Any:
    return next(iterator, _END)


def create_app(deps: AppDependencies, *, local: bool = False) -> Starlette:  # noqa: PLR0915 - one closure
    """The ASGI app over ``deps``; ``local=True`` only for local runs (see the module docstring)."""
    settings = deps.settings
    local_caller = parse_local_user(deps.local_user) if local else None
    limiter = anyio.CapacityLimiter(deps.max_concurrent_streams)

    async def blocking(function: Callable[..., Any], *args: Any) -> Any:
        """``function(*args)`` on a worker thread; the pipeline's and the stores' refusals become `ApiError`."""
        try:
            return await anyio.to_thread.run_sync(function, *args, limiter=limiter)
        except ApiError:
            raise
        except Exception as exc:
            mapped = _as_api_error(exc)
            if mapped is None:
                raise
            raise mapped from exc

    def caller_of(request: Request) -> Caller:
        header = request.headers.get(REQUEST_CONTEXT_HEADER)
        if header is None and local_caller is not None:
            return local_caller
        if header is None:
            raise ApiError("UNAUTHENTICATED", "no authenticated caller")
        return caller_from_request_context(header)

    def request_id_of(request: Request) -> str:
        request_id: str = request.state.request_id
        return request_id

    # ---------------------------------------------------------------- chat

    async def prepare(request: Request) -> tuple[ChatRequest, Any]:
        """Identity, body, quota, conversation window: the request the pipeline runs, and the caller's quota."""
        caller = caller_of(request)
        body: ChatBody = await _body(request, ChatBody)
        if len(body.message) > settings.max_prompt_chars:
            raise ApiError("PROMPT_TOO_LONG", f"the message exceeds {settings.max_prompt_chars} characters")
        architecture = body.architecture or settings.architecture
        if architecture not in settings.architectures:
            raise ApiError("UNKNOWN_ARCHITECTURE", f"architecture must be one of {list(settings.architectures)}")
        task = body.task if body.task is not None else settings.default_task
        if body.task is not None and body.task not in settings.prompt_parameters:
            raise ApiError("UNKNOWN_TASK", f"task must be one of {list(settings.tasks)}")
        quota = settings.quota_for(caller.groups)
        if quota is None:
            raise ApiError("NO_QUOTA", "the caller's groups have no quota")
        await blocking(deps.quotas.admit, caller.user_id, quota)
        session_id = (body.session_id or deps.new_session_id()).lower()
        history: tuple[Turn, ...] = ()
        if body.session_id is not None:
            history = await blocking(deps.conversations.window, caller.user_id, session_id, settings.history_tokens)
        chat = ChatRequest(
            request_id=request_id_of(request),
            caller=caller,
            session_id=session_id,
            message=body.message,
            architecture=architecture,  # checked against settings.architectures
            task=task,
            history=history,
        )
        return chat, quota

    def finish(chat: ChatRequest, quota: Any, answer: Answer) -> None:
        """After the pipeline's Done: memory, quota, fine-tuning record (thread; before the client's done)."""
        user = chat.caller.user_id
        tokens = answer.usage.input_tokens + answer.usage.output_tokens
        if tokens:
            deps.quotas.charge_tokens(user, quota, tokens)
        if answer.blocked is None:  # a blocked exchange never enters the window nor the fine-tuning data
            turns = (Turn(role="user", text=chat.message), Turn(role="assistant", text=answer.text))
            deps.conversations.append(user, chat.session_id, turns, chat.request_id)
            deps.telemetry.exchange(
                user, chat.session_id, chat.request_id, chat.message, answer.text, chat.architecture
            )

    def measure(chat: ChatRequest, answer: Answer | None, started: float, first: float | None, error: str) -> None:
        architecture = {"architecture": chat.architecture}
        record = deps.metrics.record
        record("ChatLatency", (deps.clock() - started) * 1000, "Milliseconds", architecture)
        if first is not None:
            record("ChatFirstEventLatency", (first - started) * 1000, "Milliseconds", architecture)
        if error:
            record("ChatErrors", 1, "Count", {**architecture, "code": error})
        if answer is None:
            return
        record("InputTokens", answer.usage.input_tokens, "Count", architecture)
        record("OutputTokens", answer.usage.output_tokens, "Count", architecture)
        causes = _causes(answer.blocked) if answer.blocked is not None else []
        if answer.guardrail_action in ("INTERVENED", "GUARDRAIL_INTERVENED") or "guardrail" in causes:
            record("GuardrailInterventions", 1, "Count", architecture)
        for cause in causes:
            assert answer.blocked is not None
            record("ChatBlocked", 1, "Count", {**architecture, "cause": cause, "stage": answer.blocked.stage})

    async def exchange(chat: ChatRequest, quota: Any) -> AsyncGenerator[Any, None]:
        """The pipeline's events, stepped on worker threads; Done only after the exchange is stored."""
        started = deps.clock()
        first: float | None = None
        answer: Answer | None = None
        error = ""
        iterator = iter(deps.pipeline.stream(chat))
        try:
            while True:
                event = await blocking(_step, iterator)
                if event is _END:
                    break
                if first is None:
                    first = deps.clock()
                if isinstance(event, Done):
                    answer = event.answer
                    await blocking(finish, chat, quota, answer)
                yield event
        except ApiError as exc:
            error = exc.code
            raise
        except BaseException as exc:
            error = type(exc).__name__
            raise
        finally:
            measure(chat, answer, started, first, error)
            close = getattr(iterator, "close", None)
            if close is not None:
                with suppress(Exception):
                    close()
            # One line per request: who (the Cognito sub, as API Gateway's access log has it), what came of it and
            # where the time went; docs/observability.md's Logs Insights queries read these fields.
            blocked = answer.blocked if answer is not None else None
            deps.logger.info(
                "chat",
                extra={
                    "request_id": chat.request_id,
                    "user_id": chat.caller.user_id,
                    "architecture": chat.architecture,
                    "session_id": chat.session_id,
                    "outcome": error or ("blocked" if blocked else "answered"),
                    "causes": ",".join(_causes(blocked)) if blocked is not None else "",
                    "latency_ms": round((deps.clock() - started) * 1000, 1),
                    "first_event_ms": None if first is None else round((first - started) * 1000, 1),
                },
            )

    async def chat_buffered(request: Request) -> Response:
        chat, quota = await prepare(request)
        answer: Answer | None = None
        async for event in exchange(chat, quota):
            if isinstance(event, Done):
                answer = event.answer
        if answer is None:
            raise RuntimeError("the pipeline ended without Done")
        body = _metadata(answer, chat.session_id)
        blocked = answer.blocked
        body["text"] = "" if blocked else answer.text
        body["blocked"] = None if blocked is None else _blocked(blocked, chat.request_id)
        return JSONResponse(body, headers={REQUEST_ID_HEADER: chat.request_id})

    async def chat_stream(request: Request) -> Response:
        chat, quota = await prepare(request)
        events: AsyncGenerator[Any, None] = exchange(chat, quota)
        try:  # the first event before the status line: errors up to here are still a 4xx JSON answer
            first = await events.__anext__()
        except StopAsyncIteration as exc:
            raise RuntimeError("the pipeline ended without Done") from exc

        async def frames() -> AsyncIterator[bytes]:
            event: Any = first
            try:
                while True:
                    if isinstance(event, Delta):
                        yield sse("delta", {"text": event.text})
                    elif isinstance(event, Citations):
                        yield sse("citations", {"items": [_citation(c) for c in event.items]})
                    elif isinstance(event, Blocked):
                        yield sse("blocked", _blocked(event, chat.request_id))
                        async for _ in events:  # the pipeline's Done: stored and counted, never sent
                            pass
                        return
                    elif isinstance(event, Done):
                        yield sse("done", _metadata(event.answer, chat.session_id))
                    try:
                        event = await events.__anext__()
                    except StopAsyncIteration:
                        return
            except Exception as exc:
                mapped = _as_api_error(exc)
                if mapped is None:
                    deps.logger.exception("stream failed")
                    mapped = ApiError("INTERNAL", "the answer failed")
                yield sse("error", _error_body(mapped.code, mapped.message, chat.request_id)["error"])
            finally:
                await events.aclose()

        headers = {REQUEST_ID_HEADER: chat.request_id, "Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        return StreamingResponse(frames(), media_type="text/event-stream", headers=headers)

    # ---------------------------------------------------------------- feedback, events, sessions

    async def feedback(request: Request) -> Response:
        caller = caller_of(request)
        body: FeedbackBody = await _body(request, FeedbackBody)
        session_id = body.session_id.lower()
        await blocking(deps.conversations.session, caller.user_id, session_id)  # SessionNotFound -> 404
        await blocking(
            deps.telemetry.feedback, caller.user_id, session_id, body.request_id, body.rating, body.reason, body.comment
        )
        return JSONResponse({"ok": True, "request_id": request_id_of(request)}, status_code=202)

    async def events(request: Request) -> Response:
        caller = caller_of(request)
        body: EventBody = await _body(request, EventBody)
        session_id = body.session_id.lower()
        if body.kind in ("copy", "regenerate"):  # about an answer: the caller's own session only
            await blocking(deps.conversations.session, caller.user_id, session_id)
        # session_start / session_end may name a session with no turns yet; they are recorded under the
        # caller's own user id, so another user's session id touches nothing of theirs and learns nothing.
        await blocking(deps.telemetry.event, caller.user_id, session_id, body.kind, body.duration_seconds)
        return JSONResponse({"ok": True, "request_id": request_id_of(request)}, status_code=202)

    async def sessions(request: Request) -> Response:
        caller = caller_of(request)
        found = await blocking(deps.conversations.sessions, caller.user_id)
        return JSONResponse({"sessions": _jsonable(list(found))})

    async def session(request: Request) -> Response:
        caller = caller_of(request)
        session_id = str(request.path_params["session_id"])
        if not _SESSION_ID.match(session_id):
            raise ApiError("SESSION_NOT_FOUND", "no such session")
        detail = await blocking(deps.conversations.session, caller.user_id, session_id.lower())
        return JSONResponse({"session": _jsonable(detail)})

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    # ---------------------------------------------------------------- plumbing

    async def on_http_exception(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        code = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}.get(exc.status_code, "INVALID_REQUEST")
        error = ApiError(code, "no such route" if code == "NOT_FOUND" else str(exc.detail))
        error.status = exc.status_code if 400 <= exc.status_code < 500 else 400
        return _error_response(error, _request_id(request))

    async def on_error(request: Request, exc: Exception) -> Response:
        mapped = _as_api_error(exc)
        if mapped is None:
            deps.logger.exception("request failed")
            return _error_response(ApiError("INTERNAL", "internal error"), _request_id(request))
        if mapped.status == 429:
            deps.logger.warning("throttled", extra={"code": mapped.code})
            # QUOTA_EXCEEDED (the caller's quota) or a throttled model or table (MODEL_THROTTLED, THROTTLED), by code:
            # the dashboard's quota rejections. Counted only before a stream starts (then it is an `error` event).
            deps.metrics.record("RequestsThrottled", 1, "Count", {"code": mapped.code})
        return _error_response(mapped, _request_id(request))

    def _request_id(request: Request) -> str:
        return str(getattr(request.state, "request_id", "") or "")

    app = Starlette(
        routes=[
            Route("/chat", chat_buffered, methods=["POST"]),
            Route("/chat/stream", chat_stream, methods=["POST"]),
            Route("/feedback", feedback, methods=["POST"]),
            Route("/events", events, methods=["POST"]),
            Route("/sessions", sessions, methods=["GET"]),
            Route("/sessions/{session_id}", session, methods=["GET"]),
            Route("/healthz", healthz, methods=["GET"]),
        ],
        middleware=[
            # A proxy integration's answers carry no CORS headers from API Gateway: the app adds them for the
            # configured origins only (the gateway answers the OPTIONS preflight itself).
            Middleware(
                CORSMiddleware,
                allow_origins=list(deps.settings.cors_origins),
                allow_methods=["GET", "POST"],
                allow_headers=["authorization", "content-type"],
                expose_headers=["x-request-id", "retry-after"],
            ),
            Middleware(_RequestIds, deps=deps),
        ],
        exception_handlers={HTTPException: on_http_exception, ApiError: on_error, Exception: on_error},
    )
    app.state.deps = deps
    return app


class _RequestIds:
    """ASGI middleware: a request id per request (``request.state.request_id``, the ``x-request-id`` answer
    header, the logger's correlation keys)."""

    def __init__(self, app: Any, deps: AppDependencies) -> None:
        self.app = app
        self.deps = deps

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            request_id = self.deps.new_request_id()
            scope.setdefault("state", {})["request_id"] = request_id
            append = getattr(self.deps.logger, "append_context_keys", None)
            if append is not None:
                with append(request_id=request_id, path=scope.get("path", "")):
                    await self.app(scope, receive, send)
                return
        await self.app(scope, receive, send)
