"""Domain rules of the sync that the end-to-end tests do not pin down on their own."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from hypothesis import given
from hypothesis import strategies as st
from knowledge.ingestion import (
    MAX_SQS_DELAY_SECONDS,
    PollRequest,
    RequestExpiredError,
    SyncTarget,
    SyncTiming,
    client_token,
    handle,
    start_request,
)

TARGET = SyncTarget("KBID012345", "DSID012345")
TIMING = SyncTiming(poll_interval_seconds=60, retry_delay_seconds=300, give_up_after=timedelta(hours=24))
NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
# StartIngestionJob's clientToken constraint, from the bedrock-agent API model.
TOKEN = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,256}$")


@pytest.fixture(scope="module")
def agent():
    return boto3.client("bedrock-agent", region_name="eu-west-1")


@given(st.text(min_size=1, max_size=256))
def test_client_tokens_are_valid_stable_and_distinct_per_event(trigger_id):
    token = client_token(TARGET, trigger_id)
    assert 33 <= len(token) <= 256
    assert TOKEN.match(token)
    assert token == client_token(TARGET, trigger_id)
    assert token != client_token(TARGET, trigger_id + "x")
    assert token != client_token(SyncTarget("KBID012345", "OTHER01234"), trigger_id)


def _poll(attempt: int = 0, requested_at: datetime = NOW) -> PollRequest:
    return PollRequest(
        action="poll", ingestion_job_id="JOB0123456", trigger_id="e-1", requested_at=requested_at, attempt=attempt
    )


def test_throttling_backoff_doubles_up_to_the_sqs_maximum(agent):
    delays = []
    with Stubber(agent) as stub:
        for attempt in range(8):
            stub.add_client_error("get_ingestion_job", service_error_code="ThrottlingException", http_status_code=429)
            outcome = handle(_poll(attempt), agent=agent, target=TARGET, timing=TIMING, now=NOW)
            assert outcome.follow_up is not None
            delays.append(outcome.follow_up.delay_seconds)
    assert delays == [30, 60, 120, 240, 480, 900, 900, 900]
    assert max(delays) == MAX_SQS_DELAY_SECONDS


def test_the_deadline_counts_from_the_triggering_event(agent):
    fresh = _poll(requested_at=NOW - timedelta(hours=23, minutes=59))
    with Stubber(agent) as stub:
        stub.add_response("get_ingestion_job", _job("IN_PROGRESS"))
        assert handle(fresh, agent=agent, target=TARGET, timing=TIMING, now=NOW).follow_up is not None
    with pytest.raises(RequestExpiredError, match="older than"):
        handle(
            _poll(requested_at=NOW - timedelta(hours=24, seconds=1)), agent=agent, target=TARGET, timing=TIMING, now=NOW
        )


def test_a_stopped_job_ends_the_sync_without_counting_a_failure(agent):
    with Stubber(agent) as stub:
        stub.add_response("get_ingestion_job", _job("STOPPED"))
        outcome = handle(_poll(), agent=agent, target=TARGET, timing=TIMING, now=NOW)
    assert outcome.follow_up is None
    assert outcome.metrics["IngestionJobsStopped"] == 1
    assert "IngestionJobsFailed" not in outcome.metrics


def test_an_event_becomes_a_start_request_with_its_id_and_time():
    request = start_request(event_id="abc", detail_type="Scheduled Event", time=NOW)
    assert (request.action, request.reason, request.trigger_id, request.requested_at, request.attempt) == (
        "start",
        "Scheduled Event",
        "abc",
        NOW,
        0,
    )


def _job(status: str) -> dict:
    return {
        "ingestionJob": {
            "knowledgeBaseId": TARGET.knowledge_base_id,
            "dataSourceId": TARGET.data_source_id,
            "ingestionJobId": "JOB0123456",
            "status": status,
            "startedAt": NOW,
            "updatedAt": NOW,
        }
    }


# Every status GetIngestionJob can answer, and what the sync does with it (botocore Stubber validates the shapes).
ALL_STATUSES = {
    # running: poll again after the poll interval, no metric, the status is reported
    "STARTING": (60, {}),
    "IN_PROGRESS": (60, {}),
    "STOPPING": (60, {}),
    # ended: no follow-up, the ending's counter plus the document counts (0 when the job reports none)
    "COMPLETE": (None, {"IngestionJobsSucceeded": 1}),
    "FAILED": (None, {"IngestionJobsFailed": 1}),
    "STOPPED": (None, {"IngestionJobsStopped": 1}),
}
NO_DOCUMENTS = {"DocumentsScanned": 0, "DocumentsIndexed": 0, "DocumentsDeleted": 0, "DocumentsFailed": 0}


def test_the_status_table_covers_the_api_model(agent):
    statuses = agent.meta.service_model.shape_for("IngestionJobStatus").enum
    assert set(ALL_STATUSES) == set(statuses)


@pytest.mark.parametrize("status", list(ALL_STATUSES))
def test_every_ingestion_job_status(agent, status):
    delay, ended = ALL_STATUSES[status]
    with Stubber(agent) as stub:
        stub.add_response(
            "get_ingestion_job",
            _job(status),
            {"knowledgeBaseId": "KBID012345", "dataSourceId": "DSID012345", "ingestionJobId": "JOB0123456"},
        )
        outcome = handle(_poll(attempt=2), agent=agent, target=TARGET, timing=TIMING, now=NOW)
        stub.assert_no_pending_responses()
    assert outcome.job_status == status
    if delay is None:
        assert outcome.follow_up is None
        assert dict(outcome.metrics) == {**NO_DOCUMENTS, **ended, "IngestionJobSeconds": 0.0}
        assert outcome.summary == f"ingestion job JOB0123456 ended {status}"
    else:
        assert outcome.follow_up is not None
        assert outcome.follow_up.delay_seconds == delay
        assert outcome.follow_up.message.action == "poll"
        assert outcome.follow_up.message.attempt == 3
        assert dict(outcome.metrics) == {}
        assert outcome.summary == f"ingestion job JOB0123456 is {status}"


def test_a_failed_job_carries_its_reasons_and_document_counts(agent):
    job = _job("FAILED")
    job["ingestionJob"] |= {
        "failureReasons": ["access denied to s3://bucket/key"],
        "statistics": {"numberOfDocumentsScanned": 5, "numberOfNewDocumentsIndexed": 2,
                       "numberOfModifiedDocumentsIndexed": 1, "numberOfDocumentsDeleted": 4,
                       "numberOfDocumentsFailed": 2},
    }  # fmt: skip
    with Stubber(agent) as stub:
        stub.add_response("get_ingestion_job", job)
        outcome = handle(_poll(), agent=agent, target=TARGET, timing=TIMING, now=NOW)
    assert outcome.failure_reasons == ("access denied to s3://bucket/key",)
    assert dict(outcome.metrics) == {
        "DocumentsScanned": 5,
        "DocumentsIndexed": 3,
        "DocumentsDeleted": 4,
        "DocumentsFailed": 2,
        "IngestionJobsFailed": 1,
        "IngestionJobSeconds": 0.0,  # started and last updated at NOW
    }


def test_an_ended_job_publishes_its_duration_from_start_to_last_update(agent):
    job = _job("COMPLETE")
    job["ingestionJob"]["updatedAt"] = NOW + timedelta(minutes=7, seconds=30, milliseconds=250)
    with Stubber(agent) as stub:
        stub.add_response("get_ingestion_job", job)
        outcome = handle(_poll(), agent=agent, target=TARGET, timing=TIMING, now=NOW)
    assert outcome.metrics["IngestionJobSeconds"] == 450.25
    assert outcome.metrics["IngestionJobsSucceeded"] == 1


def _start(attempt: int = 0):
    return start_request(event_id="e-1", detail_type="DatasetPublished", time=NOW).model_copy(
        update={"attempt": attempt}
    )


@pytest.mark.parametrize(
    ("code", "status", "delay", "metric"),
    [
        # a job already running on the data source, or the account's concurrent-job quota: wait the retry delay
        ("ConflictException", 409, 300, "SyncRequestsDeferred"),
        ("ServiceQuotaExceededException", 402, 300, "SyncRequestsDeferred"),
        # throttled: exponential backoff from 30 s (attempt 1 -> 60 s)
        ("ThrottlingException", 429, 60, "SyncRequestsThrottled"),
        ("TooManyRequestsException", 429, 60, "SyncRequestsThrottled"),
    ],
)
def test_quota_and_throttling_errors_on_start_are_retried_later(agent, code, status, delay, metric):
    with Stubber(agent) as stub:
        stub.add_client_error("start_ingestion_job", service_error_code=code, http_status_code=status)
        outcome = handle(_start(attempt=1), agent=agent, target=TARGET, timing=TIMING, now=NOW)
    assert outcome.follow_up is not None
    assert outcome.follow_up.delay_seconds == delay
    assert outcome.follow_up.message.action == "start"
    assert outcome.follow_up.message.attempt == 2
    assert dict(outcome.metrics) == {metric: 1}
    assert outcome.job_status is None


def test_a_quota_error_while_polling_is_not_swallowed(agent):
    """ServiceQuotaExceededException on GetIngestionJob is not a busy data source: the record fails (SQS retries)."""
    with Stubber(agent) as stub:
        stub.add_client_error("get_ingestion_job", service_error_code="ServiceQuotaExceededException")
        with pytest.raises(ClientError, match="ServiceQuotaExceededException"):
            handle(_poll(), agent=agent, target=TARGET, timing=TIMING, now=NOW)


@pytest.mark.parametrize("status", ["STARTING", "IN_PROGRESS"])
def test_a_started_job_is_polled_whatever_its_first_status(agent, status):
    job = _job(status)
    with Stubber(agent) as stub:
        stub.add_response("start_ingestion_job", job)
        outcome = handle(_start(), agent=agent, target=TARGET, timing=TIMING, now=NOW)
    assert outcome.job_status == status
    assert outcome.follow_up is not None
    assert (outcome.follow_up.delay_seconds, outcome.follow_up.message.action) == (60, "poll")
    assert dict(outcome.metrics) == {"IngestionJobsStarted": 1}
