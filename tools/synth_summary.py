"""Summary of a synthesized cloud assembly: stack, resource count, nag findings.

`make synth` prints it after `cdk synth`; it exits non-zero if any nag pack reported a finding
that was not acknowledged (synth itself already fails then; this guards a stale cdk.out).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

NAG_PACKS = ("AwsSolutions", "NIST.800.53.R5", "HIPAA.Security", "Serverless")


def _stacks(cdk_out: Path) -> list[tuple[str, dict[str, Any]]]:
    """(stack name, template) for every stack, including those nested in stages."""
    found = []
    for manifest_path in sorted(cdk_out.rglob("manifest.json")):
        manifest = json.loads(manifest_path.read_text())
        for artifact in manifest.get("artifacts", {}).values():
            if artifact.get("type") == "aws:cloudformation:stack":
                props = artifact["properties"]
                template = json.loads((manifest_path.parent / props["templateFile"]).read_text())
                found.append((props.get("stackName", props["templateFile"]), template))
    return found


def nag_counts(cdk_out: Path) -> tuple[Counter[str], Counter[str]]:
    """Unacknowledged and acknowledged nag findings per stack."""
    report_path = cdk_out / "validation-report.json"
    open_, acknowledged = Counter[str](), Counter[str]()
    if not report_path.exists():
        return open_, acknowledged
    report = json.loads(report_path.read_text())
    for plugin in report.get("pluginReports", []):
        if plugin["pluginName"] not in NAG_PACKS:
            continue
        for counter, key in ((open_, "violations"), (acknowledged, "suppressedViolations")):
            for violation in plugin.get(key, []):
                for construct in violation.get("violatingConstructs", violation.get("violatingResources", [])):
                    path = construct.get("constructPath", "?")
                    counter[path.split("/")[0] + "/" + path.split("/")[1] if "/" in path else path] += 1
    return open_, acknowledged


def summarize(cdk_out: Path) -> tuple[str, int]:
    stacks = _stacks(cdk_out)
    open_, acknowledged = nag_counts(cdk_out)
    rows = [("stack", "resources", "nag findings", "acknowledged")]
    for name, template in stacks:
        stage, _, part = name.rpartition("-")
        key = f"{stage}/{part}"
        rows.append((name, str(len(template.get("Resources", {}))), str(open_[key]), str(acknowledged[key])))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    total_open = sum(open_.values())
    lines.append(f"{len(stacks)} stacks, {sum(int(r[1]) for r in rows[1:])} resources, {total_open} nag findings")
    return "\n".join(lines), total_open


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Summarize a synthesized cloud assembly.")
    parser.add_argument("cdk_out", type=Path, nargs="?", default=Path("cdk.out"))
    args = parser.parse_args(argv)
    text, findings = summarize(args.cdk_out)
    print(text)
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
