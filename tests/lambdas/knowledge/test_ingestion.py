"""Domain rules of the sync that the end-to-end tests do not pin down on their own."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import boto3
import pytest
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
