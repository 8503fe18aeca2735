"""Summary of a synthesized cloud assembly: stack, resource count, nag findings.

`make synth` prints it after `cdk synth`; it exits non-zero if any nag pack reported a finding
that was not acknowledged (synth itself already fails then; this guards a stale cdk.out). A folder
that is not a nag-gated cloud assembly exits 2 with the reason: a missing or empty cdk.out, or one
synthesized without the packs, must never read as "0 nag findings".
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from stacks.assembly import StackArtifact
from stacks.assembly import stack_artifacts as assembly_stacks
from stacks.synth_gate import NAG_PACKS, REPORT_FILE, report_findings

RUN_SYNTH = "run `make synth` first"


class AssemblyError(Exception):
    """The folder holds no (gated) synth; the message says why in one line."""


def stack_artifacts(cdk_out: Path) -> list[StackArtifact]:
    """Every stack of the assembly, including those nested in stages.

    Raises `AssemblyError` unless ``cdk_out`` is a cloud assembly with at least one stack, so a
    tool reading it never passes on an absent or empty folder.
    """
    if not cdk_out.exists():
        raise AssemblyError(f"{cdk_out}: no such folder — {RUN_SYNTH}")
    if not cdk_out.is_dir():
        raise AssemblyError(f"{cdk_out}: not a folder — {RUN_SYNTH}")
    if not any(cdk_out.iterdir()):
        raise AssemblyError(f"{cdk_out}: empty folder — {RUN_SYNTH}")
    if not (cdk_out / "manifest.json").is_file():
        raise AssemblyError(f"{cdk_out}: no manifest.json, so not a cloud assembly — {RUN_SYNTH}")
    found = assembly_stacks(cdk_out)
    for stack in found:
        if not stack.template.is_file():
            raise AssemblyError(f"{stack.template}: named in a manifest of {cdk_out} but missing — {RUN_SYNTH}")
    if not found:
        raise AssemblyError(f"{cdk_out}: the cloud assembly holds no stacks — {RUN_SYNTH}")
    return found


def _stacks(cdk_out: Path) -> list[tuple[StackArtifact, dict[str, Any]]]:
    """Every stack with its template, including those nested in stages."""
    return [(stack, json.loads(stack.template.read_text())) for stack in stack_artifacts(cdk_out)]


def _report(cdk_out: Path) -> dict[str, Any]:
    """The validation report, with a report from every nag pack.

    CDK writes it whenever any validation plugin ran, findings or not (its built-in CloudFormation
    check alone writes one too), so a missing file or a missing pack means the synth was not gated.
    """
    path = cdk_out / REPORT_FILE
    if not path.is_file():
        raise AssemblyError(f"{path}: missing, so the synth ran without the nag packs — {RUN_SYNTH}")
    report: dict[str, Any] = json.loads(path.read_text())
    ran = {plugin.get("pluginName") for plugin in report.get("pluginReports", [])}
    if missing := [pack for pack in NAG_PACKS if pack not in ran]:
        raise AssemblyError(f"{path}: no report from {', '.join(missing)}, so the synth was not gated — {RUN_SYNTH}")
    return report


def nag_counts(cdk_out: Path) -> tuple[Counter[str], Counter[str]]:
    """Unacknowledged and acknowledged nag findings per construct path (the gate's own reading)."""
    _report(cdk_out)  # a synth without the nag packs is not a gated synth
    return (
        Counter(finding.path for finding in report_findings(cdk_out)),
        Counter(finding.path for finding in report_findings(cdk_out, acknowledged=True)),
    )


def _under(counts: Counter[str], stack_path: str) -> int:
    """Findings on constructs inside the stack at ``stack_path``."""
    return sum(n for path, n in counts.items() if path == stack_path or path.startswith(stack_path + "/"))


def summarize(cdk_out: Path) -> tuple[str, int]:
    """The table and the number of unacknowledged findings; raises `AssemblyError` on a bad folder."""
    stacks = _stacks(cdk_out)
    open_, acknowledged = nag_counts(cdk_out)
    rows = [("stack", "resources", "nag findings", "acknowledged")]
    for stack, template in stacks:
        found, acked = _under(open_, stack.path), _under(acknowledged, stack.path)
        rows.append((stack.name, str(len(template.get("Resources", {}))), str(found), str(acked)))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    total_open = sum(open_.values())
    lines.append(f"{len(stacks)} stacks, {sum(int(r[1]) for r in rows[1:])} resources, {total_open} nag findings")
    return "\n".join(lines), total_open


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Summarize a synthesized cloud assembly.")
    parser.add_argument("cdk_out", type=Path, nargs="?", default=Path("cdk.out"))
    args = parser.parse_args(argv)
    try:
        text, findings = summarize(args.cdk_out)
    except AssemblyError as exc:
        print(f"synth_summary: {exc}", file=sys.stderr)
        return 2
    print(text)
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
