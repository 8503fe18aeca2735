"""DynamoDB state of the pipeline: the run ledger and the duplicate claims.

Ledger: per-run counters added atomically, one marker per object and phase. Counting is idempotent: a
step's counts and its object marker are written in one transaction whose condition is that the marker
does not exist yet, so a retried step, or the quarantine route racing a step that had already finished,
can never count an object twice.

Claims: duplicate detection across the objects of a dataset claims each record's key digest (a source
with `dedupe: key`) or record digest (`dedupe: records`) for its owner (`<key>#<position>`) with a
conditional write. The same record at the same place claims it again on a
re-run; a copy anywhere else in the dataset finds it taken. Claims outlive runs (their own table and TTL)
so re-runs decide alike; a batch read first skips the writes a re-run does not need.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from pipeline.errors import Throttled, raise_if_throttled

RUN = "RUN"
BATCH_GET_MAX = 100
MAX_BATCH_ATTEMPTS = 8
MAX_COUNTERS = 250  # one UpdateExpression stays well under DynamoDB's 4 KB expression limit
_SERIALIZE = TypeSerializer().serialize
_DESERIALIZE = TypeDeserializer().deserialize


def run_pk(run_id: str) -> str:
    return f"RUN#{run_id}"


def marker_sk(phase: str, key: str) -> str:
    # S3 keys may be 1,024 bytes, as long as a sort key may be: store a digest, keep the key as attribute.
    return f"OBJ#{phase}#{hashlib.sha256(key.encode()).hexdigest()}"


class Ledger:
    def __init__(self, client: Any, table: str, *, ttl_days: int = 90, clock: Callable[[], float] = time.time) -> None:
        self._db = client
        self._table = table
        self._ttl_seconds = ttl_days * 86400
        self._clock = clock

    def _expires(self) -> dict[str, str]:
        return {"N": str(int(self._clock()) + self._ttl_seconds)}

    def start_run(self, run_id: str, attributes: Mapping[str, Any]) -> None:
        item = {"pk": {"S": run_pk(run_id)}, "sk": {"S": RUN}, "expires_at": self._expires()}
        item.update({name: _SERIALIZE(value) for name, value in attributes.items()})
        try:
            self._db.put_item(TableName=self._table, Item=item, ConditionExpression="attribute_not_exists(pk)")
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise_if_throttled(exc)
                raise
            # A retried start: the run already exists, its counters must stay.

    def commit(
        self,
        run_id: str,
        phase: str,
        key: str,
        *,
        outcome: str,
        counts: Mapping[str, int],
        detail: Mapping[str, Any],
    ) -> bool:
        """Add ``counts`` to the run and mark (phase, key) done, once. False: it was already marked."""
        counts = {name: value for name, value in counts.items() if value}
        if len(counts) > MAX_COUNTERS:
            raise ValueError(f"{len(counts)} counters for one object; the ledger takes at most {MAX_COUNTERS}")
        marker = {
            "pk": {"S": run_pk(run_id)},
            "sk": {"S": marker_sk(phase, key)},
            "key": {"S": key},
            "outcome": {"S": outcome},
            "expires_at": self._expires(),
            **{name: _SERIALIZE(value) for name, value in detail.items()},
        }
        put = {
            "TableName": self._table,
            "Item": marker,
            "ConditionExpression": "attribute_not_exists(sk)",
        }
        names = {f"#c{i}": name for i, name in enumerate(counts)}
        values = {f":v{i}": {"N": str(value)} for i, value in enumerate(counts.values())}
        update = {
            "TableName": self._table,
            "Key": {"pk": {"S": run_pk(run_id)}, "sk": {"S": RUN}},
            "UpdateExpression": "ADD " + ", ".join(f"#c{i} :v{i}" for i in range(len(counts))),
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
        try:
            if counts:
                self._db.transact_write_items(TransactItems=[{"Put": put}, {"Update": update}])
            else:
                self._db.put_item(**put)
        except ClientError as exc:
            code = exc.response["Error"]["Code"]
            reasons = exc.response.get("CancellationReasons") or []
            if code == "ConditionalCheckFailedException" or (
                code == "TransactionCanceledException"
                and reasons
                and reasons[0].get("Code") == "ConditionalCheckFailed"
            ):
                return False
            raise_if_throttled(exc)
            raise
        return True

    def marker(self, run_id: str, phase: str, key: str) -> dict[str, Any] | None:
        response = self._db.get_item(
            TableName=self._table,
            Key={"pk": {"S": run_pk(run_id)}, "sk": {"S": marker_sk(phase, key)}},
            ConsistentRead=True,
        )
        item = response.get("Item")
        return {name: _DESERIALIZE(value) for name, value in item.items()} if item else None

    def counts(self, run_id: str) -> dict[str, int]:
        """The run's counters (every numeric attribute of the run item but its TTL)."""
        response = self._db.get_item(
            TableName=self._table, Key={"pk": {"S": run_pk(run_id)}, "sk": {"S": RUN}}, ConsistentRead=True
        )
        item = response.get("Item", {})
        return {name: int(value["N"]) for name, value in item.items() if "N" in value and name != "expires_at"}


class Claims:
    def __init__(
        self,
        client: Any,
        table: str,
        *,
        ttl_days: int = 365,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        workers: int = 16,
    ) -> None:
        self._db = client
        self._table = table
        self._ttl_seconds = ttl_days * 86400
        self._clock = clock
        self._sleep = sleep  # the back-off between batch reads of unprocessed keys
        self._workers = workers

    @staticmethod
    def _pk(scope: str, digest: str) -> str:
        return f"{scope}#{digest}"

    def owners(self, scope: str, digests: Sequence[str]) -> dict[str, str]:
        """Current owner of each digest already claimed (batch reads of 100, unprocessed keys retried)."""
        found: dict[str, str] = {}
        for start in range(0, len(digests), BATCH_GET_MAX):
            request: dict[str, Any] = {
                self._table: {
                    "Keys": [{"pk": {"S": self._pk(scope, d)}} for d in digests[start : start + BATCH_GET_MAX]],
                    "ProjectionExpression": "pk, #owner",
                    "ExpressionAttributeNames": {"#owner": "owner"},
                }
            }
            for _attempt in range(MAX_BATCH_ATTEMPTS):
                try:
                    response = self._db.batch_get_item(RequestItems=request)
                except ClientError as exc:
                    raise_if_throttled(exc)
                    raise
                for item in response["Responses"].get(self._table, []):
                    found[item["pk"]["S"].rsplit("#", 1)[1]] = item["owner"]["S"]
                request = response.get("UnprocessedKeys") or {}
                if not request:
                    break
                self._sleep(0.05 * 2**_attempt)
            else:
                raise Throttled("BatchGetItem: keys still unprocessed after retries")
        return found

    def claim(self, scope: str, claims: Sequence[tuple[str, str]]) -> dict[str, str | None]:
        """Claim each (digest, owner) in ``scope``; returns the digests another owner holds (duplicates),
        each with that owner (None: it expired between the failed write and the read that names it)."""
        current = self.owners(scope, [digest for digest, _ in claims])
        taken: dict[str, str | None] = {
            digest: current[digest] for digest, owner in claims if current.get(digest, owner) != owner
        }
        pending = [(digest, owner) for digest, owner in claims if digest not in current]
        raced = self._write(scope, pending)
        if raced:
            holders = self.owners(scope, sorted(raced))
            taken |= {digest: holders.get(digest) for digest in raced}
        return taken

    def _write(self, scope: str, pending: Sequence[tuple[str, str]]) -> set[str]:
        """The conditional writes; returns the digests another object claimed since the read."""

        def one(claim: tuple[str, str]) -> str | None:
            digest, owner = claim
            try:
                self._db.put_item(
                    TableName=self._table,
                    Item={
                        "pk": {"S": self._pk(scope, digest)},
                        "owner": {"S": owner},
                        "expires_at": {"N": str(int(self._clock()) + self._ttl_seconds)},
                    },
                    ConditionExpression="attribute_not_exists(pk) OR #owner = :owner",
                    ExpressionAttributeNames={"#owner": "owner"},
                    ExpressionAttributeValues={":owner": {"S": owner}},
                )
            except ClientError as exc:
                if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                    return digest  # another object claimed it since the read
                raise_if_throttled(exc)
                raise
            return None

        if len(pending) <= 1:
            return {d for d in map(one, pending) if d is not None}
        with ThreadPoolExecutor(max_workers=min(self._workers, len(pending))) as pool:
            return {d for d in pool.map(one, pending) if d is not None}
