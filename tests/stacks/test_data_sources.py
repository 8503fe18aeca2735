"""data.yaml's ingestion settings per source: key and dedupe rule, encoding, CSV dialect. Each mistake is
one line naming the file, the field and the reason; a good setting reaches the functions' contract."""

from __future__ import annotations

from typing import Any

import pytest

from stacks.config import ConfigError, load_usecase
from stacks.data.settings import load_data_settings
from tests.stacks.test_data import good, write_usecase


def loaded(tmp_path, settings: dict[str, Any]):
    root = write_usecase(tmp_path, settings)
    return load_data_settings(load_usecase("customer-retention", root), root)


@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [
        (lambda s: s["purchases"].update(key=["order_no"]), "sources.purchases", "key field 'order_no' is not a field"),
        (
            lambda s: s["purchases"]["fields"]["order_id"].update(required=False),
            "sources.purchases",
            "key field 'order_id' must be required: a record without it has no key",
        ),
        (lambda s: s["purchases"].update(key=[]), "sources.purchases.key", "at least 1 item"),
        (lambda s: s["purchases"].update(key=["order_id", "order_id"]), "sources.purchases", "key names a field twice"),
        (
            lambda s: s["service_events"].update(dedupe="key"),
            "sources.service_events",
            "dedupe: key needs the key fields (key: [field, ...])",
        ),
        (lambda s: s["purchases"].update(dedupe="rows"), "sources.purchases.dedupe", "'key', 'records' or 'none'"),
        (
            lambda s: s["purchases"].update(delimiter="|"),
            "sources.purchases.delimiter",
            "'comma', 'tab' or 'semicolon'",
        ),
        (lambda s: s["purchases"].update(encoding="ascii"), "sources.purchases.encoding", "'utf-16' or 'auto'"),
        (
            lambda s: s["profiles"].update(delimiter="tab"),
            "sources.profiles",
            "delimiter apply to csv sources only",
        ),
        (
            lambda s: s["feedback"].update(ignore_columns=[""], match_header="loose"),
            "sources.feedback",
            "ignore_columns, match_header apply to csv sources only",
        ),
        (
            lambda s: s["purchases"].update(ignore_columns=["", "Amount"]),
            "sources.purchases",
            "ignore_columns names field(s) of the schema: ['Amount']",
        ),
        (lambda s: s["purchases"].update(match_header="fuzzy"), "sources.purchases.match_header", "'exact' or 'loose'"),
    ],
)
def test_bad_ingestion_settings_are_one_line_with_file_field_and_reason(tmp_path, change, field, reason):
    settings = good()
    change(settings["sources"])
    with pytest.raises(ConfigError) as error:
        loaded(tmp_path, settings)
    assert (error.value.field, error.value.source.endswith("customer-retention/data.yaml")) == (field, True)
    assert reason in error.value.reason
    assert "\n" not in str(error.value)


def test_dedupe_defaults_to_key_with_a_key_and_none_without():
    sources = good()["sources"]
    assert sources["profiles"]["key"] == ["customer_id"]
    assert "key" not in sources["service_events"]
    loaded_contract = load_data_settings(load_usecase("customer-retention")).contract().sources
    assert (loaded_contract["profiles"].key, loaded_contract["profiles"].dedupe) == (("customer_id",), "key")
    assert (loaded_contract["purchases"].key, loaded_contract["purchases"].dedupe) == (("order_id",), "key")
    assert (loaded_contract["support_contacts"].key, loaded_contract["support_contacts"].dedupe) == (
        ("ticket_id",),
        "key",
    )
    assert (loaded_contract["service_events"].key, loaded_contract["service_events"].dedupe) == ((), "none")


def test_a_declared_dialect_reaches_the_contract(tmp_path):
    settings = good()
    settings["sources"]["purchases"].update(
        delimiter="tab", encoding="auto", ignore_columns=[""], match_header="loose", dedupe="records"
    )
    settings["sources"]["feedback"].update(encoding="cp1252")
    sources = loaded(tmp_path, settings).contract().sources
    purchases = sources["purchases"]
    assert (purchases.delimiter, purchases.encoding, purchases.ignore_columns, purchases.match_header) == (
        "\t",
        "auto",
        ("",),
        "loose",
    )
    assert (purchases.key, purchases.dedupe) == (("order_id",), "records")  # declared, not the default
    assert sources["feedback"].encoding == "cp1252"
    assert sources["profiles"].delimiter == ","  # the default
