"""The run report's Markdown, whole: every section and branch of `render_markdown` against a document written by
hand for the figures below (reviewers read this file; a changed word, number format or column is a test failure)."""

from __future__ import annotations

from typing import Any

from pipeline.report import conservation, ingestion, quarantine_rate, render_markdown

REGION: dict[str, Any] = {
    "status": "FAIL",
    "representation": [
        {"group": "north", "count": 10, "share": 0.625, "reference": 0.5},
        {"group": "south", "count": 4, "share": 0.25, "reference": 0.3},
        {"group": "west", "count": 2, "share": 0.125, "reference": 0.2},
    ],
    "chi_square": {"statistic": 1.23456, "dof": 2, "value": 0.5394, "status": "PASS"},
    "psi": {"value": 0.10234, "interval": [0.01, 0.31], "status": "WARN", "reason": "above 0.1"},
    "outcome": {
        "confidence": 0.9,
        "field": "churned",
        "positive": "yes",
        "min_records_per_value": 3,
        "rates": {"north": 0.3, "south": 0.75},
        "rate_intervals": {"north": [0.1, 0.6], "south": [0.3, 0.95]},
        "too_small": {"west": 2},
        "parity_difference": {"value": 0.45, "interval": [0.05, 0.8], "status": "FAIL", "reason": "above 0.2"},
        "disparate_impact": {"value": None, "reason": "a rate is zero"},
    },
}
TIER: dict[str, Any] = {  # no outcome field: the interval column reads at the default 95%
    "status": "PASS",
    "representation": [{"group": "gold", "count": 16, "share": 1.0, "reference": 1.0}],
}
REPORT: dict[str, Any] = {
    "dataset": "retention-2026-12",
    "run_id": "run-7",
    "published": False,
    "quarantine_rate": 0.0625,
    "conservation": {
        "rows_in": 18,
        "records_in": 16,
        "skipped_blank": 2,
        "curated": 0,
        "quarantined": 1,
        "held": 15,
        "checks": {"a = b": True, "c = d": False},
        "holds": False,
    },
    "ingestion": {
        "crm": {"dedupe": "record", "encodings": {"utf-8": 2, "latin-1": 1}, "repeated_records": 0},
        "a-notes": {"dedupe": "none", "encodings": {"utf-8": 1}, "repeated_records": 3},
    },
    "profile": {
        "status": "FAIL",
        "groups": {"region": REGION, "tier": TIER},
        "missing": {
            "notes": {"text": {"count": 1, "rate": 0.5}},
            "crm": {"email": {"count": 0, "rate": 0.0}, "age": {"count": 3, "rate": 0.1875}},
        },
        "pii": {"entities": {"EMAIL": 4, "NAME": 2}, "records_with_pii": {"crm": {"count": 5, "rate": 0.3125}}},
        "findings": ["region: parity difference above 0.2"],
    },
}

EXPECTED = """\
# Data evaluation report: retention-2026-12

- Run: `run-7`
- Bias status: **FAIL**
- Published: no (held back by the bias gate)
- Quarantine rate: 6.25%

## Conservation

| records in | curated | quarantined | held | holds |
|---:|---:|---:|---:|:---:|
| 16 | 0 | 1 | 15 | **NO** |

- ✔ a = b
- ✘ c = d

## Ingestion

Rows read: 18; records: 16; blank rows skipped: 2.

| source | dedupe | encodings (objects) | repeated records kept |
|---|---|---|---:|
| a-notes | none | utf-8 (1) | 3 |
| crm | record | utf-8 (2), latin-1 (1) | 0 |

## Group `region` (FAIL)

| group | records | share | reference | outcome rate | 90% interval |
|---|---:|---:|---:|---:|---:|
| north | 10 | 62.5% | 50.0% | 30.0% | 10.0% to 60.0% |
| south | 4 | 25.0% | 30.0% | 75.0% | 30.0% to 95.0% |
| west | 2 | 12.5% | 20.0% | too small (< 3) |  |

- Chi-square goodness of fit: statistic 1.235, dof 2, p 0.5394 (PASS)
- Population stability index: 0.1023, 90% interval 0.01 to 0.31 (WARN: above 0.1)
- Demographic-parity difference (churned = 'yes'): 0.45, 90% interval 0.05 to 0.8 (FAIL: above 0.2)
- Disparate-impact ratio: undefined (WARN: a rate is zero)
- Parity over 2 values with at least 3 records; intervals of the difference and the ratio hold jointly over the 1 \
pairs (Bonferroni)
- Left out of parity as too small: 1 values

## Group `tier` (PASS)

| group | records | share | reference | outcome rate | 95% interval |
|---|---:|---:|---:|---:|---:|
| gold | 16 | 100.0% | 100.0% |  |  |

## Missing values

| source | field | missing | rate |
|---|---|---:|---:|
| crm | age | 3 | 18.8% |
| crm | email | 0 | 0.0% |
| notes | text | 1 | 50.0% |

## PII

| entity type | found |
|---|---:|
| EMAIL | 4 |
| NAME | 2 |

| source | records with PII | rate |
|---|---:|---:|
| crm | 5 | 31.2% |

## Findings

- region: parity difference above 0.2
"""


def test_every_section_reads_as_written():
    assert render_markdown(REPORT) == EXPECTED


def test_a_published_run_without_ingestion_rows_or_findings():
    """A ledger written before rows were counted: rows read fall back to the records, no blank rows; a published
    run says so; no ingestion table and no findings section when there is nothing to list."""
    balance = {k: v for k, v in REPORT["conservation"].items() if k not in ("rows_in", "skipped_blank")}
    report = REPORT | {
        "published": True,
        "ingestion": {},
        "conservation": balance | {"holds": True, "checks": {"a = b": True}},
        "profile": REPORT["profile"] | {"findings": [], "status": "PASS"},
    }
    markdown = render_markdown(report)
    assert "- Published: yes\n" in markdown
    assert "- Bias status: **PASS**\n" in markdown
    assert "| 16 | 0 | 1 | 15 | yes |\n" in markdown
    assert "Rows read: 16; records: 16; blank rows skipped: 0.\n\n## Group `region`" in markdown
    assert "| source | dedupe |" not in markdown
    assert "## Findings" not in markdown
    assert markdown.endswith("| crm | 5 | 31.2% |\n")


def test_the_balance_of_a_held_run_names_every_figure_and_check():
    """A ledger without `rows_in`, `objects` or the publish counters: rows are records plus blank rows, a held run
    keeps what passed, and each named check is computed on its own (one fails here: records were lost)."""
    balance = conservation({"records_in": 10, "skipped_blank": 1, "passed": 7, "quarantined": 2}, published=False)
    assert balance == {
        "rows_in": 11,
        "records_in": 10,
        "skipped_blank": 1,
        "curated": 0,
        "quarantined": 2,
        "held": 7,
        "objects": 0,
        "objects_quarantined": 0,
        "checks": {
            "every row is a record or blank: rows_in = records_in + skipped_blank": True,
            "phase 1: records_in = passed + quarantined before publish": False,
            "records_in = curated + quarantined + held": False,
            "rows_in = curated + quarantined + skipped_blank + held": False,
            "held is zero when published, curated is zero when held": True,
        },
        "holds": False,
    }


def test_a_published_run_counts_publish_quarantine_and_holds_nothing():
    counts = {
        "rows_in": 13,
        "records_in": 12,
        "skipped_blank": 1,
        "passed": 10,
        "quarantined": 2,
        "curated": 9,
        "publish_quarantined": 1,
        "objects": 3,
        "objects_quarantined": 1,
    }
    balance = conservation(counts, published=True)
    assert (balance["quarantined"], balance["held"], balance["objects"], balance["objects_quarantined"]) == (3, 0, 3, 1)
    assert all(balance["checks"].values())
    assert balance["holds"] is True
    assert conservation(counts | {"curated": 10}, published=True)["checks"] == {
        "every row is a record or blank: rows_in = records_in + skipped_blank": True,
        "phase 1: records_in = passed + quarantined before publish": True,
        "records_in = curated + quarantined + held": False,  # 10 + 3 + 0 is 13, not 12
        "rows_in = curated + quarantined + skipped_blank + held": False,
        "held is zero when published, curated is zero when held": True,
    }
    assert conservation(counts | {"curated": 0, "passed": 9}, published=False)["holds"] is False  # phase 1: 12 != 9 + 2


def test_ingestion_groups_the_ledger_counters_by_source():
    counts = {
        "dedupe|crm|record": 1,
        "dedupe|notes|none": 1,
        "dedupe|notes|record": 1,  # data.yaml changed between two objects' validations
        "encoding|crm|utf-8": 2,
        "encoding|crm|latin-1": 1,
        "repeated|notes": 4,
        "records_in": 40,  # not a per-source counter
    }
    assert ingestion(counts) == {
        "crm": {"dedupe": "record", "encodings": {"latin-1": 1, "utf-8": 2}, "repeated_records": 0},
        "notes": {"dedupe": "none, record", "encodings": {}, "repeated_records": 4},
    }
    assert ingestion({"records_in": 3}) == {}


def test_the_quarantine_rate_of_an_empty_run_is_zero():
    assert quarantine_rate({"quarantined": 0, "records_in": 0}) == 0.0
    assert quarantine_rate({"quarantined": 3, "records_in": 12}) == 0.25


def test_figures_with_and_without_interval_or_reason():
    """A figure's interval is printed at the group's confidence level and only when there is one; its reason only
    when it has one; whole numbers print as they are."""
    outcome = REGION["outcome"] | {
        "disparate_impact": {"value": 0.5, "interval": [0.25, 0.75], "status": "PASS"},
        "parity_difference": {"value": 0, "status": "PASS"},
    }
    region = REGION | {"outcome": outcome, "psi": {"value": 0.02, "status": "PASS", "reason": "stable"}}
    report = REPORT | {"profile": REPORT["profile"] | {"groups": {"region": region}}}
    markdown = render_markdown(report)
    assert "- Disparate-impact ratio: 0.5, 90% interval 0.25 to 0.75 (PASS)\n" in markdown
    assert "- Demographic-parity difference (churned = 'yes'): 0 (PASS)\n" in markdown
    assert "- Population stability index: 0.02 (PASS: stable)\n" in markdown


def test_an_empty_ledger_balances_at_zero():
    """No counter written yet (a run with no object): every figure is zero and every check holds."""
    assert conservation({}, published=True) == {
        "rows_in": 0,
        "records_in": 0,
        "skipped_blank": 0,
        "curated": 0,
        "quarantined": 0,
        "held": 0,
        "objects": 0,
        "objects_quarantined": 0,
        "checks": dict.fromkeys(conservation({}, published=True)["checks"], True),
        "holds": True,
    }
    assert len(conservation({}, published=True)["checks"]) == 5
    # Nothing quarantined is no `quarantined` counter at all: phase 1 is records_in = passed.
    assert conservation({"records_in": 5, "passed": 5, "curated": 5}, published=True)["holds"] is True
