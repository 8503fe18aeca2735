"""`make tco`: `python -m tools.tco --usecase <id> [--out DIR] [--refresh]`.

Reads usecases/<id>/scale.yaml (`tco:`) and the price snapshot in tools/prices/, prints the monthly cost per option
now and at the horizon and the break-even volumes, and writes reports/<usecase>/tco.md with two PNG charts
(``--out DIR`` for another folder). ``--refresh`` first reads the SageMaker hosting rates of the use case's Regions
and instance types from the AWS Price List API (with credentials; without, it says so and uses the snapshot) and
writes the refreshed rates beside the report as sagemaker-hosting.json, to copy into tools/prices/.

Exit codes: 0 written; 2 bad input (scale.yaml, the snapshot, a price the snapshot lacks); 3 the Price List API
failed or answered something unreadable.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from stacks.common.cdk_context import load_cdk_json_context
from stacks.config import REPO_ROOT, USECASES_DIR, ConfigError, display_path, load_usecase
from stacks.config.model_catalogue import load_catalogue
from tools.tco import charts, prices
from tools.tco.inputs import SCALE_FILE, catalogue_problems, load_scale
from tools.tco.options import missing_prices
from tools.tco.report import (
    BREAKDOWN_FILE,
    CURVES_FILE,
    REPORT_FILE,
    analyse,
    break_even_lines,
    chart_marks,
    cost_table,
)
from tools.tco.report import markdown as report_markdown

NAME = "tco"
REPORTS_DIR = REPO_ROOT / "reports"
EXIT_OK, EXIT_INPUT, EXIT_PRICE_LIST = 0, 2, 3


def has_credentials() -> bool:
    return boto3.Session().get_credentials() is not None


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=f"python -m tools.{NAME}", description=__doc__.splitlines()[0])
    parser.add_argument("--usecase", help="use case id (default: cdk.json's usecase)")
    parser.add_argument("--out", type=Path, help="folder of the report and charts (default: reports/<usecase>)")
    parser.add_argument("--refresh", action="store_true", help="read SageMaker hosting prices from the Price List API")
    return parser.parse_args(argv)


def main(
    argv: Sequence[str] | None = None,
    *,
    pricing: Any = None,
    root: Path = USECASES_DIR,
    prices_dir: Path = prices.PRICES_DIR,
    today: datetime | None = None,
) -> int:
    """``pricing``: a Price List client for --refresh (tests pass a stubbed one); ``today``: the report's date."""
    args = parse_args(argv)
    usecase_id = args.usecase or str(load_cdk_json_context()["usecase"])
    now = today or datetime.now(UTC)
    refreshed = False
    try:
        usecase = load_usecase(usecase_id, root)
        tco = load_scale(usecase_id, root)
        book = prices.load_snapshot(prices_dir)
        if args.refresh:
            client = pricing
            if client is None and has_credentials():
                client = boto3.client("pricing", region_name=prices.PRICE_LIST_REGION)
            if client is None:
                print(f"{NAME}: --refresh: no AWS credentials; using the snapshot in tools/prices/", file=sys.stderr)
            else:
                book = prices.refresh(book, client, tco.regions, tco.hosted_model.instance_types, now.date())
                refreshed = True
        problems = catalogue_problems(tco, load_catalogue()) + missing_prices(tco, book)
        if problems:
            source = display_path(root / usecase_id / SCALE_FILE)
            raise ConfigError.of([(source, where, reason) for where, reason in problems])
    except ConfigError as exc:
        for line in str(exc).splitlines():
            print(f"{NAME}: {line}", file=sys.stderr)
        return EXIT_INPUT
    except (prices.PriceError, ClientError, BotoCoreError) as exc:
        print(f"{NAME}: --refresh: {exc}", file=sys.stderr)
        return EXIT_PRICE_LIST

    analysis = analyse(tco, book)
    out = args.out or REPORTS_DIR / usecase_id
    out.mkdir(parents=True, exist_ok=True)
    title = f"{usecase.title} ({usecase_id})"
    low = max(1, min(100, tco.requests_per_day // 10))
    high = max(10 * tco.horizon_requests_per_day, *(p.result.first or 0 for p in analysis.pairs), low + 1)
    charts.cost_curves(out / CURVES_FILE, f"{title}: monthly cost", analysis.priced, (low, high), chart_marks(tco))
    charts.breakdown_bars(out / BREAKDOWN_FILE, f"{title}: cost breakdown", analysis.priced, chart_marks(tco))
    report = out / REPORT_FILE
    report.write_text(
        report_markdown(
            analysis, book, usecase_id=usecase_id, title=usecase.title, generated=now.date(), refreshed=refreshed
        ),
        encoding="utf-8",
    )
    if refreshed:
        (out / "sagemaker-hosting.json").write_text(prices.snapshot_json(book.sagemaker), encoding="utf-8")

    print(f"{NAME}: {usecase_id}, prices from {'the Price List API and ' if refreshed else ''}the snapshot")
    print()
    print(cost_table(analysis))
    print()
    for line in break_even_lines(analysis):
        print(line)
    print()
    shown = report.resolve().relative_to(REPO_ROOT) if report.resolve().is_relative_to(REPO_ROOT) else report
    print(f"report: {shown}")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
