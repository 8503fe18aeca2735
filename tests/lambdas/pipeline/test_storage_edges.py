"""`Storage` and `raise_if_throttled`: the exact bytes and content types the pipeline writes, and which S3 errors
become the state machine's retried `Throttled` (the mutation run's survivors in storage.py and errors.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from pipeline.errors import Throttled, raise_if_throttled
from pipeline.storage import Storage


@pytest.fixture
def s3() -> Iterator[tuple[Storage, Stubber]]:
    client = boto3.client("s3", region_name="eu-west-1")
    with Stubber(client) as stubber:
        yield Storage(client), stubber
        stubber.assert_no_pending_responses()


def _put(stubber: Stubber, body: bytes, content_type: str) -> None:
    stubber.add_response("put_object", {}, {"Bucket": "b", "Key": "k", "Body": body, "ContentType": content_type})


def test_json_is_indented_by_two_with_sorted_keys_and_dates_as_text(s3: tuple[Storage, Stubber]) -> None:
    storage, stubber = s3
    body = b'{\n  "a": [\n    1\n  ],\n  "at": "2026-12-02",\n  "z": "\\u00e9"\n}'  # ASCII-escaped (json's default)
    _put(stubber, body, "application/json")
    storage.write_json("b", "k", {"z": "é", "at": dt.date(2026, 12, 2), "a": [1]})


def test_json_lines_are_compact_and_keep_non_ascii(s3: tuple[Storage, Stubber]) -> None:
    storage, stubber = s3
    _put(stubber, '{"name":"Zoë","n":1}\n{"x":[1,2]}\n'.encode(), "application/x-ndjson")
    storage.write_jsonl("b", "k", [{"name": "Zoë", "n": 1}, {"x": [1, 2]}])


def _error(code: str, message: str | None = "slow down") -> dict[str, Any]:
    error = {"service_error_code": code, "http_status_code": 503 if code == "SlowDown" else 404}
    if message is not None:
        error["service_message"] = message
    return error


@pytest.mark.parametrize("code", ["NoSuchKey", "404"])
def test_copying_a_source_that_is_gone_returns_false(s3: tuple[Storage, Stubber], code: str) -> None:
    storage, stubber = s3
    stubber.add_client_error("copy_object", **_error(code, "gone"))
    assert storage.copy("src", "a", "dst", "b") is False


def test_a_copy_that_succeeds_returns_true(s3: tuple[Storage, Stubber]) -> None:
    storage, stubber = s3
    stubber.add_response("copy_object", {}, {"CopySource": {"Bucket": "src", "Key": "a"}, "Bucket": "dst", "Key": "b"})
    assert storage.copy("src", "a", "dst", "b") is True


@pytest.mark.parametrize(
    ("operation", "call"),
    [
        ("put_object", lambda storage: storage.write("b", "k", b"x", "text/plain")),
        ("copy_object", lambda storage: storage.copy("src", "a", "dst", "b")),
        ("delete_object", lambda storage: storage.delete("b", "k")),
        ("get_object", lambda storage: storage.read("b", "k")),
    ],
)
def test_throttling_on_every_call_is_throttled_naming_the_operation(
    s3: tuple[Storage, Stubber], operation: str, call: Any
) -> None:
    storage, stubber = s3
    stubber.add_client_error(operation, **_error("SlowDown"))
    with pytest.raises(Throttled) as raised:
        call(storage)
    pascal = "".join(part.capitalize() for part in operation.split("_"))
    assert str(raised.value) == f"{pascal}: slow down"


def test_a_throttle_without_a_message_says_so_with_nothing_after_the_colon(s3: tuple[Storage, Stubber]) -> None:
    storage, stubber = s3
    stubber.add_client_error("delete_object", **_error("SlowDown", None))
    with pytest.raises(Throttled) as raised:
        storage.delete("b", "k")
    assert str(raised.value) == "DeleteObject: "


def test_an_error_without_a_message_leaves_nothing_after_the_colon() -> None:
    # S3 may answer a 503 with a code and no message at all (Stubber always adds one, so this builds the error).
    error = ClientError({"Error": {"Code": "SlowDown"}}, "PutObject")
    with pytest.raises(Throttled) as raised:
        raise_if_throttled(error)
    assert str(raised.value) == "PutObject: "
    assert raised.value.__cause__ is error
    raise_if_throttled(ClientError({"Error": {"Code": "AccessDenied"}}, "PutObject"))  # not throttling: no raise
