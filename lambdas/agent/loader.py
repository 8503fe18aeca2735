"""Loader: a published dataset's curated records into the agent's tables, on the Data stage's `DatasetPublished`.

The event's detail names the curated bucket and the dataset's ``records/<dataset>/`` prefix (see
lambdas/pipeline/finalize.py). For each source the settings name (customers from `profiles`, interactions from
`support_contacts`, `service_events` and `purchases`; offers from none: the agent creates them), every object
under ``records/<dataset>/<source>/`` is read (JSON lines or CSV), each record turned into an item
(agent/records.py) and batch-written. Re-running a load writes the same items again: nothing is duplicated.

A bad record is counted (`LoaderRecordsRejected`) and logged with its object, line and reason, never its content,
and the load goes on. Only a failure to read or write (after the SDK's retries) fails the invocation, so
EventBridge's asynchronous retries run it again.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from aws_lambda_powertools.utilities.typing import LambdaContext
from common.clients import client
from common.observability import powertools, powertools_metrics
from common.settings_file import deployed_settings
from pydantic import BaseModel, ConfigDict, Field

from agent import store
from agent.contract import (
    CUSTOMERS_KEY,
    INTERACTIONS_KEY,
    LOADER_SETTINGS_ENV,
    LoaderSettings,
)
from agent.records import BadRecordError, customer_item, interaction_item, parse_object

logger, tracer = powertools()
metrics = powertools_metrics()

MAX_BATCH_ATTEMPTS = 6


class Curated(BaseModel):
    model_config = ConfigDict(extra="ignore")

    bucket: str = Field(min_length=3)
    records_prefix: str = Field(pattern=r"^[a-z0-9._-]+/[a-z0-9][a-z0-9._-]{0,62}/$")


class PublishedDetail(BaseModel):
    """The part of finalize's summary the loader reads."""

    model_config = ConfigDict(extra="ignore")

    dataset: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,62}$")
    run_id: str = ""
    published: bool = True
    curated: Curated


class DatasetPublished(EventBridgeModel):
    detail: PublishedDetail


@dataclass
class LoadReport:
    customers: int = 0
    interactions: int = 0
    rejected: int = 0
    objects: int = 0
    problems: list[dict[str, Any]] = field(default_factory=list)  # object, line, reason (first few)


def load(
    detail: PublishedDetail, settings: LoaderSettings, *, s3: Any, db: Any, sleep: Callable[[float], None] = time.sleep
) -> LoadReport:
    """Load every configured source of the published dataset; bad records are counted, never fatal."""
    report = LoadReport()
    if not detail.published:
        return report
    if detail.curated.bucket != settings.curated_bucket:
        raise ValueError(
            f"the event names bucket {detail.curated.bucket}, not the curated bucket {settings.curated_bucket}"
        )
    prefix = detail.curated.records_prefix
    if not prefix.startswith(settings.records_prefix):
        raise ValueError(f"the event's records prefix {prefix} is not under {settings.records_prefix}")
    interaction_sources = {source.name: source for source in settings.interaction_sources}
    customers = _BatchWriter(db, settings.customers_table, (CUSTOMERS_KEY[0],), sleep)
    interactions = _BatchWriter(db, settings.interactions_table, (INTERACTIONS_KEY[0], "interaction_id"), sleep)
    for source in (settings.customer_source, *interaction_sources):
        for key in _keys(s3, settings.curated_bucket, f"{prefix}{source}/"):
            report.objects += 1
            body = s3.get_object(Bucket=settings.curated_bucket, Key=key)["Body"].read()
            for parsed in parse_object(key, body):
                try:
                    if parsed.record is None:
                        raise BadRecordError(parsed.problem or "unreadable")
                    if source == settings.customer_source:
                        customers.add(customer_item(parsed.record, key=settings.customer_key, dataset=detail.dataset))
                        report.customers += 1
                    else:
                        item = interaction_item(
                            parsed.record,
                            interaction_sources[source],
                            key=settings.customer_key,
                            dataset=detail.dataset,
                        )
                        interactions.add(item)
                        report.interactions += 1
                except BadRecordError as bad:
                    report.rejected += 1
                    if len(report.problems) < 20:
                        report.problems.append({"object": key, "line": parsed.line, "reason": str(bad)})
    customers.flush()
    interactions.flush()
    return report


def _keys(s3: Any, bucket: str, prefix: str) -> Iterable[str]:
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for entry in page.get("Contents", []):
            yield entry["Key"]


class _BatchWriter:
    """BatchWriteItem in 25s, one item per key in a batch (the last wins), unprocessed items retried."""

    def __init__(self, db: Any, table: str, key: tuple[str, ...], sleep: Callable[[float], None]) -> None:
        self.db, self.table, self.key, self.sleep = db, table, key, sleep
        self.pending: dict[tuple[Any, ...], Mapping[str, Any]] = {}

    def add(self, item: Mapping[str, Any]) -> None:
        self.pending[tuple(item[name] for name in self.key)] = item
        if len(self.pending) == store.MAX_BATCH:
            self.flush()

    def flush(self) -> None:
        requests = [{"PutRequest": {"Item": store.to_attributes(item)}} for item in self.pending.values()]
        self.pending = {}
        for attempt in range(MAX_BATCH_ATTEMPTS):
            if not requests:
                return
            response = self.db.batch_write_item(RequestItems={self.table: requests})
            requests = response.get("UnprocessedItems", {}).get(self.table, [])
            if requests:
                self.sleep(min(0.05 * 2**attempt, 2.0))
        if requests:
            raise RuntimeError(
                f"{len(requests)} items to {self.table} still unprocessed after {MAX_BATCH_ATTEMPTS} tries"
            )


def settings() -> LoaderSettings:
    """The settings the stack put in `LOADER_SETTINGS` (see the contract for why not a settings file)."""
    value = os.environ.get(LOADER_SETTINGS_ENV)
    if not value:
        raise RuntimeError(f"{LOADER_SETTINGS_ENV} must be set; the Agent stack sets it")
    return deployed_settings(LoaderSettings, os.environ, deployed=value)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=DatasetPublished)
def handler(event: DatasetPublished, context: LambdaContext) -> dict[str, Any]:
    report = load(event.detail, settings(), s3=client("s3"), db=client("dynamodb"))
    metrics.add_metric(name="LoaderCustomersLoaded", unit=MetricUnit.Count, value=report.customers)
    metrics.add_metric(name="LoaderInteractionsLoaded", unit=MetricUnit.Count, value=report.interactions)
    metrics.add_metric(name="LoaderRecordsRejected", unit=MetricUnit.Count, value=report.rejected)
    summary = {
        "dataset": event.detail.dataset,
        "run_id": event.detail.run_id,
        "objects": report.objects,
        "customers": report.customers,
        "interactions": report.interactions,
        "rejected": report.rejected,
    }
    if report.rejected:
        logger.warning("records rejected by the loader", extra={**summary, "problems": report.problems})
    else:
        logger.info("dataset loaded", extra=summary)
    return summary
