"""The CDK CLI's stack selection for a synthesized assembly: every stack of the stages it holds.

Every stack sits inside a `cdk.Stage`, and the CLI's `--all` selects only top-level stacks, so
`cdk deploy --all` finds nothing and `cdk diff --all` reports "0 differences" having diffed nothing.
The CLI selects nested stacks by their hierarchical id instead: `<stage id>/*` for a whole stage,
`<stage id>/<Part>` for one stack (deploy adds its upstream dependencies, destroy its dependents).
The stages come from the assembly itself, so the selection is exactly what the last synth built.

    python -m tools.stack_selection cdk.out                                  # print the patterns
    python -m tools.stack_selection cdk.out --stacks "Data" -- npx cdk deploy --app cdk.out
                                                                             # run a command with them
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path

from stacks.assembly import stack_artifacts


class SelectionError(Exception):
    """The assembly or the requested stacks do not allow a selection; the message says why."""


def stages(cdk_out: Path) -> dict[str, list[str]]:
    """Stage id -> its stack parts (`Foundation`, `Data`, ...), in synthesis order, from the assembly."""
    manifest_path = cdk_out / "manifest.json"
    if not manifest_path.is_file():
        raise SelectionError(f"{cdk_out}: no cloud assembly (manifest.json) — run `make synth` first")
    found: dict[str, list[str]] = {}
    for stack in stack_artifacts(cdk_out):
        stage_id, _, part = stack.path.rpartition("/")
        if stage_id:  # a stack inside a stage; top-level stacks are not the kit's
            found.setdefault(stage_id, []).append(part)
    if not found:
        raise SelectionError(f"{cdk_out}: the assembly holds no stage — was it synthesized by this kit's app.py?")
    return found


def selectors(cdk_out: Path, parts: list[str] | None = None) -> list[str]:
    """CLI patterns for every stack of every stage in ``cdk_out``, or only for ``parts`` of each stage."""
    by_stage = stages(cdk_out)
    if not parts:
        return [f"{stage}/*" for stage in by_stage]
    patterns = []
    for stage, stacks in by_stage.items():
        for part in parts:
            if part not in stacks:
                raise SelectionError(f"no stack '{part}' in {stage} (its stacks: {', '.join(stacks)})")
            patterns.append(f"{stage}/{part}")
    return patterns


def main(argv: list[str] | None = None) -> int:
    args_in = sys.argv[1:] if argv is None else argv
    command: list[str] = []
    if "--" in args_in:
        split = args_in.index("--")
        args_in, command = args_in[:split], args_in[split + 1 :]
    parser = argparse.ArgumentParser(description="Select every stack of the synthesized stages for the CDK CLI.")
    parser.add_argument("cdk_out", type=Path)
    parser.add_argument("--stacks", default="", help="space-separated parts, e.g. 'Data Knowledge' (default: all)")
    args = parser.parse_args(args_in)
    try:
        patterns = selectors(args.cdk_out, args.stacks.split())
    except SelectionError as exc:
        print(f"stack selection: {exc}", file=sys.stderr)
        return 2
    if not command:
        print("\n".join(patterns))
        return 0
    full = [*command, *patterns]
    print(f"+ {shlex.join(full)}", file=sys.stderr, flush=True)
    os.execvp(full[0], full)  # noqa: S606 - the command is the Makefile's own cdk invocation
    return 1  # not reached: execvp replaces this process or raises


if __name__ == "__main__":
    sys.exit(main())
