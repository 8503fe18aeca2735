"""`Claims`: duplicates across the objects of a dataset, claimed with conditional writes.

DynamoDB is a botocore Stubber, which checks each request against the service model and the exact parameters
spelled out here: the batch reads of at most 100 keys, the unprocessed keys read again after a back-off, the
conditional write with its TTL, and the race where another object claims a digest between the read and the write.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from decimal import Decimal

import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from pipeline.errors import Throttled
from pipeline.ledger import Claims, Ledger

NOW = 1_764_633_600.75  # a clock with a fraction: the TTL is whole seconds
EXPIRES = str(1_764_633_600 + 365 * 86_400)  # claims live a year by default
SCOPE = "retention/profiles"


def claims_of(client: object, sleeps: list[float] | None = None) -> Claims:
    # One worker: the conditional writes go in the order of the claims, as the stubbed responses expect.
    return Claims(client, "claims", clock=lambda: NOW, sleep=(sleeps if sleeps is not None else []).append, workers=1)


def read_keys(digests: Sequence[str]) -> dict[str, object]:
    return {
        "Keys": [{"pk": {"S": f"{SCOPE}#{digest}"}} for digest in digests],
        "ProjectionExpression": "pk, #owner",
        "ExpressionAttributeNames": {"#owner": "owner"},
    }


def held(pairs: dict[str, str]) -> list[dict[str, dict[str, str]]]:
    return [{"pk": {"S": f"{SCOPE}#{digest}"}, "owner": {"S": owner}} for digest, owner in pairs.items()]


def expect_read(stubber: Stubber, digests: Sequence[str], found: dict[str, str], unprocessed=None) -> None:
    # A read that processed no key may name no table in Responses at all.
    response: dict[str, object] = {"Responses": {"claims": held(found)} if found or not unprocessed else {}}
    if unprocessed:
        response["UnprocessedKeys"] = {"claims": read_keys(unprocessed)}
    stubber.add_response("batch_get_item", response, {"RequestItems": {"claims": read_keys(digests)}})


def put(digest: str, owner: str) -> dict[str, object]:
    return {
        "TableName": "claims",
        "Item": {"pk": {"S": f"{SCOPE}#{digest}"}, "owner": {"S": owner}, "expires_at": {"N": EXPIRES}},
        "ConditionExpression": "attribute_not_exists(pk) OR #owner = :owner",
        "ExpressionAttributeNames": {"#owner": "owner"},
        "ExpressionAttributeValues": {":owner": {"S": owner}},
    }


def test_a_new_digest_is_written_a_re_claim_is_not_and_one_held_elsewhere_names_its_owner(dynamodb_stub):
    client, stubber = dynamodb_stub
    claims = [("d1", "a.csv#2"), ("d2", "a.csv#3"), ("d3", "a.csv#4")]
    # d2 is held by another object; d3 by this very row (a re-run): neither is written again.
    expect_read(stubber, ["d1", "d2", "d3"], {"d2": "b.csv#7", "d3": "a.csv#4"})
    stubber.add_response("put_item", {}, put("d1", "a.csv#2"))
    assert claims_of(client).claim(SCOPE, claims) == {"d2": "b.csv#7"}


def test_a_digest_claimed_elsewhere_between_the_read_and_the_write_is_read_again_for_its_owner(dynamodb_stub):
    client, stubber = dynamodb_stub
    claims = [("d1", "a.csv#2"), ("d2", "a.csv#3"), ("d4", "a.csv#5")]
    expect_read(stubber, ["d1", "d2", "d4"], {"d4": "c.csv#1"})
    for digest, owner in claims[:2]:  # both writes lose the race
        stubber.add_client_error(
            "put_item", "ConditionalCheckFailedException", expected_params=put(digest, owner), http_status_code=400
        )
    # d1's winner is named; d2's claim expired before the second read could name it.
    expect_read(stubber, ["d1", "d2"], {"d1": "b.csv#9"})
    assert claims_of(client).claim(SCOPE, claims) == {"d4": "c.csv#1", "d1": "b.csv#9", "d2": None}


def test_reads_go_in_batches_of_at_most_100_keys(dynamodb_stub):
    client, stubber = dynamodb_stub
    digests = [f"d{i:03d}" for i in range(250)]
    expect_read(stubber, digests[:100], {"d007": "x#1"})
    expect_read(stubber, digests[100:200], {})
    expect_read(stubber, digests[200:], {"d249": "y#2"})
    assert claims_of(client).owners(SCOPE, digests) == {"d007": "x#1", "d249": "y#2"}


def test_unprocessed_keys_are_read_again_after_a_back_off(dynamodb_stub):
    client, stubber = dynamodb_stub
    sleeps: list[float] = []
    expect_read(stubber, ["d1", "d2", "d3"], {"d1": "a#1"}, unprocessed=["d2", "d3"])
    expect_read(stubber, ["d2", "d3"], {"d3": "c#3"}, unprocessed=["d2"])
    expect_read(stubber, ["d2"], {"d2": "b#2"})
    assert claims_of(client, sleeps).owners(SCOPE, ["d1", "d2", "d3"]) == {"d1": "a#1", "d2": "b#2", "d3": "c#3"}
    assert sleeps == [0.05, 0.1]


def test_keys_still_unprocessed_after_eight_reads_are_a_throttle(dynamodb_stub):
    client, stubber = dynamodb_stub
    sleeps: list[float] = []
    for _ in range(8):
        expect_read(stubber, ["d1"], {}, unprocessed=["d1"])
    with pytest.raises(Throttled, match=r"^BatchGetItem: keys still unprocessed after retries$"):
        claims_of(client, sleeps).owners(SCOPE, ["d1"])
    assert sleeps == [0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4]


@pytest.mark.parametrize("code", ["ProvisionedThroughputExceededException", "ThrottlingException"])
def test_a_throttled_read_or_write_becomes_throttled(dynamodb_stub, code):
    client, stubber = dynamodb_stub
    stubber.add_client_error("batch_get_item", code, "slow down", http_status_code=400)
    with pytest.raises(Throttled, match=r"^BatchGetItem: slow down$"):
        claims_of(client).claim(SCOPE, [("d1", "a#1")])
    expect_read(stubber, ["d1"], {})
    stubber.add_client_error("put_item", code, "slow down", http_status_code=400)
    with pytest.raises(Throttled, match=r"^PutItem: slow down$"):
        claims_of(client).claim(SCOPE, [("d1", "a#1")])


def test_any_other_error_is_raised_as_it_came(dynamodb_stub):
    client, stubber = dynamodb_stub
    stubber.add_client_error("batch_get_item", "AccessDeniedException", http_status_code=400)
    with pytest.raises(ClientError, match="AccessDeniedException"):
        claims_of(client).owners(SCOPE, ["d1"])
    expect_read(stubber, ["d1"], {})
    stubber.add_client_error("put_item", "ResourceNotFoundException", http_status_code=400)
    with pytest.raises(ClientError, match="ResourceNotFoundException"):
        claims_of(client).claim(SCOPE, [("d1", "a#1")])


def test_an_object_marker_is_read_consistently_by_the_digest_of_its_key_and_deserialized(dynamodb_stub):
    client, stubber = dynamodb_stub
    sk = "OBJ#validate#" + hashlib.sha256(b"raw/retention/a.csv").hexdigest()
    key = {"pk": {"S": "RUN#r-1"}, "sk": {"S": sk}}
    expected = {"TableName": "ledger", "Key": key, "ConsistentRead": True}  # a step retried at once must see it
    stubber.add_response("get_item", {"Item": {**key, "outcome": {"S": "passed"}, "records": {"N": "12"}}}, expected)
    stubber.add_response("get_item", {}, expected)
    ledger = Ledger(client, "ledger", clock=lambda: NOW)
    assert ledger.marker("r-1", "validate", "raw/retention/a.csv") == {
        "pk": "RUN#r-1",
        "sk": sk,
        "outcome": "passed",
        "records": Decimal(12),
    }
    assert ledger.marker("r-1", "validate", "raw/retention/a.csv") is None
