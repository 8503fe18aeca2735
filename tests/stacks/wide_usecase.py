"""A wide, long use case generated from customer-retention: names at their maximum lengths, 8 sources of 60 fields.

`write_wide_usecase(root)` copies usecases/customer-retention into ``root`` under a 30-character id (the
maximum), rewrites usecase.yaml and data.yaml with `MAX_SOURCES` sources of 60 fields each (some names at
the 63-character maximum, every field type, PII typed and scanned fields, a bias profile with an outcome),
and returns the context that synthesizes it with `project` at 20 characters and the prefix at 34.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from stacks.config import MAX_PREFIX, MAX_SOURCE_NAME, MAX_SOURCES, MAX_USECASE_ID, USECASES_DIR

TEMPLATE_USECASE = "customer-retention"
PROJECT = "wide-journey-kit-abc"  # 20 characters, the most `project` allows
USECASE = "customer-retention-wide-case-x"  # 30 characters, MAX_USECASE_ID
assert len(USECASE) == MAX_USECASE_ID
FIELDS_PER_SOURCE = 60
LONGEST_NAME = 63  # field names match ^[a-z][a-z0-9_]{0,62}$
REGIONS = {"north": 0.25, "south": 0.25, "east": 0.25, "west": 0.25}
AGE_BANDS = {"18-24": 0.14, "25-34": 0.22, "35-44": 0.22, "45-54": 0.20, "55+": 0.22}


@dataclass(frozen=True)
class WideCase:
    root: Path
    usecase: str
    sources: dict[str, dict[str, Any]]  # data.yaml's sources

    def context(self, prefix_length: int = MAX_PREFIX) -> dict[str, Any]:
        """`project` and `usecase` at their maximum, the prefix at ``prefix_length`` characters."""
        prefix = f"{PROJECT}-{self.usecase}"[:prefix_length].rstrip("-")
        prefix += "x" * (prefix_length - len(prefix))
        return {"project": PROJECT, "usecase": self.usecase, "prefix": prefix}


def _long(stem: str, length: int) -> str:
    """``stem`` padded with a readable tail to exactly ``length`` characters."""
    tail = "_recorded_by_the_customer_relationship_management_system_export_v2"
    return (stem + tail)[:length].rstrip("_").ljust(length, "x")


def _field(index: int) -> tuple[str, dict[str, Any]]:
    """The field at ``index`` of a source: every type in turn, every tenth name at the 63-character maximum."""
    stem = f"f{index:02d}_attribute"
    name = _long(stem, LONGEST_NAME) if index % 10 == 9 else stem
    kinds: list[dict[str, Any]] = [
        {"type": "string", "max_length": 200},
        {"type": "integer", "minimum": 0, "maximum": 1_000_000},
        {"type": "number", "minimum": -1e9, "maximum": 1e9},
        {"type": "boolean"},
        {"type": "date"},
        {"type": "datetime"},
        {"type": "string", "allowed": ["bronze", "silver", "gold", "platinum"]},
        {"type": "string", "max_length": 8000, "scan": True},
    ]
    spec = dict(kinds[index % len(kinds)])
    spec["required"] = index % 3 == 0
    return name, spec


def _source(index: int) -> tuple[str, dict[str, Any]]:
    name = _long(f"s{index}_customer_interactions", MAX_SOURCE_NAME) if index % 2 else f"s{index}_events"
    fields = dict(_field(i) for i in range(FIELDS_PER_SOURCE - 4))
    fields["customer_email"] = {"type": "string", "required": True, "max_length": 254, "pii": "EMAIL"}
    fields["region"] = {"type": "string", "required": True, "allowed": list(REGIONS)}
    fields["age_band"] = {"type": "string", "allowed": list(AGE_BANDS)}
    fields["retained"] = {"type": "boolean"}
    return name, {"format": "csv" if index % 2 else "jsonl", "fields": fields}


def write_wide_usecase(root: Path, *, sources: int = MAX_SOURCES, usecase: str = USECASE) -> WideCase:
    """Write the wide use case into ``root``/<usecase>/ (a copy of customer-retention, rewritten)."""
    folder = root / usecase
    shutil.copytree(USECASES_DIR / TEMPLATE_USECASE, folder, ignore=shutil.ignore_patterns("sample-data"))
    data_sources = dict(_source(i) for i in range(sources))

    register = yaml.safe_load((folder / "usecase.yaml").read_text())
    register["id"] = usecase
    register["data"]["sources"] = [
        {
            "name": name,
            "description": f"Wide source {name[:20]}: {len(spec['fields'])} fields per record.",
            "format": spec["format"],
            "contains_pii": True,
        }
        for name, spec in data_sources.items()
    ]
    (folder / "usecase.yaml").write_text(yaml.safe_dump(register, sort_keys=False))

    data = yaml.safe_load((folder / "data.yaml").read_text())
    data["sources"] = data_sources
    profiled = next(iter(data_sources))
    data["profile"] = {
        "source": profiled,
        "outcome": {"field": "retained", "positive": True},
        "min_records": 30,
        "groups": {"age_band": {"reference": AGE_BANDS}, "region": {"reference": REGIONS}},
    }
    (folder / "data.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    return WideCase(root=root, usecase=usecase, sources=data_sources)
