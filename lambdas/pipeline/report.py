"""Finalize step, pure part: the conservation proof and the run report (JSON and Markdown).

Every step reports its counts to the run ledger; here they must add up. Before publishing:
`records_in = passed + quarantined` (phase 1). After: `passed = curated + publish_quarantined + held`,
so `records_in = curated + quarantined + held`, where `held` is what a bias FAIL kept from curated and is
zero whenever the run published. A run where this does not hold fails with `ConservationError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class ConservationError(Exception):
    """Records were lost or counted twice: the run must fail loudly."""


def conservation(counts: Mapping[str, int], *, published: bool) -> dict[str, Any]:
    records_in = counts.get("records_in", 0)
    passed = counts.get("passed", 0)
    curated = counts.get("curated", 0)
    quarantined = counts.get("quarantined", 0) + counts.get("publish_quarantined", 0)
    held = 0 if published else passed
    checks = {
        "phase 1: records_in = passed + quarantined before publish": records_in
        == passed + counts.get("quarantined", 0),
        "records_in = curated + quarantined + held": records_in == curated + quarantined + held,
        "held is zero when published, curated is zero when held": (held == 0) if published else (curated == 0),
    }
    return {
        "records_in": records_in,
        "curated": curated,
        "quarantined": quarantined,
        "held": held,
        "objects": counts.get("objects", 0),
        "objects_quarantined": counts.get("objects_quarantined", 0),
        "checks": checks,
        "holds": all(checks.values()),
    }


def quarantine_rate(balance: Mapping[str, Any]) -> float:
    return balance["quarantined"] / balance["records_in"] if balance["records_in"] else 0.0


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def render_markdown(report: Mapping[str, Any]) -> str:
    """A human-readable report for reviewers; the JSON next to it holds the same figures."""
    balance = report["conservation"]
    profile = report["profile"]
    lines = [
        f"# Data evaluation report: {report['dataset']}",
        "",
        f"- Run: `{report['run_id']}`",
        f"- Bias status: **{profile['status']}**",
        f"- Published: {'yes' if report['published'] else 'no (held back by the bias gate)'}",
        f"- Quarantine rate: {report['quarantine_rate']:.2%}",
        "",
        "## Conservation",
        "",
        "| records in | curated | quarantined | held | holds |",
        "|---:|---:|---:|---:|:---:|",
        f"| {balance['records_in']} | {balance['curated']} | {balance['quarantined']} | {balance['held']} "
        f"| {'yes' if balance['holds'] else '**NO**'} |",
        "",
    ]
    for name, ok in balance["checks"].items():
        lines.append(f"- {'✔' if ok else '✘'} {name}")
    for group, figures in profile["groups"].items():
        lines += ["", f"## Group `{group}` ({figures['status']})", ""]
        lines += ["| group | records | share | reference | outcome rate |", "|---|---:|---:|---:|---:|"]
        rates = figures.get("outcome", {}).get("rates", {})
        for row in figures["representation"]:
            rate = rates.get(row["group"])
            lines.append(
                f"| {row['group']} | {row['count']} | {row['share']:.1%} | {row['reference']:.1%} "
                f"| {'' if rate is None else f'{rate:.1%}'} |"
            )
        if "chi_square" in figures:
            chi = figures["chi_square"]
            lines += [
                "",
                f"- Chi-square goodness of fit: statistic {_fmt(chi['statistic'])}, dof {chi['dof']}, "
                f"p {_fmt(chi['value'])} ({chi['status']})",
                f"- Population stability index: {_fmt(figures['psi']['value'])} ({figures['psi']['status']})",
            ]
        if "outcome" in figures:
            outcome = figures["outcome"]
            lines += [
                f"- Demographic-parity difference ({outcome['field']}): "
                f"{_fmt(outcome['parity_difference']['value'])} ({outcome['parity_difference']['status']})",
                f"- Disparate-impact ratio: {_fmt(outcome['disparate_impact']['value'])} "
                f"({outcome['disparate_impact']['status']})",
            ]
    lines += ["", "## Missing values", "", "| source | field | missing | rate |", "|---|---|---:|---:|"]
    for source, fields in sorted(profile["missing"].items()):
        for field, figure in sorted(fields.items()):
            lines.append(f"| {source} | {field} | {figure['count']} | {figure['rate']:.1%} |")
    lines += ["", "## PII", "", "| entity type | found |", "|---|---:|"]
    lines += [f"| {kind} | {count} |" for kind, count in profile["pii"]["entities"].items()]
    lines += ["", "| source | records with PII | rate |", "|---|---:|---:|"]
    for source, figure in profile["pii"]["records_with_pii"].items():
        lines.append(f"| {source} | {figure['count']} | {figure['rate']:.1%} |")
    if profile["findings"]:
        lines += ["", "## Findings", ""] + [f"- {finding}" for finding in profile["findings"]]
    return "\n".join(lines) + "\n"
