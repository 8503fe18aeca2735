"""`error_code` and `is_throttling`: which AWS errors mean "slow down, retry later"."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError
from common.aws_errors import error_code, is_throttling


def _client_error(response: dict[str, Any]) -> ClientError:
    return ClientError(response, "DoSomething")


def _coded(code: str) -> ClientError:
    return _client_error({"Error": {"Code": code, "Message": "..."}, "ResponseMetadata": {"HTTPStatusCode": 400}})


@pytest.mark.parametrize(
    "code",
    [
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "SlowDown",
        "ThrottledException",
    ],
)
def test_the_codes_by_which_aws_says_slow_down_are_throttling(code):
    exc = _coded(code)
    assert error_code(exc) == code
    assert is_throttling(exc) is True


@pytest.mark.parametrize(
    "code", ["AccessDeniedException", "ValidationException", "ResourceNotFoundException", "throttlingexception", ""]
)
def test_other_codes_are_not_throttling(code):
    exc = _coded(code)
    assert error_code(exc) == code
    assert is_throttling(exc) is False


@pytest.mark.parametrize(
    "response",
    [
        {},  # no Error at all
        {"Error": {}},  # an Error without a Code
        {"Error": {"Message": "Rate exceeded"}},
    ],
)
def test_a_response_without_a_code_has_the_empty_code_and_is_not_throttling(response):
    exc = _client_error(response)
    assert error_code(exc) == ""
    assert is_throttling(exc) is False


def test_the_code_is_read_as_a_string():
    assert error_code(_client_error({"Error": {"Code": 404}})) == "404"
