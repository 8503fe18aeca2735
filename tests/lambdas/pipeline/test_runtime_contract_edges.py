"""The pipeline runtime's environment and salt, and the settings contract's text field and wire form (the last
survivors of the mutation run in runtime.py and contract.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_lambda_powertools.utilities import parameters
from pipeline import runtime
from pipeline.contract import FieldSpec, text_field

from tests.lambdas.pipeline.harness import pipeline_settings


def test_a_missing_variable_names_itself_and_who_sets_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LEDGER_TABLE", raising=False)
    with pytest.raises(RuntimeError) as raised:
        runtime.env("LEDGER_TABLE")
    assert str(raised.value) == "environment variable LEDGER_TABLE is not set; the Data stack sets it on every function"


@pytest.mark.parametrize(
    ("stored", "salt"), [(b"\x00\xffsalt-bytes-16+", b"\x00\xffsalt-bytes-16+"), ("text-salt", b"text-salt")]
)
def test_the_salt_is_read_through_the_cache_for_an_hour_and_kept_as_bytes(
    monkeypatch: pytest.MonkeyPatch, stored: Any, salt: bytes
) -> None:
    calls: list[tuple[str, dict[str, Any]]] = []

    def get_secret(name: str, **kwargs: Any) -> Any:
        calls.append((name, kwargs))
        return stored

    monkeypatch.setenv("HASH_SALT_SECRET_ARN", "arn:aws:secretsmanager:eu-west-1:111122223333:secret:salt")
    monkeypatch.setattr(parameters, "get_secret", get_secret)  # the module runtime reads it from
    assert runtime.hash_salt() == salt
    assert calls == [("arn:aws:secretsmanager:eu-west-1:111122223333:secret:salt", {"max_age": 3600})]


def test_a_text_sources_one_field_is_the_required_scanned_text() -> None:
    spec = text_field()
    assert isinstance(spec, FieldSpec)
    assert (spec.name, spec.type, spec.required, spec.scan) == ("text", "string", True, True)


def test_the_wire_form_is_plain_json_of_the_given_sections_only() -> None:
    wire = pipeline_settings().only(("limits", "sources")).wire()  # sources hold tuples (fields, key)
    assert set(wire) == {"limits", "sources"}
    assert json.loads(json.dumps(wire)) == wire  # nothing a JSON file could not hold (sets, tuples, models)
    assert all(isinstance(v, (dict, list, str, int, float, bool)) or v is None for v in _leaves(wire))


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in _leaves(item)] + [value]
    if isinstance(value, list):
        return [leaf for item in value for leaf in _leaves(item)] + [value]
    return [value]
