"""Object layout: keys outside it raise LayoutError with the key and the expected shape."""

from __future__ import annotations

import pytest
from pipeline.keys import (
    LayoutError,
    RawKey,
    dataset_of_marker,
    document_key,
    parse_raw_key,
    raw_key_of_staging,
    records_key,
    staging_key,
)


def test_a_marker_names_its_dataset():
    assert dataset_of_marker("datasets/customer-retention/_READY") == "customer-retention"
    assert dataset_of_marker(f"datasets/a{'b' * 62}/_READY") == f"a{'b' * 62}"


@pytest.mark.parametrize(
    "key",
    [
        "datasets/Bad Name/_READY",  # dataset id outside the pattern
        "datasets/-starts-with-dash/_READY",
        f"datasets/a{'b' * 63}/_READY",  # 64 characters: one too many
        "other/ds/_READY",  # not under datasets/
        "datasets/ds/_READY/extra",  # too deep
        "datasets/ds/READY",  # not the marker
    ],
)
def test_keys_that_are_not_markers(key):
    with pytest.raises(LayoutError) as info:
        dataset_of_marker(key)
    assert str(info.value) == (
        f"'{key}' is not a marker datasets/<dataset>/_READY (dataset: ^[a-z0-9][a-z0-9._-]{{0,62}}$)"
    )


def test_raw_keys_with_and_without_a_source_folder():
    assert parse_raw_key("datasets/ds/file.CSV") == RawKey(
        key="datasets/ds/file.CSV", dataset="ds", source=None, extension=".csv"
    )
    assert parse_raw_key("datasets/ds/profiles/2024/a.jsonl") == RawKey(
        key="datasets/ds/profiles/2024/a.jsonl", dataset="ds", source="profiles", extension=".jsonl"
    )


@pytest.mark.parametrize("key", ["datasets/ds", "other/ds/profiles/a.jsonl", "other/ds/a.jsonl"])
def test_raw_keys_outside_datasets(key):
    with pytest.raises(LayoutError) as info:
        parse_raw_key(key)
    assert str(info.value) == f"'{key}' is not under datasets/<dataset>/"


def test_staging_keys_round_trip_and_foreign_keys_are_refused():
    key = staging_key("run-1", "valid", "datasets/ds/profiles/a.jsonl")
    assert key == "staging/run-1/valid/datasets/ds/profiles/a.jsonl.jsonl"
    assert raw_key_of_staging("run-1", "valid", key) == "datasets/ds/profiles/a.jsonl"
    for foreign in ("staging/run-1/valid/datasets/ds/profiles/a.csv", "staging/run-2/valid/datasets/ds/a.jsonl"):
        with pytest.raises(LayoutError) as info:
            raw_key_of_staging("run-1", "valid", foreign)
        assert str(info.value) == f"'{foreign}' is not a valid staging object of run run-1"


def test_curated_keys_of_keys_outside_datasets():
    with pytest.raises(LayoutError) as info:
        records_key("uploads/a.csv")
    assert str(info.value) == "'uploads/a.csv' is not under datasets/"


def test_document_keys_per_rendering():
    assert document_key("datasets/ds/feedback/a.TXT", "native") == "documents/ds/feedback/a.TXT"
    assert document_key("datasets/ds/profiles/a.jsonl", "markdown") == "documents/ds/profiles/a.jsonl.md"
    assert document_key("datasets/ds/purchases/a.csv", "csv") == "documents/ds/purchases/a.csv.csv"
    assert document_key("datasets/ds/profiles/a.jsonl", "none") is None
    with pytest.raises(LayoutError) as layout:
        document_key("datasets/ds/feedback/a.Jsonl", "native")
    assert str(layout.value) == "'datasets/ds/feedback/a.Jsonl': a knowledge base cannot parse '.Jsonl' as it is"
    with pytest.raises(ValueError, match=r"^unknown rendering 'html'$"):
        document_key("datasets/ds/feedback/a.txt", "html")
