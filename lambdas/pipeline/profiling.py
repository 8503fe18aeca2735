"""Profile step, pure part: per-object counts (summed in the run ledger) and the dataset's bias profile.

Counts are flat `name -> int` maps so the ledger can add them atomically, whatever the object order:
`group|<field>|<value>` and `positive|<field>|<value>` for the profiled source, `valid|<source>`,
`missing|<source>|<field>`, `pii|<TYPE>` and `pii_records|<source>`. Values outside the reference are
counted as `(other)`, absent ones as `(missing)`, so the number of counters stays bounded.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from pipeline.contract import Band, ProfileSpec
from pipeline.stats import (
    chi_square_goodness_of_fit,
    outcome_parity,
    parity_intervals,
    population_stability_index,
    psi_interval,
)

OTHER = "(other)"
MISSING = "(missing)"
_ORDER = {"PASS": 0, "WARN": 1, "FAIL": 2}


def worst(statuses: Iterable[str]) -> str:
    return max(statuses, key=_ORDER.__getitem__, default="PASS")


def status_code(status: str) -> int:
    """PASS 0, WARN 1, FAIL 2: the BiasStatus metric and its alarm use this."""
    return _ORDER[status]


def count_groups(records: Iterable[Mapping[str, Any]], spec: ProfileSpec) -> Counter[str]:
    counts: Counter[str] = Counter()
    for record in records:
        favourable = spec.outcome_field is not None and record.get(spec.outcome_field) == spec.outcome_positive
        for group, reference in spec.groups.items():
            value = record.get(group)
            name = MISSING if value is None else (str(value) if str(value) in reference else OTHER)
            counts[f"group|{group}|{name}"] += 1
            if favourable:
                counts[f"positive|{group}|{name}"] += 1
    return counts


def _band(
    value: float | None, band: Band, interval: tuple[float, float] | None = None, *, undefined: str = ""
) -> dict[str, Any]:
    """A figure with its status; with an interval, its bounds, and a ``reason`` when the interval changed
    the verdict. An undefined figure (``value`` None) is WARN with ``undefined`` as its reason."""
    figure: dict[str, Any] = {"value": value, "warn": band.warn, "fail": band.fail}
    if band.fail_on != "estimate":
        figure["fail_on"] = band.fail_on
    if value is None:
        figure.update(status="WARN", interval=None, reason=undefined)
        return figure
    figure["status"] = band.status(value, interval)
    if interval is not None:
        figure["interval"] = [interval[0], interval[1]]
    if figure["status"] != "FAIL" and band.fail is not None and band.past(value, band.fail):
        side = "below" if band.below else "above"
        where = f"its interval [{interval[0]:.4g}, {interval[1]:.4g}] reaches it" if interval else "it has no interval"
        figure["reason"] = f"the estimate is past fail_{side} {band.fail:g}, but {where}: not enough evidence to FAIL"
    return figure


def _outcome(
    group: str, reference: Mapping[str, float], counts: Mapping[str, int], spec: ProfileSpec
) -> tuple[dict[str, Any], list[str], list[str]]:
    """Parity of the favourable outcome over the values with at least ``min_records_per_value`` records:
    the figures, the findings and the statuses."""
    thresholds = spec.thresholds
    totals = {value: counts.get(f"group|{group}|{value}", 0) for value in reference}
    positives = {value: counts.get(f"positive|{group}|{value}", 0) for value in reference}
    limit = spec.min_records_per_value
    too_small = {value: n for value, n in totals.items() if 0 < n < limit}
    compared = {value: n for value, n in totals.items() if n >= limit}
    outcome: dict[str, Any] = {
        "field": spec.outcome_field,
        "positive": spec.outcome_positive,
        "confidence": spec.confidence,
        "min_records_per_value": limit,
        "rates": {value: positives[value] / n for value, n in compared.items()},
        "too_small": too_small,
    }
    findings: list[str] = []
    if too_small:
        listed = ", ".join(f"{value} ({n})" for value, n in too_small.items())
        findings.append(
            f"{group}: {len(too_small)} values under min_records_per_value {limit}, left out of parity: {listed}"
        )
    if len(compared) < 2:
        findings.append(f"{group}: outcome parity needs two values with at least {limit} records")
        return outcome, findings, ["WARN"]
    favourable = sum(positives[value] for value in compared)
    records = sum(compared.values())
    if favourable in (0, records):
        which = "no" if favourable == 0 else "every"
        reason = (
            f"undefined: {which} compared record has {spec.outcome_field} = {spec.outcome_positive!r} "
            "(check profile.outcome.positive)"
        )
        outcome["undefined"] = reason
        outcome["parity_difference"] = _band(None, thresholds.parity_difference, undefined=reason)
        outcome["disparate_impact"] = _band(None, thresholds.disparate_impact, undefined=reason)
        findings.append(f"{group}: outcome parity {reason}")
        return outcome, findings, ["WARN"]
    parity = outcome_parity(positives, compared)
    intervals = parity_intervals(positives, compared, spec.confidence)
    outcome["rate_intervals"] = {value: [low, high] for value, (low, high) in intervals.rates.items()}
    outcome["parity_difference"] = _band(parity.difference, thresholds.parity_difference, intervals.difference)
    outcome["disparate_impact"] = _band(parity.ratio, thresholds.disparate_impact, intervals.ratio)
    return outcome, findings, [outcome["parity_difference"]["status"], outcome["disparate_impact"]["status"]]


def _finding(group: str, label: str, figure: Mapping[str, Any]) -> str:
    interval = figure.get("interval")
    bounds = f" [{interval[0]:.4g}, {interval[1]:.4g}]" if interval else ""
    why = f": {figure['reason']}" if "reason" in figure and figure["value"] is not None else ""
    return f"{group}: {label} {figure['value']:.4g}{bounds} ({figure['status']}{why})"


def _profile_group(
    group: str, reference: Mapping[str, float], counts: Mapping[str, int], spec: ProfileSpec
) -> dict[str, Any]:
    thresholds = spec.thresholds
    observed = [counts.get(f"group|{group}|{value}", 0) for value in reference]
    n = sum(observed)
    unexpected = {name: counts.get(f"group|{group}|{name}", 0) for name in (OTHER, MISSING)}
    result: dict[str, Any] = {
        "records": n,
        "representation": [
            {"group": value, "count": count, "share": count / n if n else 0.0, "reference": share}
            for (value, share), count in zip(reference.items(), observed, strict=True)
        ],
        "unexpected": unexpected,
        "findings": [],
    }
    statuses: list[str] = []
    if n == 0:
        result["findings"].append(f"{group}: no records with a reference value")
        result["status"] = "WARN"
        return result
    shares = list(reference.values())
    chi = chi_square_goodness_of_fit(observed, shares)
    result["chi_square"] = {"statistic": chi.statistic, "dof": chi.dof, **_band(chi.p_value, thresholds.chi_square_p)}
    psi = population_stability_index(observed, shares)
    result["psi"] = _band(psi, thresholds.psi, psi_interval(observed, shares, spec.confidence) if n > 1 else None)
    statuses += [result["chi_square"]["status"], result["psi"]["status"]]
    if spec.outcome_field is not None:
        result["outcome"], outcome_findings, outcome_statuses = _outcome(group, reference, counts, spec)
        result["findings"] += outcome_findings
        statuses += outcome_statuses
    if sum(unexpected.values()):
        result["findings"].append(f"{group}: {sum(unexpected.values())} records outside the reference groups")
        statuses.append("WARN")
    if n < spec.min_records:
        # Too few records for the figures to mean anything: report them, warn, and do not gate on them.
        result["findings"].append(f"{group}: only {n} records (min_records {spec.min_records}); figures not gated")
        result["status"] = "WARN"
        return result
    for name, figure in (("chi-square p", result["chi_square"]), ("PSI", result["psi"])):
        if figure["status"] != "PASS":
            result["findings"].append(_finding(group, name, figure))
    for name in ("parity_difference", "disparate_impact"):
        figure = result.get("outcome", {}).get(name)
        if figure is not None and figure["value"] is not None and figure["status"] != "PASS":
            result["findings"].append(_finding(group, name.replace("_", " "), figure))
    result["status"] = worst(statuses)
    return result


def _rates(counts: Mapping[str, int], prefix: str) -> dict[str, dict[str, dict[str, Any]]]:
    """{source: {field: {count, rate}}} for counters named `<prefix>|<source>|<field>`."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for name, count in counts.items():
        kind, _, rest = name.partition("|")
        if kind != prefix:
            continue
        source, _, field = rest.partition("|")
        total = counts.get(f"valid|{source}", 0)
        out.setdefault(source, {})[field] = {"count": count, "rate": count / total if total else 0.0}
    return out


def assess(counts: Mapping[str, int], spec: ProfileSpec | None) -> dict[str, Any]:
    """The dataset's profile from the summed counts, with PASS/WARN/FAIL per figure and overall."""
    profile: dict[str, Any] = {"groups": {}, "findings": []}
    statuses: list[str] = []
    if spec is not None:
        profile["source"] = spec.source
        if counts.get(f"valid|{spec.source}", 0) == 0:
            profile["findings"].append(f"no valid records of source '{spec.source}' to profile")
            statuses.append("WARN")
        else:
            for group, reference in spec.groups.items():
                figures = _profile_group(group, reference, counts, spec)
                profile["groups"][group] = figures
                profile["findings"] += figures.pop("findings")
                statuses.append(figures["status"])
    missing = _rates(counts, "missing")
    profile["missing"] = missing
    if spec is not None:
        for source, fields in sorted(missing.items()):
            for field, figure in sorted(fields.items()):
                figure["status"] = spec.thresholds.missing_rate.status(figure["rate"])
                statuses.append(figure["status"])
                if figure["status"] != "PASS":
                    profile["findings"].append(
                        f"{source}.{field}: missing in {figure['rate']:.1%} ({figure['status']})"
                    )
    sources = sorted({name.split("|")[1] for name in counts if name.startswith("valid|")})
    profile["pii"] = {
        "entities": {name.split("|", 1)[1]: n for name, n in sorted(counts.items()) if name.startswith("pii|")},
        "records_with_pii": {
            source: {
                "count": counts.get(f"pii_records|{source}", 0),
                "rate": counts.get(f"pii_records|{source}", 0) / counts[f"valid|{source}"]
                if counts[f"valid|{source}"]
                else 0.0,
            }
            for source in sources
        },
    }
    profile["status"] = worst(statuses)
    return profile
