"""Ingest throughput: rows per second per core of validate + profile on a 200,000-row CSV (issue 16's budget).

The rows are customer-retention's `profiles` (the bias profile's source), written as one CSV with a unique
`customer_id` key, so the measured path is the one a real tabular dataset takes: decode (declared encoding),
CSV parsing, schema checks, keyed deduplication, then the profile's group and outcome counts. Redaction is
not included (it is Comprehend-bound; bench/pipeline_bench.py measures it), nor S3 or DynamoDB round trips.

Usage: python -m bench.ingest_bench [--rows 200000]  (writes its section of bench/results.md)
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import platform
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO_ROOT), str(REPO_ROOT / "lambdas")]

from pipeline.contract import PipelineSettings, SourceSpec  # noqa: E402
from pipeline.profiling import count_groups  # noqa: E402
from pipeline.validation import validate_bytes  # noqa: E402

from bench.results_file import write_section  # noqa: E402
from stacks.config import load_usecase  # noqa: E402
from stacks.data.settings import load_data_settings  # noqa: E402
from tools.generate_sample_data import generate  # noqa: E402

TARGET_ROWS_PER_SECOND = 40_000


@dataclass(frozen=True)
class Result:
    rows: int
    valid: int
    megabytes: float
    cpu_seconds: float

    @property
    def per_core(self) -> float:
        return self.rows / self.cpu_seconds


def profiles_csv(source: SourceSpec, rows: int) -> bytes:
    """``rows`` profile records as CSV in the schema's column order, cycling the sample's valid records."""
    templates = [
        record
        for line in generate()["profiles/part-000.jsonl"].decode().splitlines()
        if isinstance(record := json.loads(line), dict) and set(record) >= {"customer_id", "retained"}
    ]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(source.field_names)
    for row in range(rows):
        record = {**templates[row % len(templates)], "customer_id": f"C{row:07d}"}
        writer.writerow(
            [
                str(record.get(name, "")).lower() if name == "retained" else record.get(name, "")
                for name in source.field_names
            ]
        )
    return out.getvalue().encode()


def run(rows: int) -> Result:
    settings: PipelineSettings = load_data_settings(load_usecase("customer-retention")).contract()
    spec = settings.profile
    assert spec is not None
    source = settings.sources[spec.source].model_copy(update={"format": "csv"})
    body = profiles_csv(source, rows)
    cpu = time.process_time()
    result = validate_bytes(body, source, settings.limits)
    count_groups((v.record for v in result.valid), spec)
    cpu = time.process_time() - cpu
    return Result(rows=result.records_in, valid=len(result.valid), megabytes=len(body) / 1e6, cpu_seconds=cpu)


def report(result: Result) -> str:
    verdict = "meets" if result.per_core >= TARGET_ROWS_PER_SECOND else "MISSES"
    return "\n".join(
        [
            "## Ingest throughput (validate + profile, 200,000-row CSV)",
            "",
            "`python -m bench.ingest_bench` — customer-retention's `profiles` as one CSV with a `customer_id` key "
            "(keyed deduplication on), decode + parse + schema checks + group and outcome counts, one process.",
            "",
            f"- Date: {datetime.now(UTC).date().isoformat()}; Python {platform.python_version()} on "
            f"{platform.machine()}, {os.cpu_count()} CPUs (shared)",
            f"- Rows: {result.rows:,} ({result.megabytes:.1f} MB); valid: {result.valid:,}; CPU time: "
            f"{result.cpu_seconds:.2f} s",
            f"- **Rows per second per core: {result.per_core:,.0f}** (budget ≥ {TARGET_ROWS_PER_SECOND:,}: {verdict})",
            "",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Ingest throughput benchmark")
    parser.add_argument("--rows", type=int, default=200_000)
    args = parser.parse_args(argv)
    result = run(args.rows)
    text = report(result)
    write_section("ingest", text)
    print(text)
    return 0 if result.per_core >= TARGET_ROWS_PER_SECOND and result.valid == result.rows else 1


if __name__ == "__main__":
    raise SystemExit(main())
