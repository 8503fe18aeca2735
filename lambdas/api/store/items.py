"""Items in DynamoDB's typed form and back, through boto3's own (de)serializer."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from api.store.schema import TTL_ATTRIBUTE

_SERIALIZER = TypeSerializer()
_DESERIALIZER = TypeDeserializer()


def to_attributes(item: Mapping[str, Any]) -> dict[str, Any]:
    """An item in typed form; None values are left out, floats become Decimal (DynamoDB's number)."""
    return {
        key: _SERIALIZER.serialize(Decimal(str(value)) if isinstance(value, float) else value)
        for key, value in item.items()
        if value is not None
    }


def from_attributes(attributes: Mapping[str, Any]) -> dict[str, Any]:
    """A plain item: numbers as int when whole, else float."""
    out: dict[str, Any] = {}
    for key, value in attributes.items():
        plain = _DESERIALIZER.deserialize(value)
        if isinstance(plain, Decimal):
            plain = int(plain) if plain == plain.to_integral_value() else float(plain)
        out[key] = plain
    return out


def live(item: Mapping[str, Any], now: float) -> bool:
    """False once the item's TTL has passed (DynamoDB deletes expired items lazily, days later at most)."""
    expires = item.get(TTL_ATTRIBUTE)
    return expires is None or float(expires) > now


def string(value: str) -> dict[str, str]:
    return {"S": value}


def number(value: int | float) -> dict[str, str]:
    return {"N": str(value)}
