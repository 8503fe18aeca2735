"""Finalize step, pure part: the conservation proof and the run report (JSON and Markdown).

Every step reports its counts to the run ledger; here they must add up. Every row read is a record or a
blank row: `rows_in = records_in + skipped_blank` (validate counts rows as it reads them, and each row's
outcome apart). Before publishing: `records_in = passed + quarantined` (phase 1). After:
`passed = curated + publish_quarantined + held`, so `records_in = curated + quarantined + held` and
`rows_in = curated + quarantined + skipped_blank + held`, where `held` is what a bias FAIL kept from
curated and is zero whenever the run published. A run where this does not hold fails with
`ConservationError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class ConservationError(Exception):
    """Records were lost or counted twice: the run must fail loudly."""


def conservation(counts: Mapping[str, int], *, published: bool) -> dict[str, Any]:
    records_in = counts.get("records_in", 0)
    skipped = counts.get("skipped_blank", 0)
    rows_in = counts.get("rows_in", records_in + skipped)  # a ledger written before rows were counted
    passed = counts.get("passed", 0)
    curated = counts.get("curated", 0)
    quarantined = counts.get("quarantined", 0) + counts.get("publish_quarantined", 0)
    held = 0 if published else passed
    checks = {
        "every row is a record or blank: rows_in = records_in + skipped_blank": rows_in == records_in + skipped,
        "phase 1: records_in = passed + quarantined before publish": records_in
        == passed + counts.get("quarantined", 0),
        "records_in = curated + quarantined + held": records_in == curated + quarantined + held,
        "rows_in = curated + quarantined + skipped_blank + held": rows_in == curated + quarantined + skipped + held,
        "held is zero when published, curated is zero when held": (held == 0) if published else (curated == 0),
    }
    return {
        "rows_in": rows_in,
        "records_in": records_in,
        "skipped_blank": skipped,
        "curated": curated,
        "quarantined": quarantined,
        "held": held,
        "objects": counts.get("objects", 0),
        "objects_quarantined": counts.get("objects_quarantined", 0),
        "checks": checks,
        "holds": all(checks.values()),
    }


def ingestion(counts: Mapping[str, int]) -> dict[str, dict[str, Any]]:
    """Per source, how its objects were read: the dedupe rule, the encodings (objects each) and the
    whole-record repeats kept (`repeated_records`, under `dedupe: none`), from the ledger's counters."""
    sources: dict[str, dict[str, Any]] = {}

    def of(source: str) -> dict[str, Any]:
        return sources.setdefault(source, {"dedupe": [], "encodings": {}, "repeated_records": 0})

    for name, value in sorted(counts.items()):
        kind, _, rest = name.partition("|")
        if kind == "dedupe":
            source, _, rule = rest.rpartition("|")
            of(source)["dedupe"].append(rule)
        elif kind == "encoding":
            source, _, encoding = rest.rpartition("|")
            of(source)["encodings"][encoding] = value
        elif kind == "repeated":
            of(rest)["repeated_records"] = value
    for figures in sources.values():
        rules = figures["dedupe"]  # one rule, unless data.yaml changed between the objects' validations
        figures["dedupe"] = rules[0] if len(rules) == 1 else ", ".join(rules)
    return sources


def quarantine_rate(balance: Mapping[str, Any]) -> float:
    return balance["quarantined"] / balance["records_in"] if balance["records_in"] else 0.0


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _figure(figure: Mapping[str, Any], level: str) -> str:
    """``value [low, high] (STATUS: reason)``; an undefined figure says so."""
    if figure["value"] is None:
        return f"undefined (WARN: {figure['reason']})"
    interval = figure.get("interval")
    bounds = f", {level} interval {_fmt(interval[0])} to {_fmt(interval[1])}" if interval else ""
    reason = f": {figure['reason']}" if figure.get("reason") else ""
    return f"{_fmt(figure['value'])}{bounds} ({figure['status']}{reason})"


def _bias_section(profile: Mapping[str, Any]) -> list[str]:
    """Per group field: representation and outcome rate per value with intervals, then the gated figures."""
    lines: list[str] = []
    for group, figures in profile["groups"].items():
        outcome = figures.get("outcome", {})
        level = f"{outcome.get('confidence', 0.95):.0%}"
        lines += ["", f"## Group `{group}` ({figures['status']})", ""]
        lines += [
            f"| group | records | share | reference | outcome rate | {level} interval |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        rates, intervals = outcome.get("rates", {}), outcome.get("rate_intervals", {})
        for row in figures["representation"]:
            value = row["group"]
            rate = "" if value not in rates else f"{rates[value]:.1%}"
            if value in outcome.get("too_small", {}):
                rate = f"too small (< {outcome['min_records_per_value']})"
            interval = intervals.get(value)
            bounds = "" if interval is None else f"{interval[0]:.1%} to {interval[1]:.1%}"
            lines.append(
                f"| {value} | {row['count']} | {row['share']:.1%} | {row['reference']:.1%} | {rate} | {bounds} |"
            )
        if "chi_square" in figures:
            chi = figures["chi_square"]
            lines += [
                "",
                f"- Chi-square goodness of fit: statistic {_fmt(chi['statistic'])}, dof {chi['dof']}, "
                f"p {_fmt(chi['value'])} ({chi['status']})",
                f"- Population stability index: {_figure(figures['psi'], level)}",
            ]
        if "parity_difference" in outcome:
            compared = len(outcome["rates"])
            pairs = compared * (compared - 1) // 2
            lines += [
                f"- Demographic-parity difference ({outcome['field']} = {outcome['positive']!r}): "
                f"{_figure(outcome['parity_difference'], level)}",
                f"- Disparate-impact ratio: {_figure(outcome['disparate_impact'], level)}",
                f"- Parity over {compared} values with at least {outcome['min_records_per_value']} records; "
                f"intervals of the difference and the ratio hold jointly over the {pairs} pairs (Bonferroni)",
            ]
        if outcome.get("too_small"):
            lines.append(f"- Left out of parity as too small: {len(outcome['too_small'])} values")
    return lines


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
    lines += [
        "",
        "## Ingestion",
        "",
        f"Rows read: {balance.get('rows_in', balance['records_in'])}; records: {balance['records_in']}; "
        f"blank rows skipped: {balance.get('skipped_blank', 0)}.",
    ]
    if report.get("ingestion"):
        lines += ["", "| source | dedupe | encodings (objects) | repeated records kept |", "|---|---|---|---:|"]
        for source, figures in sorted(report["ingestion"].items()):
            encodings = ", ".join(f"{name} ({n})" for name, n in figures["encodings"].items())
            lines.append(f"| {source} | {figures['dedupe']} | {encodings} | {figures['repeated_records']} |")
    lines += _bias_section(profile)
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
