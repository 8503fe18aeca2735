"""The ideation register: every use case under usecases/, validated, one line each.

`python -m tools.register` exits non-zero when any use case fails validation, naming the file,
the field and the reason, so a pull request that adds an idea is checked like code.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from stacks.config import USECASES_DIR, ConfigError, UseCase, load_usecase


def register(root: Path = USECASES_DIR) -> tuple[list[UseCase], list[ConfigError]]:
    usecases, errors = [], []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        try:
            usecases.append(load_usecase(folder.name, root=root))
        except ConfigError as exc:
            errors.append(exc)
    return usecases, errors


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Validate and list the use-case register.")
    parser.add_argument("--root", type=Path, default=USECASES_DIR)
    args = parser.parse_args(argv)
    usecases, errors = register(args.root)
    for usecase in usecases:
        print(
            f"{usecase.id:<24} {usecase.architecture:<7} {usecase.ideation.template:<11} {usecase.ideation.statement}"
        )
    for error in errors:
        print(f"invalid: {error}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
