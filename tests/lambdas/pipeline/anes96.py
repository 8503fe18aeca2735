"""The ANES 1996 survey extract shipped inside statsmodels (944 rows, tab-separated, quoted header names):
a real public dataset for the ingestion tests, read from the installed package, never the network.

Expected figures in the tests come from pandas and the csv module on the same bytes, never from the code
under test."""

from __future__ import annotations

import importlib.resources
import io
from functools import cache

import pandas as pd  # type: ignore[import-untyped]
from pipeline.contract import FieldSpec, Limits, SourceSpec

COLUMNS = ("popul", "tvnews", "selflr", "clinlr", "dolelr", "pid", "age", "educ", "income", "vote")
LIMITS = Limits(max_object_bytes=50 * 1024 * 1024, max_record_bytes=65536, max_document_bytes=1024 * 1024)


@cache
def raw_bytes() -> bytes:
    """anes96.csv exactly as statsmodels ships it."""
    return (importlib.resources.files("statsmodels.datasets.anes96") / "anes96.csv").read_bytes()


def frame() -> pd.DataFrame:
    """The dataset as pandas reads it, with the quoted header names cleaned to the schema's field names."""
    df = pd.read_csv(io.BytesIO(raw_bytes()), sep="\t")
    df.columns = list(COLUMNS)
    return df


def source(extra: tuple[FieldSpec, ...] = (), **options: object) -> SourceSpec:
    """A CSV source with the dataset's ten integer fields (``extra`` fields appended)."""
    fields = tuple(FieldSpec(name=name, type="integer", required=True) for name in COLUMNS) + extra
    return SourceSpec.model_validate(
        {"name": "anes96", "format": "csv", "fields": fields, "knowledge": "none", **options}
    )


def as_csv(df: pd.DataFrame, encoding: str = "utf-8", **to_csv: object) -> bytes:
    """The frame as CSV bytes (pandas' writer: an independent producer of the dialects under test)."""
    text = df.to_csv(**({"index": False} | to_csv))
    assert isinstance(text, str)
    return text.encode(encoding)
