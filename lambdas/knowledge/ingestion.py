"""Ingestion sync domain: one sync request in, one decision out.

A request is either "start an ingestion job" or "poll this job". The first request of a sync is the
EventBridge event itself (DatasetPublished or the schedule's "Scheduled Event"), turned into a
`StartRequest` by `start_request`; later ones are messages the handler re-queued. `handle` calls bedrock-agent through
the injected client and returns what to do next: a follow-up message with a delay (retry while the
data source is busy or throttled, poll again while the job runs) and the metrics to publish. It never
reads the environment, sleeps or sends messages itself; the handler does that.

Nothing is dropped: a busy data source or throttling re-queues the request with a delay, and an error
the domain cannot classify propagates, so SQS redelivers the message and, after a few receives, moves
it to the alarmed dead-letter queue. So does a request older than its deadline.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from botocore.exceptions import ClientError
from common.aws_errors import error_code, is_throttling
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

# Metric names; stacks/common/vector_knowledge_base.py reads the same names (a test checks both).
DOCUMENTS_SCANNED = "DocumentsScanned"
DOCUMENTS_INDEXED = "DocumentsIndexed"
DOCUMENTS_DELETED = "DocumentsDeleted"
DOCUMENTS_FAILED = "DocumentsFailed"
INGESTION_JOBS_STARTED = "IngestionJobsStarted"
INGESTION_JOBS_SUCCEEDED = "IngestionJobsSucceeded"
INGESTION_JOBS_FAILED = "IngestionJobsFailed"
INGESTION_JOBS_STOPPED = "IngestionJobsStopped"
INGESTION_JOB_SECONDS = "IngestionJobSeconds"  # from the job's start to its end, as GetIngestionJob reports them
SECONDS = frozenset({INGESTION_JOB_SECONDS})  # published in seconds; every other metric here is a count
SYNC_REQUESTS_DEFERRED = "SyncRequestsDeferred"
SYNC_REQUESTS_THROTTLED = "SyncRequestsThrottled"

RUNNING = frozenset({"STARTING", "IN_PROGRESS", "STOPPING"})
# One ingestion job per data source at a time: StartIngestionJob answers ConflictException while one
# runs. The account-wide concurrent-job quota answers ServiceQuotaExceededException; both clear by waiting.
BUSY = frozenset({"ConflictException", "ServiceQuotaExceededException"})
MAX_SQS_DELAY_SECONDS = 900  # SQS DelaySeconds limit
THROTTLE_BASE_DELAY_SECONDS = 30


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    trigger_id: str = Field(min_length=1, max_length=256, description="Id of the event that asked for the sync.")
    requested_at: AwareDatetime = Field(description="When that event happened; the deadline counts from here.")
    attempt: int = Field(0, ge=0, description="How often this step was already deferred.")


class StartRequest(_Message):
    """Start an ingestion job (from DatasetPublished, the schedule, or a deferred retry)."""

    action: Literal["start"]
    reason: str = Field(min_length=1, max_length=64)


class PollRequest(_Message):
    """Follow a started ingestion job until it ends."""

    action: Literal["poll"]
    ingestion_job_id: str = Field(pattern=r"^[0-9a-zA-Z]{10}$")


SyncMessage = Annotated[StartRequest | PollRequest, Field(discriminator="action")]


def start_request(*, event_id: str, detail_type: str, time: datetime) -> StartRequest:
    """The request an EventBridge event stands for: its id identifies it, its time starts the deadline."""
    return StartRequest(action="start", reason=detail_type[:64], trigger_id=event_id, requested_at=time)


@dataclass(frozen=True)
class SyncTarget:
    knowledge_base_id: str
    data_source_id: str


@dataclass(frozen=True)
class SyncTiming:
    poll_interval_seconds: int
    retry_delay_seconds: int
    give_up_after: timedelta


@dataclass(frozen=True)
class FollowUp:
    message: StartRequest | PollRequest
    delay_seconds: int


@dataclass(frozen=True)
class Outcome:
    """What happened and what to do next."""

    summary: str
    follow_up: FollowUp | None = None
    metrics: Mapping[str, float] = field(default_factory=dict)
    job_status: str | None = None
    failure_reasons: tuple[str, ...] = ()


class RequestExpiredError(Exception):
    """The request passed its deadline; it belongs in the dead-letter queue for a person to look at."""


def client_token(target: SyncTarget, trigger_id: str) -> str:
    """Idempotency token: a redelivered request for the same event never starts a second job.

    StartIngestionJob wants 33-256 characters of [a-zA-Z0-9-]; a SHA-256 hex digest is 64.
    """
    return hashlib.sha256(f"{target.knowledge_base_id}/{target.data_source_id}/{trigger_id}".encode()).hexdigest()


def handle(
    message: StartRequest | PollRequest, *, agent: Any, target: SyncTarget, timing: SyncTiming, now: datetime
) -> Outcome:
    """Process one request with the bedrock-agent client ``agent``."""
    if now - message.requested_at > timing.give_up_after:
        raise RequestExpiredError(
            f"{message.action} request for event {message.trigger_id} from {message.requested_at.isoformat()} "
            f"is older than {timing.give_up_after}"
        )
    if isinstance(message, StartRequest):
        return _start(message, agent=agent, target=target, timing=timing)
    return _poll(message, agent=agent, target=target, timing=timing)


def _start(message: StartRequest, *, agent: Any, target: SyncTarget, timing: SyncTiming) -> Outcome:
    try:
        response = agent.start_ingestion_job(
            knowledgeBaseId=target.knowledge_base_id,
            dataSourceId=target.data_source_id,
            clientToken=client_token(target, message.trigger_id),
            description=f"{message.reason} {message.trigger_id}"[:200],
        )
    except ClientError as error:
        code = error_code(error)
        if code in BUSY:
            return Outcome(
                summary=f"data source busy ({code}); retrying in {timing.retry_delay_seconds}s",
                follow_up=FollowUp(_next(message), min(timing.retry_delay_seconds, MAX_SQS_DELAY_SECONDS)),
                metrics={SYNC_REQUESTS_DEFERRED: 1},
            )
        if is_throttling(error):
            return _throttled(message)
        raise
    job = response["ingestionJob"]
    return Outcome(
        summary=f"started ingestion job {job['ingestionJobId']}",
        follow_up=FollowUp(
            PollRequest(
                action="poll",
                ingestion_job_id=job["ingestionJobId"],
                trigger_id=message.trigger_id,
                requested_at=message.requested_at,
            ),
            timing.poll_interval_seconds,
        ),
        metrics={INGESTION_JOBS_STARTED: 1},
        job_status=job["status"],
    )


def _poll(message: PollRequest, *, agent: Any, target: SyncTarget, timing: SyncTiming) -> Outcome:
    try:
        job = agent.get_ingestion_job(
            knowledgeBaseId=target.knowledge_base_id,
            dataSourceId=target.data_source_id,
            ingestionJobId=message.ingestion_job_id,
        )["ingestionJob"]
    except ClientError as error:
        if is_throttling(error):
            return _throttled(message)
        raise
    status: str = job["status"]
    if status in RUNNING:
        return Outcome(
            summary=f"ingestion job {message.ingestion_job_id} is {status}",
            follow_up=FollowUp(_next(message), timing.poll_interval_seconds),
            job_status=status,
        )
    stats = job.get("statistics", {})
    metrics: dict[str, float] = {
        DOCUMENTS_SCANNED: stats.get("numberOfDocumentsScanned", 0),
        DOCUMENTS_INDEXED: stats.get("numberOfNewDocumentsIndexed", 0)
        + stats.get("numberOfModifiedDocumentsIndexed", 0),
        DOCUMENTS_DELETED: stats.get("numberOfDocumentsDeleted", 0),
        DOCUMENTS_FAILED: stats.get("numberOfDocumentsFailed", 0),
    }
    ended = {"COMPLETE": INGESTION_JOBS_SUCCEEDED, "FAILED": INGESTION_JOBS_FAILED, "STOPPED": INGESTION_JOBS_STOPPED}
    if status not in ended:
        raise ValueError(f"ingestion job {message.ingestion_job_id} has unknown status {status!r}")
    if "startedAt" in job and "updatedAt" in job:  # the job's last update is its end once it has ended
        metrics[INGESTION_JOB_SECONDS] = max(0.0, (job["updatedAt"] - job["startedAt"]).total_seconds())
    return Outcome(
        summary=f"ingestion job {message.ingestion_job_id} ended {status}",
        metrics={**metrics, ended[status]: 1},
        job_status=status,
        failure_reasons=tuple(job.get("failureReasons", ())),
    )


def _throttled(message: StartRequest | PollRequest) -> Outcome:
    # Exponential backoff on top of the SDK's own retries: 30 s, 60 s, ... up to SQS's 15-minute maximum.
    delay = min(THROTTLE_BASE_DELAY_SECONDS * 2 ** min(message.attempt, 5), MAX_SQS_DELAY_SECONDS)
    return Outcome(
        summary=f"throttled; retrying {message.action} in {delay}s",
        follow_up=FollowUp(_next(message), delay),
        metrics={SYNC_REQUESTS_THROTTLED: 1},
    )


def _next(message: StartRequest | PollRequest) -> StartRequest | PollRequest:
    return message.model_copy(update={"attempt": message.attempt + 1})
