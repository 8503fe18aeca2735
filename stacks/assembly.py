"""The stacks of a synthesized cloud assembly, nested stages included: the one walker every reader of
`cdk.out` uses (the limits check, the synth summary, the IAM check, stack selection, preflight and smoke).

A kit assembly holds its stacks in nested assemblies, one per `cdk.Stage`; the root manifest names them
as `cdk:cloud-assembly` artifacts. Plain JSON and paths only, so tools read an assembly without CDK.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

STACK = "aws:cloudformation:stack"
NESTED_ASSEMBLY = "cdk:cloud-assembly"


@dataclass(frozen=True)
class StackArtifact:
    name: str  # the CloudFormation stack name
    path: str  # its hierarchical id ("journey-customer-retention-dev/Data"), which the CLI and reports use
    template: Path
    environment: str  # "aws://<account>/<region>", "unknown-..." where environment-agnostic


def stack_artifacts(cdk_out: Path) -> list[StackArtifact]:
    """Every stack of the assembly in ``cdk_out``, in manifest order; the root manifest must exist."""
    return list(_walk(cdk_out))


def _walk(folder: Path) -> Iterator[StackArtifact]:
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    for artifact_id, artifact in manifest.get("artifacts", {}).items():
        props = artifact.get("properties", {})
        if artifact.get("type") == STACK:
            yield StackArtifact(
                # A stack outside a stage has no stackName property: its artifact id is its name.
                name=props.get("stackName", artifact_id),
                path=artifact.get("displayName", artifact_id),
                template=folder / props["templateFile"],
                environment=artifact.get("environment", ""),
            )
        elif artifact.get("type") == NESTED_ASSEMBLY:
            yield from _walk(folder / props["directoryName"])
