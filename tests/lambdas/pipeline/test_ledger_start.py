"""`Ledger.start_run`: the run's item, written once. A retried start keeps the counters the first one began, a
throttled table becomes the `Throttled` error Step Functions retries, and any other error is raised as it came.

DynamoDB is a botocore Stubber, which checks each request against the service model and the exact parameters
expected here (the item spelled out by hand, the TTL from the fixed clock).
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from pipeline.errors import Throttled
from pipeline.ledger import Ledger

NOW = 1_764_633_600.75  # a clock with a fraction: the TTL is whole seconds


def expected_put(ttl_days: int) -> dict[str, object]:
    return {
        "TableName": "ledger",
        "Item": {
            "pk": {"S": "RUN#r-1"},
            "sk": {"S": "RUN"},
            "expires_at": {"N": str(1_764_633_600 + ttl_days * 86_400)},
            "dataset": {"S": "retention"},
            "objects": {"N": "3"},
            "sources": {"L": [{"S": "profiles"}, {"S": "purchases"}]},
        },
        "ConditionExpression": "attribute_not_exists(pk)",
    }


ATTRIBUTES = {"dataset": "retention", "objects": 3, "sources": ["profiles", "purchases"]}


@pytest.mark.parametrize("ttl_days", [90, 1])
def test_the_run_item_carries_its_attributes_and_expires_ttl_days_after_now(dynamodb_stub, ttl_days):
    client, stubber = dynamodb_stub
    stubber.add_response("put_item", {}, expected_put(ttl_days))
    Ledger(client, "ledger", ttl_days=ttl_days, clock=lambda: NOW).start_run("r-1", ATTRIBUTES)


def test_a_retried_start_leaves_the_existing_run_alone(dynamodb_stub):
    client, stubber = dynamodb_stub
    stubber.add_client_error("put_item", "ConditionalCheckFailedException", expected_params=expected_put(90))
    Ledger(client, "ledger", clock=lambda: NOW).start_run("r-1", ATTRIBUTES)  # no error: the run exists


def test_a_throttled_table_is_the_error_step_functions_retries(dynamodb_stub):
    client, stubber = dynamodb_stub
    stubber.add_client_error(
        "put_item", "ProvisionedThroughputExceededException", "slow down", expected_params=expected_put(90)
    )
    with pytest.raises(Throttled, match="PutItem: slow down"):
        Ledger(client, "ledger", clock=lambda: NOW).start_run("r-1", ATTRIBUTES)


def test_any_other_error_is_raised_as_it_came(dynamodb_stub):
    client, stubber = dynamodb_stub
    stubber.add_client_error("put_item", "AccessDeniedException", "no", expected_params=expected_put(90))
    with pytest.raises(ClientError) as caught:
        Ledger(client, "ledger", clock=lambda: NOW).start_run("r-1", ATTRIBUTES)
    assert not isinstance(caught.value, Throttled)
    assert caught.value.response["Error"]["Code"] == "AccessDeniedException"
