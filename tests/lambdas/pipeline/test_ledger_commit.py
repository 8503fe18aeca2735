"""`Ledger.commit` and `Ledger.counts`: an object's counts added to its run once, with its marker, in one
transaction; a repeat finds the marker and adds nothing.

DynamoDB is a botocore Stubber (the request checked against the service model and the exact parameters spelled
out here), so the marker's attributes, the counters' update and every error path are pinned.
"""

from __future__ import annotations

import hashlib

import pytest
from botocore.exceptions import ClientError
from pipeline.errors import Throttled
from pipeline.ledger import Ledger

NOW = 1_764_633_600.75
EXPIRES = {"N": str(1_764_633_600 + 90 * 86_400)}
KEY = "raw/retention/profiles/a.csv"
RUN_KEY = {"pk": {"S": "RUN#r-1"}, "sk": {"S": "RUN"}}
MARKER = {
    "pk": {"S": "RUN#r-1"},
    "sk": {"S": "OBJ#process#" + hashlib.sha256(KEY.encode()).hexdigest()},
    "key": {"S": KEY},  # the S3 key itself, which the sort key only holds as a digest
    "outcome": {"S": "processed"},
    "expires_at": EXPIRES,
    "passed": {"N": "7"},
    "note": {"S": "two blank rows"},
}
PUT = {"TableName": "ledger", "Item": MARKER, "ConditionExpression": "attribute_not_exists(sk)"}
UPDATE = {
    "TableName": "ledger",
    "Key": RUN_KEY,
    "UpdateExpression": "ADD #c0 :v0, #c1 :v1",
    "ExpressionAttributeNames": {"#c0": "passed", "#c1": "quarantined"},
    "ExpressionAttributeValues": {":v0": {"N": "7"}, ":v1": {"N": "2"}},
}


def commit(client: object, counts: dict[str, int]) -> bool:
    ledger = Ledger(client, "ledger", clock=lambda: NOW)
    return ledger.commit(
        "r-1", "process", KEY, outcome="processed", counts=counts, detail={"passed": 7, "note": "two blank rows"}
    )


def test_counts_and_the_marker_go_in_one_transaction_without_the_zero_counts(dynamodb_stub):
    client, stubber = dynamodb_stub
    stubber.add_response("transact_write_items", {}, {"TransactItems": [{"Put": PUT}, {"Update": UPDATE}]})
    assert commit(client, {"passed": 7, "skipped_blank": 0, "quarantined": 2}) is True


def test_an_object_with_nothing_to_count_writes_only_its_marker(dynamodb_stub):
    client, stubber = dynamodb_stub
    stubber.add_response("put_item", {}, PUT)
    assert commit(client, {"passed": 0}) is True


def test_a_repeat_finds_its_marker_and_adds_nothing(dynamodb_stub):
    client, stubber = dynamodb_stub
    stubber.add_client_error(
        "transact_write_items",
        "TransactionCanceledException",
        modeled_fields={"CancellationReasons": [{"Code": "ConditionalCheckFailed"}, {"Code": "None"}]},
    )
    assert commit(client, {"passed": 7, "quarantined": 2}) is False
    stubber.add_client_error("put_item", "ConditionalCheckFailedException")
    assert commit(client, {}) is False


@pytest.mark.parametrize(
    "reasons",
    [
        [{"Code": "None"}, {"Code": "TransactionConflict"}],  # the counters' update lost a race: retry, not skip
        None,  # no reasons given
    ],
)
def test_a_transaction_cancelled_for_another_reason_is_raised(dynamodb_stub, reasons):
    client, stubber = dynamodb_stub
    fields = None if reasons is None else {"CancellationReasons": reasons}
    stubber.add_client_error("transact_write_items", "TransactionCanceledException", modeled_fields=fields)
    with pytest.raises(ClientError) as raised:
        commit(client, {"passed": 7})
    assert raised.value.response["Error"]["Code"] == "TransactionCanceledException"


def test_a_throttled_commit_is_throttled_and_any_other_error_is_raised_as_it_came(dynamodb_stub):
    client, stubber = dynamodb_stub
    stubber.add_client_error("transact_write_items", "ThrottlingException", "slow down")
    with pytest.raises(Throttled, match=r"^TransactWriteItems: slow down$"):
        commit(client, {"passed": 7})
    stubber.add_client_error("put_item", "AccessDeniedException", "no")
    with pytest.raises(ClientError) as raised:
        commit(client, {})
    assert not isinstance(raised.value, Throttled)


def test_at_most_250_counters_an_object(dynamodb_stub):
    client, stubber = dynamodb_stub
    at_limit = {f"n{i}": 1 for i in range(250)}
    stubber.add_response("transact_write_items", {})  # the request is checked by the service model only
    ledger = Ledger(client, "ledger", clock=lambda: NOW)
    assert ledger.commit("r-1", "process", KEY, outcome="processed", counts=at_limit, detail={}) is True
    with pytest.raises(ValueError, match=r"^251 counters for one object; the ledger takes at most 250$"):
        ledger.commit("r-1", "process", KEY, outcome="processed", counts=at_limit | {"n250": 1}, detail={})


def test_the_run_counters_are_read_consistently_without_the_ttl(dynamodb_stub):
    client, stubber = dynamodb_stub
    item = {**RUN_KEY, "expires_at": EXPIRES, "passed": {"N": "7"}, "quarantined": {"N": "2"}, "dataset": {"S": "x"}}
    expected = {"TableName": "ledger", "Key": RUN_KEY, "ConsistentRead": True}  # the last step's counts are in
    stubber.add_response("get_item", {"Item": item}, expected)
    stubber.add_response("get_item", {}, expected)
    ledger = Ledger(client, "ledger", clock=lambda: NOW)
    assert ledger.counts("r-1") == {"passed": 7, "quarantined": 2}
    assert ledger.counts("r-1") == {}
