"""Custom resource: Bedrock model invocation logging for this account and region.

CloudFormation has no resource for the setting, and it is ONE per account and region, shared by every stack and
team there. So the resource is careful with what it finds:

- Create: read the current setting (GetModelInvocationLoggingConfiguration), record it in an SSM parameter, then
  put the kit's (PutModelInvocationLoggingConfiguration). A record left by an earlier attempt is kept, not
  overwritten: it holds the setting found before the kit first touched the account.
- Update: put the kit's setting again (destinations or delivery switches changed); the record stays.
- Delete: put back the recorded setting, or delete the setting when none was recorded as found; then remove the
  record. With no record at all (the create failed before it changed anything) nothing is touched.

Why an SSM parameter: a Delete event carries the resource's properties and physical id, never the data a Create
returned, and a physical id is capped at 1 KB, which a full setting with its ARNs can exceed. The parameter
survives updates and function replacements, and an operator can read what a delete will restore.

The physical id never changes (one setting per region), so CloudFormation never replaces the resource: a
replacement would create the new one and then delete the old, restoring the prior setting over the new one.

The function is the custom resource's service token itself (no provider framework: one function, one role with
exactly the calls below), so it answers CloudFormation itself: a PUT of the result to the pre-signed
``ResponseURL``. That is a dozen lines of urllib; the `cfnresponse` module AWS documents exists only for inline
(ZipFile) code, and a dependency for it would outweigh it.
"""

from __future__ import annotations

import json
import logging
import os
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

logger = logging.getLogger(__name__)
logger.setLevel(logging.INFO)

PHYSICAL_ID_PREFIX = "bedrock-model-invocation-logging"
RESPONSE_TIMEOUT_SECONDS = 20

Sender = Callable[[str, bytes], None]


class LoggingTarget(BaseModel):
    """The custom resource's properties (CloudFormation passes every value as a string; pydantic reads
    "true"/"false" as booleans)."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    log_group_name: str = Field(alias="LogGroupName", min_length=1)
    role_arn: str = Field(alias="RoleArn", min_length=20)
    bucket_name: str = Field(alias="BucketName", min_length=3)
    key_prefix: str = Field(alias="KeyPrefix", default="")
    record_parameter: str = Field(alias="RecordParameter", min_length=2)
    text: bool = Field(alias="TextDataDelivery", default=True)
    image: bool = Field(alias="ImageDataDelivery", default=False)
    embedding: bool = Field(alias="EmbeddingDataDelivery", default=False)

    def logging_config(self) -> dict[str, Any]:
        """The `loggingConfig` of PutModelInvocationLoggingConfiguration: the log group (through the role) with large
        bodies to S3, and the full copy to S3."""
        s3 = {"bucketName": self.bucket_name, "keyPrefix": self.key_prefix}
        return {
            "cloudWatchConfig": {
                "logGroupName": self.log_group_name,
                "roleArn": self.role_arn,
                "largeDataDeliveryS3Config": {"bucketName": self.bucket_name, "keyPrefix": f"{self.key_prefix}large/"},
            },
            "s3Config": s3,
            "textDataDeliveryEnabled": self.text,
            "imageDataDeliveryEnabled": self.image,
            "embeddingDataDeliveryEnabled": self.embedding,
        }


def physical_id(region: str) -> str:
    return f"{PHYSICAL_ID_PREFIX}-{region}"


def record_prior(bedrock: Any, ssm: Any, parameter: str) -> dict[str, Any] | None:
    """Record the setting in force now (None: none) unless a record exists already; return what the record holds."""
    found: dict[str, Any] | None = bedrock.get_model_invocation_logging_configuration().get("loggingConfig")
    try:
        ssm.put_parameter(
            Name=parameter,
            Value=json.dumps({"prior": found}, sort_keys=True),
            Type="String",
            Overwrite=False,
            Description="Bedrock invocation logging found before the kit set it; restored when the stack is deleted",
        )
    except ssm.exceptions.ParameterAlreadyExists:
        kept = read_prior(ssm, parameter)
        logger.warning("kept the earlier record of the prior setting", extra={"parameter": parameter})
        return None if kept is None else kept[1]
    return found


def read_prior(ssm: Any, parameter: str) -> tuple[Literal["recorded"], dict[str, Any] | None] | None:
    """("recorded", the setting found at create or None) or None when nothing was recorded."""
    try:
        value = ssm.get_parameter(Name=parameter)["Parameter"]["Value"]
    except ssm.exceptions.ParameterNotFound:
        return None
    prior = json.loads(value)["prior"]
    return "recorded", prior


def create(target: LoggingTarget, bedrock: Any, ssm: Any) -> None:
    record_prior(bedrock, ssm, target.record_parameter)
    bedrock.put_model_invocation_logging_configuration(loggingConfig=target.logging_config())


def update(target: LoggingTarget, bedrock: Any, ssm: Any) -> None:
    """Put the kit's setting again; the record made at create stays as it is."""
    bedrock.put_model_invocation_logging_configuration(loggingConfig=target.logging_config())


def delete(target: LoggingTarget, bedrock: Any, ssm: Any) -> str:
    """Restore what create found; returns what was done (for the log)."""
    recorded = read_prior(ssm, target.record_parameter)
    if recorded is None:
        return "nothing recorded: the setting was never changed, left as it is"
    prior = recorded[1]
    if prior is None:
        bedrock.delete_model_invocation_logging_configuration()
        outcome = "no setting was found at create: deleted"
    else:
        try:
            bedrock.put_model_invocation_logging_configuration(loggingConfig=prior)
        except Exception as exc:
            # e.g. AccessDenied on iam:PassRole: the prior setting's role is not the kit's, and the function may
            # pass only the kit's role. The record stays for a manual restore (docs/observability.md).
            raise RuntimeError(
                f"could not restore the setting recorded in SSM parameter {target.record_parameter}: {exc}"
            ) from exc
        outcome = "restored the setting found at create"
    ssm.delete_parameter(Name=target.record_parameter)
    return outcome


def handle(event: Mapping[str, Any], bedrock: Any, ssm: Any, region: str) -> str:
    """Run the request; returns the physical id (raises on failure)."""
    target = LoggingTarget.model_validate(event["ResourceProperties"])
    request = event["RequestType"]
    if request == "Create":
        create(target, bedrock, ssm)
    elif request == "Update":
        update(target, bedrock, ssm)
    elif request == "Delete":
        logger.info(delete(target, bedrock, ssm))
        return str(event.get("PhysicalResourceId") or physical_id(region))
    else:
        raise ValueError(f"unknown RequestType {request!r}")
    return physical_id(region)


def response_body(event: Mapping[str, Any], *, status: str, physical: str, reason: str) -> bytes:
    """The JSON CloudFormation expects at the ResponseURL."""
    return json.dumps(
        {
            "Status": status,
            "Reason": reason[:1000],
            "PhysicalResourceId": physical,
            "StackId": event["StackId"],
            "RequestId": event["RequestId"],
            "LogicalResourceId": event["LogicalResourceId"],
            "NoEcho": False,
            "Data": {},
        }
    ).encode()


def put_response(url: str, body: bytes) -> None:
    """PUT the answer to the pre-signed S3 URL (an empty content type, as the URL was signed with none)."""
    request = urllib.request.Request(  # noqa: S310 - CloudFormation's pre-signed https URL
        url, data=body, method="PUT", headers={"Content-Type": "", "Content-Length": str(len(body))}
    )
    with urllib.request.urlopen(request, timeout=RESPONSE_TIMEOUT_SECONDS) as answer:  # noqa: S310
        answer.read()


def respond(
    event: Mapping[str, Any], bedrock: Any, ssm: Any, *, region: str, log_stream: str, send: Sender = put_response
) -> str:
    """Handle the event and always answer CloudFormation (a missing answer would hang the stack for an hour)."""
    try:
        physical = handle(event, bedrock, ssm, region)
        status, reason = "SUCCESS", "ok"
    except Exception as exc:  # every failure becomes a FAILED answer with its reason
        logger.exception("invocation logging request failed")
        physical = str(event.get("PhysicalResourceId") or physical_id(region))
        status, reason = "FAILED", f"{type(exc).__name__}: {exc} (log stream {log_stream})"
    send(event["ResponseURL"], response_body(event, status=status, physical=physical, reason=reason))
    return status


def handler(event: dict[str, Any], context: Any) -> None:
    from common.clients import client  # noqa: PLC0415 - boto3 only when deployed

    respond(
        event,
        client("bedrock"),
        client("ssm"),
        region=os.environ.get("AWS_REGION", ""),
        log_stream=getattr(context, "log_stream_name", ""),
    )
