"""Fit the retention-offer ranking model on the curated sample data: lambdas/agent/models/retention_offers.json.

The data go through the Data stage's own pipeline offline (tools/data_dry_run.py: validate, redact, profile,
publish), so the model is fitted on exactly what a deployed run would publish to curated ``records/``, turned
into table items by the loader's own code (agent/records.py) and into features by the ranking's own code
(agent/ranking.py `customer_features`). Nothing is copied by hand, and the same data give the same model:
statsmodels' `Logit` by Newton's method is deterministic, and the artifact holds no timestamp.

The artifact states what was fitted and how well: feature names with their meaning, intercept and coefficients
(log-odds), standard errors, n, positives, log-likelihood, null log-likelihood, McFadden's pseudo R², the LLR
p-value, and a SHA-256 of the design matrix and outcome (`design_sha256`) it was fitted on.

    python -m tools.fit_retention_model            # write the artifact
    python -m tools.fit_retention_model --check    # exit 1 when the artifact is not what the data give
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import math
import sys
from collections import defaultdict
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from stacks.config import USECASES_DIR  # importing stacks puts lambdas/ on the import path

# isort: split
from agent.contract import LoaderSettings
from agent.ranking import customer_features, describe, feature_names
from agent.records import BadRecordError, customer_item, interaction_item, parse_object
from pipeline import profile as profile_step
from pipeline import publish, quarantine, redact, validate

from tools.data_dry_run import CURATED, dry_run

USECASE = "customer-retention"
DATA = USECASES_DIR / USECASE / "sample-data"
ARTIFACT = Path(__file__).resolve().parent.parent / "lambdas" / "agent" / "models" / "retention_offers.json"
DATASET = "sample"
OUTCOME = "retained"
RELATIVE_TOLERANCE = 1e-6  # --check: coefficients may differ in the last digits across BLAS builds


def curated_items(usecase: str = USECASE, data: Path = DATA) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The customer and interaction items the loader would write for the data's curated records."""
    for module in (validate, redact, profile_step, publish, quarantine):
        module.logger.setLevel(logging.ERROR)  # the handlers log per object, as in `make data-dry-run`
    result = dry_run(usecase, data, dataset=DATASET, now=datetime(2025, 1, 1, tzinfo=UTC))
    loader = LoaderSettings(customers_table="-", interactions_table="-", offers_table="-", curated_bucket="-")
    objects = result.store.buckets.get(CURATED, {})
    customers: list[dict[str, Any]] = []
    interactions: list[dict[str, Any]] = []
    sources = {source.name: source for source in loader.interaction_sources}
    for key in sorted(objects):
        parts = key.split("/")
        if len(parts) < 4 or parts[0] + "/" != loader.records_prefix:
            continue
        source = parts[2]
        for parsed in parse_object(key, objects[key]):
            if parsed.record is None:
                continue
            try:
                if source == loader.customer_source:
                    customers.append(customer_item(parsed.record, key=loader.customer_key, dataset=DATASET))
                elif source in sources:
                    interactions.append(
                        interaction_item(parsed.record, sources[source], key=loader.customer_key, dataset=DATASET)
                    )
            except BadRecordError:
                continue
    return customers, interactions


def design(
    customers: list[dict[str, Any]], interactions: list[dict[str, Any]]
) -> tuple[tuple[str, ...], tuple[str, ...], list[list[float]], list[float]]:
    """Services, feature names, the feature matrix (one row per customer with an outcome) and the outcome."""
    services = tuple(sorted({str(i["service"]) for i in interactions if i.get("kind") == "purchase"}))
    names = feature_names(services)
    by_customer: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for item in interactions:
        by_customer[item["customer_id"]].append(item)
    rows: list[list[float]] = []
    outcome: list[float] = []
    for profile in sorted(customers, key=lambda c: str(c["customer_id"])):
        if not isinstance(profile.get(OUTCOME), bool):
            continue
        values = customer_features(profile, by_customer[profile["customer_id"]], services)
        rows.append([values[name] for name in names])
        outcome.append(1.0 if profile[OUTCOME] else 0.0)
    return services, names, rows, outcome


def fit(usecase: str = USECASE, data: Path = DATA) -> dict[str, Any]:
    """The artifact's content for the data's curated records."""
    import numpy as np  # noqa: PLC0415 - dev-only libraries, loaded when fitting
    import statsmodels  # type: ignore[import-untyped]  # noqa: PLC0415
    import statsmodels.api as sm  # type: ignore[import-untyped]  # noqa: PLC0415

    customers, interactions = curated_items(usecase, data)
    services, names, rows, outcome = design(customers, interactions)
    x = sm.add_constant(np.asarray(rows, dtype=float), has_constant="add")
    y = np.asarray(outcome, dtype=float)
    result = sm.Logit(y, x).fit(method="newton", maxiter=100, disp=0)
    params = [float(v) for v in result.params]
    errors = [float(v) for v in result.bse]
    digest = hashlib.sha256(json.dumps({"x": rows, "y": outcome}, separators=(",", ":")).encode()).hexdigest()
    return {
        "model": "retention_offers",
        "kind": "logistic_regression",
        "outcome": f"{OUTCOME} (profiles)",
        "treatment": "purchased:<service> set to 1 for each service the customer does not have",
        "services": list(services),
        "features": [{"name": name, "description": describe(name)} for name in names],
        "intercept": params[0],
        "coefficients": dict(zip(names, params[1:], strict=True)),
        "standard_errors": {"intercept": errors[0], **dict(zip(names, errors[1:], strict=True))},
        "fit": {
            "fitted_on": {
                "usecase": usecase,
                "data": _relative(data),
                "through": "tools/data_dry_run.py (the Data stage's pipeline, offline), agent/records.py",
                "design_sha256": digest,
            },
            "method": f"statsmodels {statsmodels.__version__} Logit, Newton",
            "n": len(outcome),
            "positives": int(sum(outcome)),
            "converged": bool(result.mle_retvals["converged"]),
            "log_likelihood": float(result.llf),
            "null_log_likelihood": float(result.llnull),
            "pseudo_r2": float(result.prsquared),
            "llr_p_value": float(result.llr_pvalue),
        },
    }


def _relative(path: Path) -> str:
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def render(artifact: Mapping[str, Any]) -> str:
    return json.dumps(artifact, indent=2) + "\n"


def differences(stored: Mapping[str, Any], fitted: Mapping[str, Any]) -> list[str]:
    """What differs between the stored artifact and a new fit (coefficients within `RELATIVE_TOLERANCE`)."""
    problems = []
    for field in ("services", "features"):
        if stored.get(field) != fitted[field]:
            problems.append(f"{field} differ")
    pairs = [("intercept", stored.get("intercept"), fitted["intercept"])]
    pairs += [(n, stored.get("coefficients", {}).get(n), v) for n, v in fitted["coefficients"].items()]
    for name, old, new in pairs:
        if not isinstance(old, int | float) or not math.isclose(old, new, rel_tol=RELATIVE_TOLERANCE, abs_tol=1e-9):
            problems.append(f"{name}: stored {old}, fitted {new}")
    if stored.get("fit", {}).get("fitted_on", {}).get("design_sha256") != fitted["fit"]["fitted_on"]["design_sha256"]:
        problems.append("the data differ (design_sha256)")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Fit the retention-offer ranking model on the curated sample data.")
    parser.add_argument("--check", action="store_true", help="exit 1 when the artifact differs from a new fit")
    parser.add_argument("--out", type=Path, default=ARTIFACT, help="the artifact (default: %(default)s)")
    args = parser.parse_args(argv)
    fitted = fit()
    if args.check:
        if not args.out.is_file():
            print(f"{args.out}: missing; run python -m tools.fit_retention_model", file=sys.stderr)
            return 1
        problems = differences(json.loads(args.out.read_text(encoding="utf-8")), fitted)
        for problem in problems:
            print(f"{args.out}: {problem}", file=sys.stderr)
        return 1 if problems else 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(render(fitted), encoding="utf-8")
    figures = fitted["fit"]
    print(
        f"wrote {args.out}: n={figures['n']}, log-likelihood {figures['log_likelihood']:.3f} "
        f"(null {figures['null_log_likelihood']:.3f}), pseudo R² {figures['pseudo_r2']:.3f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
