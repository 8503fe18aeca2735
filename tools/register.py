"""The ideation register: every use case under usecases/, validated file by file, one row each.

`python -m tools.register` validates every file of every use case exactly as synth does (a use case
that passes here builds), prints a table and exits 1 when any use case is invalid, with each problem
on stderr naming the file, the field and the reason, so a pull request that adds an idea is checked
like code. A folder without usecase.yaml is an invalid use case, not something to skip.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

from stacks.app_builder import cdk_json_context, validate_usecase
from stacks.config import USECASES_DIR, ConfigError, Features, kit_config_from_context, load_usecase

COLUMNS = ("id", "title", "template", "architecture", "stacks", "status")
UNKNOWN = "?"


@dataclass(frozen=True)
class Entry:
    """One row of the register, the error that made it invalid, if any, and doubts that did not."""

    id: str
    title: str
    template: str
    architecture: str
    stacks: str
    error: ConfigError | None
    warnings: tuple[str, ...] = ()

    @property
    def status(self) -> str:
        return "invalid" if self.error else "valid"

    def cells(self) -> tuple[str, ...]:
        return (self.id, self.title, self.template, self.architecture, self.stacks, self.status)


def stacks_on(features: Features, files: frozenset[str] = frozenset()) -> str:
    """The stacks a synth with these features builds, in the stage's order; Foundation always. Prompts and Agent
    also need their file (``files``: the names in the use case's folder), as stacks/stage.py builds them."""
    switched = [
        ("Data", features.data),
        ("Knowledge", features.knowledge and features.data),
        ("Guardrails", features.guardrails),
        ("Prompts", features.prompts and "prompts.yaml" in files),
        ("Agent", features.agent and "agent.yaml" in files),
        ("Api", features.api),
        ("Web", features.web and features.api),
        ("Observability", features.observability),
    ]
    names = ["Foundation", *(name for name, on in switched if on)]
    if features.custom_safety_models:
        names.append("custom models")
    return ", ".join(names)


def entry(usecase_id: str, root: Path = USECASES_DIR) -> Entry:
    """Validate one use case folder into its register row."""
    stacks = UNKNOWN
    try:
        config = kit_config_from_context(cdk_json_context(usecase=usecase_id))
        folder = root / usecase_id
        stacks = stacks_on(
            config.features, frozenset(p.name for p in folder.iterdir()) if folder.is_dir() else frozenset()
        )
        files, warnings = validate_usecase(config, root)  # the very call synth makes
    except ConfigError as error:
        try:  # usecase.yaml alone may still be valid: show what it says
            usecase = load_usecase(usecase_id, root)
        except ConfigError:
            return Entry(usecase_id, UNKNOWN, UNKNOWN, UNKNOWN, stacks, error)
        return Entry(usecase_id, usecase.title, usecase.ideation.template, usecase.architecture, stacks, error)
    usecase = files.usecase
    return Entry(
        usecase_id, usecase.title, usecase.ideation.template, usecase.architecture, stacks, None, tuple(warnings)
    )


def register(root: Path = USECASES_DIR) -> list[Entry]:
    """Every folder under ``root`` (hidden ones aside), in name order."""
    return [entry(p.name, root) for p in sorted(root.iterdir()) if p.is_dir() and not p.name.startswith(".")]


def table(entries: list[Entry]) -> str:
    """Left-aligned columns as wide as their widest cell, two spaces apart."""
    rows = [COLUMNS, *(e.cells() for e in entries)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Validate every file of every use case and list the register.")
    parser.add_argument("--root", type=Path, default=USECASES_DIR, help="folder of use cases (default: usecases/)")
    args = parser.parse_args(argv)
    if not args.root.is_dir():
        print(f"register: {args.root}: no such folder", file=sys.stderr)
        return 2
    entries = register(args.root)
    if not entries:
        print(f"register: {args.root}: no use case folders", file=sys.stderr)
        return 2
    invalid = [e for e in entries if e.error]
    print(table(entries))
    count = f"{len(entries)} use case{'' if len(entries) == 1 else 's'}"
    print(f"{count}: {len(entries) - len(invalid)} valid, {len(invalid)} invalid")
    for warning in (w for e in entries for w in e.warnings):
        print(f"config warning: {warning}", file=sys.stderr)
    for e in invalid:
        print(str(e.error), file=sys.stderr)
    return 1 if invalid else 0


if __name__ == "__main__":
    sys.exit(main())
