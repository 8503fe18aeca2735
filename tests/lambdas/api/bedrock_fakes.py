"""Model-checked Bedrock (and Comprehend) responders for the pipeline tests.

`botocore.stub.Stubber` checks a response against the output shape, but an event stream is not a dict it can
validate or a value botocore would have parsed: the streaming operations (ConverseStream, InvokeAgent) are
answered here instead, the honest way round. Each event is validated against its member of the stream's shape,
encoded in the AWS event-stream wire format (prelude, headers, JSON payload, CRCs) and handed to the client's
own response parser, so the code under test iterates a real `botocore.eventstream.EventStream` and exception
events come out as botocore's own `EventStreamError`.

Requests go through botocore's parameter validation before they get here (the client validates before it
emits ``before-call``); the API parameters are captured at ``before-parameter-build`` and kept in ``calls``.
Plain operations (Retrieve, Converse, ApplyGuardrail, Comprehend) are answered by a function of the request
whose result is validated against the output shape, as Stubber does; an `Error` raises the modelled error.
"""

from __future__ import annotations

import base64
import binascii
import json
import struct
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse
from botocore.validate import validate_parameters

REGION = "eu-west-1"


# --------------------------------------------------------------------------- event-stream wire format


def _header(name: str, value: str) -> bytes:
    raw_name, raw_value = name.encode(), value.encode()
    return struct.pack("!B", len(raw_name)) + raw_name + struct.pack("!BH", 7, len(raw_value)) + raw_value


def encode_message(headers: Mapping[str, str], payload: bytes) -> bytes:
    """One event-stream message: total length, headers length, prelude CRC, headers, payload, message CRC."""
    encoded = b"".join(_header(k, v) for k, v in headers.items())
    total = 12 + len(encoded) + len(payload) + 4
    prelude = struct.pack("!II", total, len(encoded))
    prelude += struct.pack("!I", binascii.crc32(prelude) & 0xFFFFFFFF)
    body = prelude + encoded + payload
    return body + struct.pack("!I", binascii.crc32(body) & 0xFFFFFFFF)


def _json_payload(shape: Any, value: Mapping[str, Any]) -> bytes:
    """The JSON body of an event: blobs base64-encoded as the JSON protocols write them."""

    def encode(member_shape: Any, item: Any) -> Any:
        if member_shape.type_name == "blob":
            return base64.b64encode(item).decode()
        if member_shape.type_name == "structure":
            return {k: encode(member_shape.members[k], v) for k, v in item.items()}
        if member_shape.type_name == "list":
            return [encode(member_shape.member, v) for v in item]
        if member_shape.type_name == "map":
            return {k: encode(member_shape.value, v) for k, v in item.items()}
        return item

    return json.dumps(encode(shape, value)).encode()


class _RawStream:
    """What botocore's EventStream reads: ``stream()`` yields the bytes; closing is recorded."""

    def __init__(self, chunks: list[bytes]) -> None:
        self._chunks = chunks
        self.closed = False

    def stream(self) -> Iterator[bytes]:
        yield from self._chunks

    def close(self) -> None:
        self.closed = True


# --------------------------------------------------------------------------- responders


@dataclass(frozen=True)
class Error:
    """A modelled error of the operation (or an exception event of a stream: its member name as ``code``)."""

    code: str
    message: str = "error"
    status: int = 400
    fields: Mapping[str, Any] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)


Answer = Callable[[dict[str, Any]], Any]


@dataclass
class Responder:
    """Answers operations of one client from functions of the request (see the module docstring).

    ``answers[op]`` is a function of the API parameters returning: a response dict (plain operation), an
    iterable of ``{member: value}`` events or `Error` (streaming operation), or an `Error`.
    """

    client: Any
    answers: dict[str, Answer] = field(default_factory=dict)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    streams: list[_RawStream] = field(default_factory=list)

    def __post_init__(self) -> None:
        service = self.client.meta.service_model.service_id.hyphenize()
        self.client.meta.events.register(f"before-parameter-build.{service}", self._capture)
        self.client.meta.events.register(f"before-call.{service}", self._answer)

    def on(self, operation: str, answer: Answer) -> Responder:
        self.answers[operation] = answer
        return self

    def params(self, operation: str) -> list[dict[str, Any]]:
        return [params for name, params in self.calls if name == operation]

    def _capture(self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        context["fake_params"] = json.loads(json.dumps(params, default=_bytes))

    def _answer(self, model: Any, context: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        params = context["fake_params"]
        self.calls.append((model.name, params))
        if model.name not in self.answers:
            raise AssertionError(f"unexpected call {model.name}")
        result = self.answers[model.name](params)
        if isinstance(result, Error):
            return self._error(model, result)
        if model.has_event_stream_output:
            return self._stream(model, result)
        validate_parameters(result, model.output_shape)
        return AWSResponse("https://bedrock", 200, {}, None), {**result, "ResponseMetadata": {"HTTPStatusCode": 200}}

    def _error(self, model: Any, error: Error) -> tuple[AWSResponse, dict[str, Any]]:
        assert any(shape.name == error.code for shape in model.error_shapes), f"{model.name} has no {error.code}"
        parsed = {
            "Error": {"Code": error.code, "Message": error.message, **error.fields},
            "ResponseMetadata": {"HTTPStatusCode": error.status, "HTTPHeaders": dict(error.headers)},
        }
        return AWSResponse("https://bedrock", error.status, dict(error.headers), None), parsed

    def _stream(self, model: Any, events: Iterable[Any]) -> tuple[AWSResponse, dict[str, Any]]:
        output = model.output_shape
        (member,) = [name for name, shape in output.members.items() if shape.serialization.get("eventstream")]
        stream_shape = output.members[member]
        chunks = []
        for event in events:
            if isinstance(event, Error):
                error_shape = stream_shape.members[event.code]
                body = {"message": event.message, **event.fields}
                validate_parameters(body, error_shape)
                headers = {":message-type": "exception", ":exception-type": event.code}
                chunks.append(
                    encode_message({**headers, ":content-type": "application/json"}, json.dumps(body).encode())
                )
                continue
            validate_parameters(event, stream_shape)
            ((name, value),) = event.items()
            headers = {":message-type": "event", ":event-type": name, ":content-type": "application/json"}
            chunks.append(encode_message(headers, _json_payload(stream_shape.members[name], value)))
        raw = _RawStream(chunks)
        self.streams.append(raw)
        extra = {"sessionId": "s", "contentType": "application/json"} if "sessionId" in output.members else {}
        response_dict = {
            "status_code": 200,
            "headers": {"x-amz-bedrock-agent-session-id": "s", "x-amzn-bedrock-agent-content-type": "application/json"}
            if extra
            else {},
            "body": raw,
            "context": {"operation_name": model.name},
        }
        parsed = self.client._response_parser.parse(response_dict, output)
        return AWSResponse("https://bedrock", 200, {}, raw), parsed


def _bytes(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode()
    raise TypeError(type(value).__name__)


def runtime() -> tuple[Any, Responder]:
    client = boto3.client("bedrock-runtime", region_name=REGION)
    return client, Responder(client)


def agent_runtime() -> tuple[Any, Responder]:
    client = boto3.client("bedrock-agent-runtime", region_name=REGION)
    return client, Responder(client)


def comprehend(*, toxic_words: Iterable[str] = (), pii: Iterable[tuple[str, str]] = ()) -> tuple[Any, Responder]:
    """Comprehend that scores a text toxic (0.95) when it holds one of ``toxic_words`` and reports each
    (type, string) of ``pii`` wherever the string occurs."""
    toxic, secrets = [w.lower() for w in toxic_words], list(pii)
    client = boto3.client("comprehend", region_name=REGION)

    def toxicity(params: dict[str, Any]) -> dict[str, Any]:
        results = []
        for segment in params["TextSegments"]:
            score = 0.95 if any(w in segment["Text"].lower() for w in toxic) else 0.01
            results.append({"Toxicity": score, "Labels": [{"Name": "INSULT", "Score": score}]})
        return {"ResultList": results}

    def pii_entities(params: dict[str, Any]) -> dict[str, Any]:
        text, found = params["Text"], []
        for kind, secret in secrets:
            begin = text.find(secret)
            while begin >= 0:
                found.append({"Type": kind, "Score": 0.99, "BeginOffset": begin, "EndOffset": begin + len(secret)})
                begin = text.find(secret, begin + 1)
        return {"Entities": found}

    responder = Responder(client).on("DetectToxicContent", toxicity).on("DetectPiiEntities", pii_entities)
    return client, responder
