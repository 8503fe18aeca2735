"""Fixtures of the pipeline's unit tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber


@pytest.fixture
def dynamodb_stub() -> Iterator[tuple[Any, Stubber]]:
    """A DynamoDB client behind a botocore Stubber, which checks each request against the service model and the
    exact parameters a test expects; every expected response must be used."""
    client = boto3.client("dynamodb", region_name="eu-west-1")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()
