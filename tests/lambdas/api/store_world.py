"""The Api tables in moto, created from the same key-schema constants the Api stack uses."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
from api.store import schema
from moto import mock_aws

REGION = "eu-west-1"


@contextmanager
def mocked_table(name: str, *, up_index: bool = False) -> Iterator[Any]:
    """A moto DynamoDB client with one store table (`create_table`), for as long as the block runs."""
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        create_table(client, name, up_index=up_index)
        yield client


def create_table(db: Any, name: str, *, up_index: bool = False) -> str:
    """A table with the store's (pk, sk) key, TTL on expires_at, and (telemetry) the thumbs-up index."""
    pk, sk = schema.CONVERSATIONS_KEY
    attributes = [{"AttributeName": pk, "AttributeType": "S"}, {"AttributeName": sk, "AttributeType": "S"}]
    extra: dict[str, Any] = {}
    if up_index:
        index_pk, index_sk = schema.TELEMETRY_UP_INDEX_KEY
        attributes += [
            {"AttributeName": index_pk, "AttributeType": "S"},
            {"AttributeName": index_sk, "AttributeType": "S"},
        ]
        extra["GlobalSecondaryIndexes"] = [
            {
                "IndexName": schema.TELEMETRY_UP_INDEX,
                "KeySchema": [
                    {"AttributeName": index_pk, "KeyType": "HASH"},
                    {"AttributeName": index_sk, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ]
    db.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": pk, "KeyType": "HASH"}, {"AttributeName": sk, "KeyType": "RANGE"}],
        AttributeDefinitions=attributes,
        BillingMode="PAY_PER_REQUEST",
        **extra,
    )
    db.update_time_to_live(
        TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": schema.TTL_ATTRIBUTE}
    )
    return name


class Clock:
    """A settable clock (epoch seconds)."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def raw_items(db: Any, table: str) -> list[dict[str, Any]]:
    """Every item of the table in DynamoDB's typed form, sorted by key."""
    items = db.scan(TableName=table)["Items"]
    return sorted(items, key=lambda item: (item["pk"]["S"], item["sk"]["S"]))


class AtomicUpdates:
    """A DynamoDB client whose UpdateItem calls are serialized, as DynamoDB applies each one atomically; moto's
    in-memory table does not (two threads can read the same counter), so a concurrency test against moto alone
    would test moto and fail at random. Every other call goes through unchanged and runs concurrently."""

    def __init__(self, db: Any) -> None:
        self._db = db
        self._lock = threading.Lock()

    def update_item(self, **request: Any) -> Any:
        with self._lock:
            return self._db.update_item(**request)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._db, name)
