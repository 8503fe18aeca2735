"""The agent's tables through an injected DynamoDB client: customers, interactions, offers.

Items come back as plain Python (DynamoDB numbers as int or float), so they serialize as JSON and validate
against the response models. Errors other than "the offer already exists" propagate as botocore's
`ClientError`; the action group answers them as TABLE_UNAVAILABLE.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError
from common.aws_errors import error_code

from agent.contract import CUSTOMERS_KEY, INTERACTIONS_KEY, OFFERS_KEY

_SERIALIZER = TypeSerializer()
_DESERIALIZER = TypeDeserializer()
MAX_BATCH = 25  # BatchWriteItem's maximum


def plain(value: Any) -> Any:
    """``value`` with every Decimal as int (when whole) or float, recursively."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list | set | tuple):
        return [plain(item) for item in value]
    return value


def to_attributes(item: Mapping[str, Any]) -> dict[str, Any]:
    """An item in DynamoDB's typed form (numbers must be Decimal or int; floats are turned into Decimal)."""
    return {key: _SERIALIZER.serialize(_decimal(value)) for key, value in item.items() if value is not None}


def from_attributes(attributes: Mapping[str, Any]) -> dict[str, Any]:
    return {key: plain(_DESERIALIZER.deserialize(value)) for key, value in attributes.items()}


def _decimal(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {key: _decimal(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_decimal(item) for item in value]
    return value


def get_customer(db: Any, table: str, customer_id: str) -> dict[str, Any] | None:
    response = db.get_item(TableName=table, Key={CUSTOMERS_KEY[0]: {"S": customer_id}}, ConsistentRead=True)
    item = response.get("Item")
    return from_attributes(item) if item else None


def query_interactions(
    db: Any, table: str, customer_id: str, limit: int | None = None
) -> tuple[list[dict[str, Any]], bool]:
    """The customer's interactions, newest first (at most ``limit``; None: all), and whether more exist."""
    items: list[dict[str, Any]] = []
    request: dict[str, Any] = {
        "TableName": table,
        "KeyConditionExpression": "#pk = :pk",
        "ExpressionAttributeNames": {"#pk": INTERACTIONS_KEY[0]},
        "ExpressionAttributeValues": {":pk": {"S": customer_id}},
        "ScanIndexForward": False,
    }
    if limit is not None:
        request["Limit"] = limit + 1  # one more than asked: says whether more exist
    while True:
        response = db.query(**request)
        items.extend(from_attributes(item) for item in response.get("Items", []))
        last = response.get("LastEvaluatedKey")
        if not last or (limit is not None and len(items) > limit):
            break
        request["ExclusiveStartKey"] = last
    if limit is None:
        return items, False
    return items[:limit], len(items) > limit


def get_offer(db: Any, table: str, customer_id: str, service: str) -> dict[str, Any] | None:
    key = {OFFERS_KEY[0]: {"S": customer_id}, str(OFFERS_KEY[1]): {"S": service}}
    item = db.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")
    return from_attributes(item) if item else None


def put_offer_once(db: Any, table: str, offer: Mapping[str, Any]) -> bool:
    """Write ``offer`` unless the customer already has one for its service; False when one exists."""
    try:
        db.put_item(
            TableName=table,
            Item=to_attributes(offer),
            ConditionExpression="attribute_not_exists(#pk)",
            ExpressionAttributeNames={"#pk": OFFERS_KEY[0]},
        )
    except ClientError as exc:
        if error_code(exc) == "ConditionalCheckFailedException":
            return False
        raise
    return True
