"""Duplicates by the source's rule: ``key`` (declared key fields), ``records`` (whole records) or ``none``
(whole-record repeats kept and counted). The ANES 1996 extract holds one exact repeat (pandas'
`DataFrame.duplicated`): without a key it is two respondents who answered alike, and must not be lost."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

import pandas as pd  # type: ignore[import-untyped]
import pytest
from pipeline import keys
from pipeline.contract import FieldSpec
from pipeline.models import Item, Run
from pipeline.validate import claim_scope, drop_cross_object_duplicates
from pipeline.validation import validate_bytes

from tests.lambdas.pipeline.anes96 import LIMITS, as_csv, frame, source

ID = {"extra": (FieldSpec(name="respondent", type="string", required=True),)}


def with_ids(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    out["respondent"] = [f"R{i:04d}" for i in range(len(df))]
    return out


def first_positions(df: pd.DataFrame, subset: list[str] | None) -> list[tuple[int, int]]:
    """(CSV row of each duplicate, CSV row of its first occurrence), from pandas: row = index + 2."""
    groups = df.groupby(subset or list(df.columns), sort=False).ngroup()
    first = {group: index for index, group in reversed(list(groups.items()))}
    return [(i + 2, first[g] + 2) for i, g in groups.items() if first[g] != i]


def test_without_a_key_a_repeated_row_is_kept_and_counted():
    df = frame()
    assert df.duplicated().sum() == 1  # the shipped file: one exact repeat
    result = validate_bytes(as_csv(df), source(), LIMITS)  # dedupe defaults to none without a key
    assert (len(result.valid), result.rejects, result.repeated) == (len(df), [], int(df.duplicated().sum()))
    assert all(v.claim is None for v in result.valid)  # nothing to claim across objects either


def test_dedupe_records_quarantines_whole_record_repeats_naming_the_first():
    df = frame()
    result = validate_bytes(as_csv(df), source(dedupe="records"), LIMITS)
    assert len(result.valid) == len(df) - int(df.duplicated().sum())
    assert [(r.position, r.reason) for r in result.rejects] == [
        (row, f"duplicate of record {first} in the same object") for row, first in first_positions(df, None)
    ]
    assert result.repeated == 0
    # The quarantine gets each repeat as read (the CSV row's fields), so nothing of it is lost.
    rows = {i + 2: [str(v) for v in values] for i, values in enumerate(df.itertuples(index=False))}
    assert [r.raw for r in result.rejects] == [rows[row] for row, _ in first_positions(df, None)]


def test_dedupe_records_keeps_each_first_record_whole_and_claims_its_digest():
    df = frame()
    result = validate_bytes(as_csv(df), source(dedupe="records"), LIMITS)
    kept = df[~df.duplicated()]
    assert [(v.position, v.record) for v in result.valid] == [
        (i + 2, {name: int(value) for name, value in row.items()}) for i, row in kept.iterrows()
    ]
    # The claim across objects: sha256 of the record as sorted, compact JSON (computed here, not by the module).
    for valid in result.valid:
        text = json.dumps(valid.record, sort_keys=True, separators=(",", ":"))
        assert valid.claim == hashlib.sha256(text.encode()).hexdigest()


def test_a_key_quarantines_rows_that_share_it_even_when_the_rest_differs():
    df = with_ids(frame())
    df.loc[[30, 500, 731], "respondent"] = ["R0007", "R0007", "R0100"]  # three rows reuse an earlier key
    df.loc[500, "age"] = 99  # not a whole-record repeat: still the same key
    result = validate_bytes(as_csv(df), source(key=("respondent",), dedupe="key", **ID), LIMITS)
    expected = first_positions(df, ["respondent"])
    assert len(expected) == int(df.duplicated(subset=["respondent"]).sum()) == 3
    assert [(r.position, r.reason) for r in result.rejects] == [
        (row, f"duplicate key respondent={df.loc[row - 2, 'respondent']} of record {first} in the same object")
        for row, first in expected
    ]
    assert len(result.valid) == len(df) - 3


def test_a_key_of_several_fields_compares_them_together():
    df = frame()  # age and income and educ: repeats as pandas finds them on those three columns
    subset = ["age", "income", "educ"]
    result = validate_bytes(as_csv(df), source(key=tuple(subset), dedupe="key"), LIMITS)
    assert len(result.rejects) == int(df.duplicated(subset=subset).sum())
    row, first = first_positions(df, subset)[0]
    values = ", ".join(f"{name}={df.loc[row - 2, name]}" for name in subset)
    assert result.rejects[0].reason == f"duplicate key {values} of record {first} in the same object"


class FakeClaims:
    """The ledger's `Claims` contract in memory: (scope, digest) -> first owner."""

    def __init__(self) -> None:
        self.owners: dict[tuple[str, str], str] = {}

    def claim(self, scope: str, claims: Sequence[tuple[str, str]]) -> dict[str, str | None]:
        taken: dict[str, str | None] = {}
        for digest, owner in claims:
            holder = self.owners.setdefault((scope, digest), owner)
            if holder != owner:
                taken[digest] = holder
        return taken


RUN = Run(
    id="r1",
    dataset="ds",
    bucket="raw",
    prefix="datasets/ds/",
    valid_prefix="staging/r1/valid/",
    redacted_prefix="staging/r1/redacted/",
    started_at="2025-01-01T00:00:00+00:00",
)


@pytest.mark.parametrize(("dedupe", "key"), [("key", ("respondent",)), ("records", ())])
def test_across_objects_the_second_holder_is_quarantined_naming_the_first(dedupe, key):
    spec = source(key=key, dedupe=dedupe, **ID)
    df = with_ids(frame())
    first, second = df.iloc[:600], df.iloc[400:]  # rows 400..599 are in both objects
    claims = FakeClaims()
    items = [Item(key=f"datasets/ds/anes96/part-{n}.csv", run=RUN) for n in (0, 1)]
    kept = []
    for item, part in zip(items, (first, second), strict=True):
        result = validate_bytes(as_csv(part), spec, LIMITS)
        kept.append(drop_cross_object_duplicates(result, item, spec, claims))  # type: ignore[arg-type]
    assert (len(kept[0].valid), kept[0].rejects) == (600, [])
    assert len(kept[1].valid) == len(second) - 200
    reject = kept[1].rejects[0]
    assert reject.position == 2  # first data row of part-1: respondent R0400, row 402 of part-0
    if dedupe == "key":
        assert reject.reason == f"duplicate key respondent=R0400 of record 402 in {items[0].key}"
    else:
        assert reject.reason == f"duplicate of record 402 in {items[0].key}"
    # a re-run of the same objects claims the same keys again: nothing new is a duplicate
    again = drop_cross_object_duplicates(
        validate_bytes(as_csv(first), spec, LIMITS),
        items[0],
        spec,
        claims,  # type: ignore[arg-type]
    )
    assert again.rejects == []
    assert claim_scope("ds", spec).endswith("#key") is (dedupe == "key")


def test_gz_keys_name_the_format_inside_and_curated_keys_drop_the_gz():
    raw = keys.parse_raw_key("datasets/ds/anes96/part-0.csv.gz")
    assert (raw.compressed, raw.format) == (True, "csv")
    assert keys.records_key(raw.key) == "records/ds/anes96/part-0.csv"
    assert keys.document_key(raw.key, "native") == "documents/ds/anes96/part-0.csv"
    assert keys.parse_raw_key("datasets/ds/anes96/x.gz").format is None
