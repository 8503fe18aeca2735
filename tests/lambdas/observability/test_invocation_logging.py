"""The invocation-logging custom resource against Bedrock's and SSM's own API models (botocore Stubber)."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber
from observability import invocation_logging as il

REGION = "eu-west-1"
PARAMETER = "/journey-cr-dev/observability/invocation-logging-prior"
ROLE = "arn:aws:iam::111122223333:role/journey-cr-dev-BedrockInvocationLogging"
PROPERTIES = {
    "ServiceToken": "arn:aws:lambda:eu-west-1:111122223333:function:provider",
    "LogGroupName": "journey-cr-dev-bedrock-invocations",
    "RoleArn": ROLE,
    "BucketName": "journey-invocations-bucket",
    "KeyPrefix": "bedrock-invocations/",
    "RecordParameter": PARAMETER,
    "TextDataDelivery": "true",  # CloudFormation passes every property as a string
    "ImageDataDelivery": "false",
    "EmbeddingDataDelivery": "false",
}
OURS = {
    "cloudWatchConfig": {
        "logGroupName": "journey-cr-dev-bedrock-invocations",
        "roleArn": ROLE,
        "largeDataDeliveryS3Config": {
            "bucketName": "journey-invocations-bucket",
            "keyPrefix": "bedrock-invocations/large/",
        },
    },
    "s3Config": {"bucketName": "journey-invocations-bucket", "keyPrefix": "bedrock-invocations/"},
    "textDataDeliveryEnabled": True,
    "imageDataDeliveryEnabled": False,
    "embeddingDataDeliveryEnabled": False,
}
# Another team's setting, found in the account before the stack was created.
THEIRS = {
    "s3Config": {"bucketName": "platform-team-bedrock-logs", "keyPrefix": "all/"},
    "textDataDeliveryEnabled": True,
    "imageDataDeliveryEnabled": True,
    "embeddingDataDeliveryEnabled": True,
}


def event(request: str, **extra: Any) -> dict[str, Any]:
    return {
        "RequestType": request,
        "ResponseURL": "https://cloudformation-custom-resource-response.s3.amazonaws.com/signed",
        "StackId": "arn:aws:cloudformation:eu-west-1:111122223333:stack/journey-cr-dev-Observability/1",
        "RequestId": "req-1",
        "LogicalResourceId": "InvocationLogging",
        "ResourceType": "Custom::BedrockInvocationLogging",
        "ResourceProperties": PROPERTIES,
        **extra,
    }


class World:
    def __init__(self) -> None:
        self.bedrock = boto3.client("bedrock", region_name=REGION)
        self.ssm = boto3.client("ssm", region_name=REGION)
        self.bedrock_stub = Stubber(self.bedrock)
        self.ssm_stub = Stubber(self.ssm)
        self.sent: list[tuple[str, dict[str, Any]]] = []

    def send(self, url: str, body: bytes) -> None:
        self.sent.append((url, json.loads(body)))

    def run(self, request: dict[str, Any]) -> str:
        return il.respond(
            request, self.bedrock, self.ssm, region=REGION, log_stream="2026/12/02/[$LATEST]abc", send=self.send
        )

    def record_exists(self, prior: dict[str, Any] | None) -> None:
        self.ssm_stub.add_response(
            "get_parameter",
            {"Parameter": {"Name": PARAMETER, "Value": json.dumps({"prior": prior}), "Type": "String"}},
            {"Name": PARAMETER},
        )


@pytest.fixture
def world() -> Iterator[World]:
    w = World()
    with w.bedrock_stub, w.ssm_stub:
        yield w
        w.bedrock_stub.assert_no_pending_responses()
        w.ssm_stub.assert_no_pending_responses()


def put_record(world: World, prior: dict[str, Any] | None) -> None:
    world.ssm_stub.add_response(
        "put_parameter",
        {"Version": 1},
        {
            "Name": PARAMETER,
            "Value": json.dumps({"prior": prior}, sort_keys=True),
            "Type": "String",
            "Overwrite": False,
            "Description": ANY,
        },
    )


def test_create_records_the_setting_it_finds_then_puts_the_kits(world):
    world.bedrock_stub.add_response("get_model_invocation_logging_configuration", {"loggingConfig": THEIRS}, {})
    put_record(world, THEIRS)
    world.bedrock_stub.add_response("put_model_invocation_logging_configuration", {}, {"loggingConfig": OURS})
    assert world.run(event("Create")) == "SUCCESS"
    url, body = world.sent[0]
    assert url.startswith("https://cloudformation-custom-resource-response")
    assert body["Status"] == "SUCCESS"
    assert body["PhysicalResourceId"] == f"bedrock-model-invocation-logging-{REGION}"
    assert (body["StackId"], body["RequestId"], body["LogicalResourceId"]) == (
        event("Create")["StackId"],
        "req-1",
        "InvocationLogging",
    )


def test_create_records_none_when_the_account_had_no_setting(world):
    world.bedrock_stub.add_response("get_model_invocation_logging_configuration", {}, {})
    put_record(world, None)
    world.bedrock_stub.add_response("put_model_invocation_logging_configuration", {}, {"loggingConfig": OURS})
    assert world.run(event("Create")) == "SUCCESS"


def test_create_keeps_an_earlier_record(world):
    """A record left by an earlier attempt holds the setting found before the kit first changed it: the kit's own
    setting, found now, must not replace it."""
    world.bedrock_stub.add_response("get_model_invocation_logging_configuration", {"loggingConfig": OURS}, {})
    world.ssm_stub.add_client_error("put_parameter", service_error_code="ParameterAlreadyExists")
    world.record_exists(THEIRS)
    world.bedrock_stub.add_response("put_model_invocation_logging_configuration", {}, {"loggingConfig": OURS})
    assert world.run(event("Create")) == "SUCCESS"


def test_update_puts_the_kits_setting_again_and_leaves_the_record(world):
    world.bedrock_stub.add_response("put_model_invocation_logging_configuration", {}, {"loggingConfig": OURS})
    physical = f"bedrock-model-invocation-logging-{REGION}"
    assert world.run(event("Update", PhysicalResourceId=physical, OldResourceProperties=PROPERTIES)) == "SUCCESS"
    assert world.sent[0][1]["PhysicalResourceId"] == physical  # never replaced


def test_delete_restores_the_prior_setting_and_removes_the_record(world):
    world.record_exists(THEIRS)
    world.bedrock_stub.add_response("put_model_invocation_logging_configuration", {}, {"loggingConfig": THEIRS})
    world.ssm_stub.add_response("delete_parameter", {}, {"Name": PARAMETER})
    assert world.run(event("Delete", PhysicalResourceId="bedrock-model-invocation-logging-eu-west-1")) == "SUCCESS"


def test_delete_without_a_prior_setting_deletes_the_setting(world):
    world.record_exists(None)
    world.bedrock_stub.add_response("delete_model_invocation_logging_configuration", {}, {})
    world.ssm_stub.add_response("delete_parameter", {}, {"Name": PARAMETER})
    assert world.run(event("Delete", PhysicalResourceId="bedrock-model-invocation-logging-eu-west-1")) == "SUCCESS"


def test_delete_with_no_record_touches_nothing(world):
    """A create that failed before recording changed nothing: its rollback delete must not delete anyone's
    setting (the Stubber fails on any Bedrock call)."""
    world.ssm_stub.add_client_error("get_parameter", service_error_code="ParameterNotFound")
    assert world.run(event("Delete", PhysicalResourceId="bedrock-model-invocation-logging-eu-west-1")) == "SUCCESS"


def test_a_refused_restore_fails_the_delete_and_keeps_the_record(world):
    world.record_exists(THEIRS)
    world.bedrock_stub.add_client_error(
        "put_model_invocation_logging_configuration", service_error_code="AccessDeniedException"
    )
    assert world.run(event("Delete", PhysicalResourceId="bedrock-model-invocation-logging-eu-west-1")) == "FAILED"
    reason = world.sent[0][1]["Reason"]
    assert PARAMETER in reason
    assert "AccessDeniedException" in reason
    assert "[$LATEST]abc" in reason  # where to read more


def test_a_failed_create_answers_failed_with_the_stable_physical_id(world):
    world.bedrock_stub.add_client_error(
        "get_model_invocation_logging_configuration", service_error_code="AccessDeniedException"
    )
    assert world.run(event("Create")) == "FAILED"
    assert world.sent[0][1]["PhysicalResourceId"] == f"bedrock-model-invocation-logging-{REGION}"


def test_properties_must_name_the_destinations(world):
    broken = event("Create")
    broken["ResourceProperties"] = {k: v for k, v in PROPERTIES.items() if k != "RoleArn"}
    assert world.run(broken) == "FAILED"
    assert "RoleArn" in world.sent[0][1]["Reason"]


def test_the_response_is_put_to_the_signed_url(monkeypatch):
    seen: dict[str, Any] = {}

    class Answer:
        def __enter__(self) -> Answer:
            return self

        def __exit__(self, *args: object) -> None:
            return None

        def read(self) -> bytes:
            return b""

    def urlopen(request: Any, timeout: float) -> Answer:
        seen.update(
            url=request.full_url, method=request.get_method(), headers=dict(request.header_items()), timeout=timeout
        )
        return Answer()

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    il.put_response("https://example.invalid/signed", b'{"Status":"SUCCESS"}')
    assert seen["method"] == "PUT"
    assert seen["headers"]["Content-length"] == "20"
    assert seen["headers"]["Content-type"] == ""
    assert seen["timeout"] == il.RESPONSE_TIMEOUT_SECONDS
