"""The nag gate, enforced by the app itself, and a cloud assembly that is only ever replaced whole.

cdk-nag runs as CDK policy-validation plugins. When one reports a finding, aws-cdk-lib sets the exit
code of its own Node process and writes `validation-report.json`, but the Python app (and so
`cdk synth` and `cdk deploy`) still exits 0 with "Successfully synthesized". So the app reads the
report and fails itself: whatever wrapper runs the app, an unacknowledged finding stops it.

The app synthesizes into a staging folder next to the output folder and moves the result in only
when the gate passes, so a failed synth leaves no half-written assembly and the last good one stays.

After the nag gate, the same staged templates go through the deploy-time limits check
(stacks/limits/: environment sizes, names, definition and template sizes, resource counts), which
fails with `LimitsError`, one line per problem; nothing is published then either.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from stacks.limits import check_limits

NAG_PACKS = ("AwsSolutions", "NIST.800.53.R5", "HIPAA.Security", "Serverless")
REPORT_FILE = "validation-report.json"


@dataclass(frozen=True)
class Finding:
    pack: str
    rule: str
    path: str
    description: str

    def __str__(self) -> str:
        return f"{self.path}: {self.rule}: {self.description}"


class NagGateError(Exception):
    """Unacknowledged findings: one line each, naming the construct, the exact rule id and why."""

    def __init__(self, findings: list[Finding]) -> None:
        self.findings = findings
        lines = "\n".join(f"  {finding}" for finding in findings)
        super().__init__(
            f"{len(findings)} unacknowledged cdk-nag finding(s); fix them, or acknowledge one on its resource "
            f"with stacks.common.nag.acknowledge(resource, '<rule id>', '<reason>'):\n{lines}"
        )


def report_findings(outdir: Path, *, acknowledged: bool = False) -> list[Finding]:
    """Findings of every validation plugin in ``outdir``'s report (acknowledged ones on request): the four
    nag packs and CDK's built-in CloudFormation validation, whose findings cdk.json makes errors
    (`@aws-cdk/core:validateAgainstDefaultRules`; without it they are warnings, left to the limits check),
    e.g. a name past its service's length limit."""
    report_path = outdir / REPORT_FILE
    if not report_path.is_file():
        return []
    report = json.loads(report_path.read_text(encoding="utf-8"))
    key = "suppressedViolations" if acknowledged else "violations"
    return [
        Finding(
            plugin["pluginName"],
            violation["ruleName"],
            construct.get("constructPath", "?"),
            violation.get("description", ""),
        )
        for plugin in report.get("pluginReports", [])
        for violation in plugin.get(key, [])
        # Every nag finding; CDK's own validation only where it is an error (warnings without the flag).
        if plugin["pluginName"] in NAG_PACKS or violation.get("severity") != "warning"
        for construct in violation.get("violatingConstructs", violation.get("violatingResources", []))
    ]


def check_gate(outdir: Path) -> None:
    """Raise `NagGateError` if the assembly in ``outdir`` has any unacknowledged finding."""
    findings = report_findings(outdir)
    if findings:
        raise NagGateError(findings)


@contextmanager
def staging_folder(outdir: Path) -> Iterator[Path]:
    """A fresh folder beside ``outdir`` (same file system, so moving out of it is a rename); always removed."""
    outdir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{outdir.name}.staging-", dir=outdir.parent))
    try:
        yield staging
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def publish(staging: Path, outdir: Path) -> None:
    """Replace ``outdir``'s assembly with ``staging``'s, keeping the CLI's lock files (``*.lock``) in place.

    The CDK CLI creates ``outdir`` and holds a lock file in it while the app runs, so the folder itself
    is not swapped; its entries are.
    """
    outdir.mkdir(parents=True, exist_ok=True)
    for entry in outdir.iterdir():
        if entry.name.endswith(".lock"):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    for entry in staging.iterdir():
        os.replace(entry, outdir / entry.name)


def gated_synth(synthesize: Callable[[Path], None], outdir: Path) -> None:
    """Run ``synthesize(folder)``, check the nag gate and the deploy-time limits, and only then publish the
    assembly to ``outdir`` (`NagGateError` or `LimitsError` otherwise)."""
    with staging_folder(outdir) as staging:
        synthesize(staging)
        check_gate(staging)
        check_limits(staging)
        publish(staging, outdir)
