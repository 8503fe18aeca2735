"""The loader on the curated sample records (JSONL and CSV), through its handler and a DatasetPublished event."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from agent import loader
from agent.contract import (
    CUSTOMERS_KEY,
    INTERACTIONS_KEY,
    LOADER_SETTINGS_ENV,
    OFFERS_KEY,
    LoaderSettings,
)
from agent.store import from_attributes
from common.clients import client
from moto import mock_aws

from tests.lambdas.agent.world import create_table
from tests.lambdas.pipeline.harness import LambdaContext
from tools.data_dry_run import CURATED, dry_run

BUCKET = "curated-bucket"
SAMPLE = Path(__file__).resolve().parents[3] / "usecases" / "customer-retention" / "sample-data"
SETTINGS = LoaderSettings(
    customers_table="customers", interactions_table="interactions", offers_table="offers", curated_bucket=BUCKET
)


@pytest.fixture(scope="module")
def curated() -> dict[str, bytes]:
    """What a deployed run publishes for the sample data: the Data stage's pipeline, offline."""
    result = dry_run("customer-retention", SAMPLE, dataset="sample", now=datetime(2025, 1, 1, tzinfo=UTC))
    return {k: v for k, v in result.store.buckets[CURATED].items() if k.startswith("records/")}


@pytest.fixture
def aws(tmp_path: Path, curated: dict[str, bytes]) -> Any:
    with mock_aws(), pytest.MonkeyPatch.context() as monkeypatch:
        s3 = client("s3")
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        for key, body in curated.items():
            s3.put_object(Bucket=BUCKET, Key=key, Body=body)
        for table, schema in (("customers", CUSTOMERS_KEY), ("interactions", INTERACTIONS_KEY), ("offers", OFFERS_KEY)):
            create_table(table, schema)
        monkeypatch.setenv(LOADER_SETTINGS_ENV, SETTINGS.model_dump_json(exclude_defaults=True))
        yield s3


def published(dataset: str = "sample", bucket: str = BUCKET) -> dict[str, Any]:
    """The Data stage's DatasetPublished event: its detail is finalize's summary."""
    return {
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": "DatasetPublished",
        "source": "journey-dev.data",
        "account": "123456789012",
        "time": "2025-01-01T00:00:00Z",
        "region": "eu-west-1",
        "resources": [],
        "detail": {
            "usecase": "customer-retention",
            "dataset": dataset,
            "run_id": "run-1",
            "bias_status": "WARN",
            "published": True,
            "records_in": 600,
            "curated": {
                "bucket": bucket,
                "records_prefix": f"records/{dataset}/",
                "documents_prefix": f"documents/{dataset}/",
            },
            "report": {"bucket": "reports", "json": "r.json", "markdown": "r.md"},
        },
    }


def scan(table: str) -> list[dict[str, Any]]:
    return [from_attributes(item) for item in client("dynamodb").scan(TableName=table)["Items"]]


def test_the_loader_fills_customers_and_interactions_from_jsonl_and_csv(aws):
    summary = loader.handler(published(), LambdaContext("loader"))
    customers, interactions = scan("customers"), scan("interactions")
    assert summary["customers"] == len(customers) == 200
    kinds = {i["kind"] for i in interactions}
    assert kinds == {"purchase", "service_event", "support_contact"}
    purchases = [i for i in interactions if i["kind"] == "purchase"]  # from the CSV source
    assert len(purchases) == 150
    first = next(i for i in purchases if i["order_id"] == "O000001")
    assert first["interaction_id"] == "2024-06-13#purchase#O000001"
    assert first["amount"] == pytest.approx(405.21)
    assert isinstance(client("dynamodb").scan(TableName="interactions")["Items"][0], dict)
    assert summary["rejected"] == 0
    assert scan("offers") == []


def test_reloading_the_same_dataset_overwrites_the_same_items(aws):
    loader.handler(published(), LambdaContext("loader"))
    before = (sorted(map(str, scan("customers"))), sorted(map(str, scan("interactions"))))
    loader.handler(published(), LambdaContext("loader"))
    assert (sorted(map(str, scan("customers"))), sorted(map(str, scan("interactions")))) == before


def test_bad_records_are_counted_and_the_load_goes_on(aws):
    aws.put_object(
        Bucket=BUCKET,
        Key="records/sample/profiles/extra.jsonl",
        Body=b'{"customer_id": "C77777", "plan": "basic"}\nnot json\n["a list"]\n{"customer_id": ""}\n',
    )
    aws.put_object(
        Bucket=BUCKET,
        Key="records/sample/purchases/extra.csv",
        Body=b"order_id,customer_id,service,amount,purchased_on\nO9,C77777,streaming,1,2024-01-01\n,C77777,tv,1,\n",
    )
    summary = loader.handler(published(), LambdaContext("loader"))
    assert summary["rejected"] == 4
    assert summary["customers"] == 201
    ids = {c["customer_id"] for c in scan("customers")}
    assert "C77777" in ids


def test_an_event_for_another_bucket_is_refused(aws):
    with pytest.raises(ValueError, match="not the curated bucket"):
        loader.handler(published(bucket="someone-elses-bucket"), LambdaContext("loader"))
    assert scan("customers") == []


def test_the_settings_come_from_the_environment_with_the_defaults_filled_in(aws, monkeypatch):
    """The stack sends only what differs from the defaults: the bucket (a deploy-time value) and the tables."""
    sent = json.loads(os.environ[LOADER_SETTINGS_ENV])
    assert "records_prefix" not in sent
    assert sent["curated_bucket"] == BUCKET
    assert loader.settings() == SETTINGS
    monkeypatch.setenv(
        LOADER_SETTINGS_ENV, SETTINGS.model_copy(update={"curated_bucket": "other-bucket"}).model_dump_json()
    )
    with pytest.raises(ValueError, match="not the curated bucket other-bucket"):
        loader.handler(published(), LambdaContext("loader"))


def test_without_its_settings_the_loader_says_which_variable_is_missing(aws, monkeypatch):
    monkeypatch.delenv(LOADER_SETTINGS_ENV)
    with pytest.raises(RuntimeError, match="LOADER_SETTINGS must be set"):
        loader.handler(published(), LambdaContext("loader"))
