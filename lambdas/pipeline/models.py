"""What the state machine passes between steps: object keys, counts and verdicts, never record content.

Each step's output extends its input, so a Catch sees everything the failed step was given.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser.models import S3EventNotificationEventBridgeModel
from pydantic import BaseModel, ConfigDict, Field


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class StartRequest(_Model):
    """The state machine's first task: the `_READY` marker's S3 event (EventBridge) and the execution's name."""

    event: S3EventNotificationEventBridgeModel
    execution: str = Field(min_length=1, max_length=80)


class Run(_Model):
    id: str = Field(min_length=1, max_length=80)
    dataset: str
    bucket: str  # the raw bucket
    prefix: str  # datasets/<dataset>/
    valid_prefix: str  # staging/<run>/valid/
    redacted_prefix: str  # staging/<run>/redacted/
    started_at: str


class Item(_Model):
    """One object of the Distributed Map (from ListObjectsV2)."""

    key: str
    size: int = 0
    run: Run


class Validated(Item):
    source: str | None = None
    skipped: bool = False  # the _READY marker or a folder placeholder: not data
    whole_object_rejected: bool = False
    rows_in: int = 0  # every row read: records_in + skipped_blank (a whole reject: its counted lines)
    records_in: int = 0
    rejected: int = 0
    valid: int = 0
    skipped_blank: int = 0  # blank rows: counted, neither valid nor rejected
    repeated: int = 0  # whole-record repeats kept under `dedupe: none`
    dedupe: str | None = None  # the source's rule: key, records or none
    encoding: str | None = None  # as declared, or detected (`encoding: auto`)
    missing: dict[str, int] = Field(default_factory=dict)


class Redacted(Validated):
    redacted: int = 0
    redact_rejected: int = 0
    entities: dict[str, int] = Field(default_factory=dict)
    records_with_pii: int = 0
    requests: int = 0


class Failure(_Model):
    Error: str = "Unknown"
    Cause: str = ""


class Failed(_Model):
    """A phase's item as the failing step received it, plus the error the Catch added."""

    key: str
    run: Run
    records_in: int | None = None  # known once validate has read the object
    skipped_blank: int = 0  # its blank rows, likewise
    error: Failure = Field(default_factory=Failure)


class QuarantineRequest(_Model):
    phase: str = Field(pattern=r"^(process|publish)$")
    failed: Failed


class PublishItem(_Model):
    key: str  # the staged redacted object
    run: Run
    bias_status: str


class AssessRequest(_Model):
    run: Run


class FinalizeRequest(_Model):
    run: Run
    assessment: dict[str, Any]
    published: bool
