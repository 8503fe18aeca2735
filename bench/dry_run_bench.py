"""`make data-dry-run` on a 10 MB CSV: the budget is 30 s on the 2-core build machine.

Generates a CSV of customer-retention's `purchases` source (fixed seed, about 10 MB, a few bad rows among
valid ones), then times the dry run twice: the whole command as a user runs it (`python -m
tools.data_dry_run`, interpreter start and imports included, report and curated/quarantine written), and
the pipeline alone in-process (`dry_run`). Prints the figures; the lead records them in bench/results.md.

Usage: python -m bench.dry_run_bench [--megabytes 10]
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO_ROOT)]

from tools import data_dry_run  # noqa: E402

USECASE = "customer-retention"
BUDGET_SECONDS = 30.0
SERVICES = ("streaming", "smart-home", "mobile", "broadband", "cloud-backup")


def write_csv(path: Path, megabytes: float, seed: int = 7) -> int:
    """A purchases CSV of about ``megabytes``; returns its rows. One row in 500 is bad (a value or a date)."""
    rng = random.Random(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    target = int(megabytes * 1_000_000)
    rows = 0
    size = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        header = "order_id,customer_id,service,amount,purchased_on\n"
        out.write(header)
        size += len(header)
        while size < target:
            rows += 1
            amount = "n/a" if rows % 500 == 0 else f"{rng.uniform(1, 900):.2f}"
            day = "2024-02-30" if rows % 997 == 0 else f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
            line = f"O{rows:09d},C{rng.randint(0, 99999):05d},{rng.choice(SERVICES)},{amount},{day}\n"
            out.write(line)
            size += len(line)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=float, default=10.0)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="dry-run-bench-") as folder:
        data = Path(folder) / "data"
        csv_path = data / "purchases" / "orders.csv"
        rows = write_csv(csv_path, args.megabytes)
        size = csv_path.stat().st_size
        out = Path(folder) / "out"
        started = time.perf_counter()
        completed = subprocess.run(
            [sys.executable, "-m", "tools.data_dry_run", "--usecase", USECASE, "--data", str(data), "--out", str(out)],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        command_seconds = time.perf_counter() - started
        if completed.returncode != 0:
            print(completed.stdout, completed.stderr, sep="\n")
            return 1
        started = time.perf_counter()
        result = data_dry_run.dry_run(USECASE, data)
        pipeline_seconds = time.perf_counter() - started
    balance = result.report["conservation"]
    print(f"input: {size / 1e6:.1f} MB CSV, {rows:,} rows (source purchases of {USECASE})")
    print(
        f"records: {balance['records_in']:,} in, {balance['curated']:,} curated, {balance['quarantined']:,} quarantined"
    )
    print(f"whole command (python -m tools.data_dry_run, outputs written): {command_seconds:.1f} s")
    rate = balance["records_in"] / pipeline_seconds
    print(f"pipeline in-process (dry_run): {pipeline_seconds:.1f} s, {rate:,.0f} records/s")
    verdict = "meets" if command_seconds <= BUDGET_SECONDS else "MISSES"
    print(f"budget: <= {BUDGET_SECONDS:.0f} s for the whole command: {verdict}")
    return 0 if command_seconds <= BUDGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
