"""The sync handler end to end: EventBridge -> SQS -> handler -> bedrock-agent (stubbed) -> SQS / metrics."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from knowledge.ingestion import SyncTarget, client_token

from tests.lambdas.knowledge.sync_world import DS_ID, KB_ID, SyncWorld, emitted_metrics

JOB_ID = "JOB0123456"
TARGET = SyncTarget(KB_ID, DS_ID)


def _job(status: str, **statistics: int) -> dict:
    now = datetime.now(UTC)
    job = {
        "knowledgeBaseId": KB_ID,
        "dataSourceId": DS_ID,
        "ingestionJobId": JOB_ID,
        "status": status,
        "startedAt": now,
        "updatedAt": now,
    }
    if statistics:
        job["statistics"] = statistics
    return {"ingestionJob": job}


def _expect_start(world: SyncWorld, event_id: str, response: dict | None = None, error: str | None = None) -> None:
    params = {
        "knowledgeBaseId": KB_ID,
        "dataSourceId": DS_ID,
        "clientToken": client_token(TARGET, event_id),
        "description": f"DatasetPublished {event_id}",
    }
    if error:
        world.stub.add_client_error(
            "start_ingestion_job", service_error_code=error, http_status_code=409, expected_params=params
        )
    else:
        world.stub.add_response("start_ingestion_job", response or _job("STARTING"), params)


def _expect_poll(world: SyncWorld, response: dict | None = None, error: str | None = None) -> None:
    params = {"knowledgeBaseId": KB_ID, "dataSourceId": DS_ID, "ingestionJobId": JOB_ID}
    if error:
        world.stub.add_client_error(
            "get_ingestion_job", service_error_code=error, http_status_code=429, expected_params=params
        )
    else:
        world.stub.add_response("get_ingestion_job", response, params)


def _published(world: SyncWorld) -> tuple[dict, str]:
    world.publish()
    event = world.receive()
    (record,) = event["Records"]
    return event, json.loads(record["body"])["id"]


def _metric_values(output: str) -> dict[str, float]:
    values: dict[str, float] = {}
    for document in emitted_metrics(output):
        (directive,) = document["_aws"]["CloudWatchMetrics"]
        assert ["KnowledgeBaseId"] in directive["Dimensions"]
        assert document["KnowledgeBaseId"] == KB_ID
        for metric in directive["Metrics"]:
            assert metric["Unit"] == ("Seconds" if metric["Name"] == "IngestionJobSeconds" else "Count")
            raw = document[metric["Name"]]
            values[metric["Name"]] = values.get(metric["Name"], 0) + sum(raw if isinstance(raw, list) else [raw])
    return values


def test_published_dataset_starts_a_job_polls_it_and_publishes_document_counts(world, capsys):
    event, event_id = _published(world)
    _expect_start(world, event_id)
    assert world.deliver(event) == {"batchItemFailures": []}

    (poll,) = world.waiting()
    assert poll.delay_seconds == 60
    assert poll.body["action"] == "poll"
    assert poll.body["ingestion_job_id"] == JOB_ID
    assert poll.body["trigger_id"] == event_id

    world.let_delays_pass()
    _expect_poll(world, _job("IN_PROGRESS"))
    assert world.deliver(world.receive()) == {"batchItemFailures": []}
    (again,) = world.waiting()
    assert (again.body["action"], again.delay_seconds) == ("poll", 60)

    world.let_delays_pass()
    stats = {
        "numberOfDocumentsScanned": 12,
        "numberOfNewDocumentsIndexed": 7,
        "numberOfModifiedDocumentsIndexed": 3,
        "numberOfDocumentsDeleted": 1,
        "numberOfDocumentsFailed": 0,
    }
    _expect_poll(world, _job("COMPLETE", **stats))
    assert world.deliver(world.receive()) == {"batchItemFailures": []}

    assert world.waiting() == []
    assert world.receive()["Records"] == []
    metrics = _metric_values(capsys.readouterr().out)
    assert metrics == {
        "IngestionJobsStarted": 1,
        "DocumentsScanned": 12,
        "DocumentsIndexed": 10,
        "DocumentsDeleted": 1,
        "DocumentsFailed": 0,
        "IngestionJobsSucceeded": 1,
        "IngestionJobSeconds": 0.0,  # the fake job starts and ends in the same instant
    }


def test_running_job_conflict_requeues_the_request_and_retries_with_the_same_token(world, capsys):
    event, event_id = _published(world)
    _expect_start(world, event_id, error="ConflictException")
    assert world.deliver(event) == {"batchItemFailures": []}

    (retry,) = world.waiting()
    assert retry.delay_seconds == 300
    assert retry.body["action"] == "start"
    assert retry.body["trigger_id"] == event_id
    assert retry.body["attempt"] == 1
    assert _metric_values(capsys.readouterr().out) == {"SyncRequestsDeferred": 1}

    world.let_delays_pass()
    _expect_start(world, event_id)  # same event id -> same client token
    assert world.deliver(world.receive()) == {"batchItemFailures": []}
    (poll,) = world.waiting()
    assert poll.body["action"] == "poll"


def test_a_redelivered_event_reuses_its_client_token(world):
    event, event_id = _published(world)
    _expect_start(world, event_id)
    _expect_start(world, event_id)
    world.deliver(event)
    world.deliver(event)  # SQS delivers at least once; Bedrock returns the same job for the same token
    assert [q.body["ingestion_job_id"] for q in world.waiting()] == [JOB_ID, JOB_ID]


def test_throttling_backs_off_exponentially_instead_of_failing(world, capsys):
    event, event_id = _published(world)
    _expect_start(world, event_id, error="ThrottlingException")
    assert world.deliver(event) == {"batchItemFailures": []}
    (first,) = world.waiting()
    assert (first.body["action"], first.body["attempt"], first.delay_seconds) == ("start", 1, 30)

    world.let_delays_pass()
    _expect_start(world, event_id, error="ThrottlingException")
    world.deliver(world.receive())
    (second,) = world.waiting()
    assert (second.body["attempt"], second.delay_seconds) == (2, 60)

    world.let_delays_pass()
    _expect_start(world, event_id)
    world.deliver(world.receive())
    world.let_delays_pass()
    _expect_poll(world, error="ThrottlingException")
    assert world.deliver(world.receive()) == {"batchItemFailures": []}
    (poll_retry,) = world.waiting()
    assert (poll_retry.body["action"], poll_retry.body["attempt"], poll_retry.delay_seconds) == ("poll", 1, 30)
    assert _metric_values(capsys.readouterr().out)["SyncRequestsThrottled"] == 3


def test_failed_ingestion_publishes_the_failure_and_logs_its_reasons(world, capsys, caplog):
    event, event_id = _published(world)
    _expect_start(world, event_id)
    world.deliver(event)
    world.let_delays_pass()
    failed = _job("FAILED", numberOfDocumentsScanned=4, numberOfDocumentsFailed=4)
    failed["ingestionJob"]["failureReasons"] = ["Access denied to s3://curated/feedback/1.txt"]
    _expect_poll(world, failed)
    assert world.deliver(world.receive()) == {"batchItemFailures": []}

    assert world.waiting() == []
    out = capsys.readouterr().out
    metrics = _metric_values(out)
    assert metrics["IngestionJobsFailed"] == 1
    assert metrics["DocumentsFailed"] == 4
    assert "IngestionJobsSucceeded" not in metrics
    (error,) = [r for r in caplog.records if r.levelname == "ERROR"]
    assert error.failure_reasons == ["Access denied to s3://curated/feedback/1.txt"]


@pytest.mark.parametrize("code", ["AccessDeniedException", "ValidationException", "ResourceNotFoundException"])
def test_unexpected_errors_fail_only_that_record_so_sqs_redelivers_it(world, code):
    event, event_id = _published(world)
    params = {
        "knowledgeBaseId": KB_ID,
        "dataSourceId": DS_ID,
        "clientToken": client_token(TARGET, event_id),
        "description": f"DatasetPublished {event_id}",
    }
    world.stub.add_client_error(
        "start_ingestion_job", service_error_code=code, http_status_code=400, expected_params=params
    )
    result = world.deliver(event)
    assert result == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}
    assert world.waiting() == []
    # Still on the queue: visible again after the visibility timeout, dead-lettered after maxReceiveCount.
    assert [r["messageId"] for r in world.receive()["Records"]] == [event["Records"][0]["messageId"]]


def test_a_request_past_its_deadline_is_failed_for_the_dead_letter_queue(world):
    old = {
        "action": "start",
        "reason": "DatasetPublished",
        "trigger_id": "event-from-last-week",
        "requested_at": (datetime.now(UTC) - timedelta(days=2)).isoformat(),
        "attempt": 40,
    }
    world.sqs.send_message(QueueUrl=world.queue_url, MessageBody=json.dumps(old))
    event = world.receive()
    result = world.deliver(event)  # no bedrock-agent call is stubbed: none may happen
    assert result["batchItemFailures"] == [{"itemIdentifier": event["Records"][0]["messageId"]}]


def test_a_malformed_message_is_failed_not_dropped(world):
    world.sqs.send_message(QueueUrl=world.queue_url, MessageBody=json.dumps({"action": "rebuild-everything"}))
    event = world.receive()
    result = world.deliver(event)
    assert result["batchItemFailures"] == [{"itemIdentifier": event["Records"][0]["messageId"]}]


def test_events_that_do_not_match_the_rule_never_reach_the_queue(world):
    world.events.put_events(Entries=[{"Source": "journey.data", "DetailType": "DatasetQuarantined", "Detail": "{}"}])
    world.events.put_events(Entries=[{"Source": "other.team", "DetailType": "DatasetPublished", "Detail": "{}"}])
    assert world.receive()["Records"] == []
