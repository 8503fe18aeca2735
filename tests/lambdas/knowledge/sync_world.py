"""Harness for the sync handler: a moto EventBridge bus and SQS queue wired like the Knowledge stack.

`SyncWorld` plays the Lambda event source mapping: it receives what is visible on the queue, hands the
records to the real handler, and can "let time pass" for delayed messages (follow-ups are sent with
DelaySeconds). Every bedrock-agent call goes through `botocore.stub.Stubber`, which checks requests and
responses against the service's API model.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from unittest import mock

from botocore.stub import Stubber
from common.clients import client
from knowledge.contract import ENVIRONMENT_VARIABLE, SyncSettings
from knowledge.sync import handler
from moto import mock_aws
from moto.sqs.models import sqs_backends

REGION = "eu-west-1"
DEFAULT_ACCOUNT_ID = "123456789012"  # moto's account
KB_ID = "KBID012345"
DS_ID = "DSID012345"
QUEUE = "knowledge-sync"
DATASET_PUBLISHED = {"source": ["journey.data"], "detail-type": ["DatasetPublished"]}
# The handler's settings but the queue URL, which the world adds once moto created the queue.
SETTINGS: dict[str, Any] = {
    "knowledge_base_id": KB_ID,
    "data_source_id": DS_ID,
    "poll_interval_seconds": 60,
    "retry_delay_seconds": 300,
    "give_up_after_seconds": 24 * 3600,
}


@dataclass
class LambdaContext:
    function_name: str = "knowledge-sync"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:{DEFAULT_ACCOUNT_ID}:function:knowledge-sync"
    aws_request_id: str = "request-1"


@dataclass
class Queued:
    body: dict[str, Any]
    delay_seconds: int


class SyncWorld:
    def __init__(self, stub: Stubber, queue_url: str, queue_arn: str) -> None:
        self.stub = stub
        self.queue_url = queue_url
        self.queue_arn = queue_arn
        self.sqs = client("sqs")
        self.events = client("events")

    def publish(self, dataset: str = "feedback") -> None:
        entry = {
            "Source": "journey.data",
            "DetailType": "DatasetPublished",
            "Detail": json.dumps({"dataset": dataset, "version": "2026-11-01"}),
        }
        response = self.events.put_events(Entries=[entry])
        assert response["FailedEntryCount"] == 0

    def _queue(self) -> Any:
        return sqs_backends[DEFAULT_ACCOUNT_ID][REGION].queues[QUEUE]

    def waiting(self) -> list[Queued]:
        """Messages not yet delivered because of their DelaySeconds, with that delay."""
        return [
            Queued(json.loads(m.body), round((m.delayed_until - m.sent_timestamp) / 1000))
            for m in self._queue()._messages
            if m.delayed
        ]

    def let_delays_pass(self) -> None:
        for message in self._queue()._messages:
            message.delayed_until = 0.0

    def receive(self) -> dict[str, Any]:
        """An SQS event exactly as the Lambda event source mapping builds it from visible messages."""
        messages = self.sqs.receive_message(
            QueueUrl=self.queue_url, MaxNumberOfMessages=10, AttributeNames=["All"], VisibilityTimeout=0
        ).get("Messages", [])
        return {
            "Records": [
                {
                    "messageId": m["MessageId"],
                    "receiptHandle": m["ReceiptHandle"],
                    "body": m["Body"],
                    "attributes": m["Attributes"],
                    "messageAttributes": {},
                    "md5OfBody": m["MD5OfBody"],
                    "eventSource": "aws:sqs",
                    "eventSourceARN": self.queue_arn,
                    "awsRegion": REGION,
                }
                for m in messages
            ]
        }

    def deliver(self, event: dict[str, Any]) -> dict[str, Any]:
        """Run the handler; delete what it processed, as the event source mapping does."""
        result: dict[str, Any] = dict(handler(event, LambdaContext()))
        failed = {f["itemIdentifier"] for f in result["batchItemFailures"]}
        for record in event["Records"]:
            if record["messageId"] not in failed:
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=record["receiptHandle"])
        return result


def emitted_metrics(output: str) -> list[dict[str, Any]]:
    """The CloudWatch EMF documents Powertools printed."""
    documents = []
    for line in output.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            documents.append(json.loads(line))
    return documents


@contextmanager
def sync_world(
    event_pattern: Mapping[str, Any] = DATASET_PUBLISHED, settings: Mapping[str, Any] = SETTINGS
) -> Iterator[SyncWorld]:
    """A rule with ``event_pattern`` delivering to the sync queue, and the handler's ``SYNC_SETTINGS``.

    The cached clients are reused across tests (building one costs ~0.2 s); moto intercepts every
    client created after it was imported, and each world gets fresh moto state.
    """
    with mock_aws(), mock.patch.dict(os.environ):
        sqs = client("sqs")
        url = sqs.create_queue(QueueName=QUEUE)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        os.environ[ENVIRONMENT_VARIABLE] = SyncSettings(**settings, queue_url=url).model_dump_json()
        events = client("events")
        events.put_rule(Name="knowledge-sync-published", EventPattern=json.dumps(event_pattern))
        # Real EventBridge delivers the whole event to a target without input; moto's default delivery
        # drops the `account` field, so the test asks it for the whole event explicitly.
        events.put_targets(
            Rule="knowledge-sync-published",
            Targets=[
                {
                    "Id": "sync",
                    "Arn": arn,
                    "InputTransformer": {"InputPathsMap": {}, "InputTemplate": "<aws.events.event.json>"},
                }
            ],
        )
        with Stubber(client("bedrock-agent")) as stub:
            yield SyncWorld(stub, url, arn)
            stub.assert_no_pending_responses()
