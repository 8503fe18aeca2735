"""Generate the README's configuration reference from the pydantic models, so it cannot drift.

`python -m tools.config_reference` rewrites the block between the markers in README.md;
`--check` exits non-zero when README.md is stale (the test suite runs the same comparison).
"""

from __future__ import annotations

import argparse
import sys
import types
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from stacks.config import PATTERN_WORDS, KitConfig, UseCase

README = Path(__file__).resolve().parent.parent / "README.md"
START, END = "<!-- config-reference:start -->", "<!-- config-reference:end -->"


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Literal:
        return " \\| ".join(f"`{a}`" for a in args)
    if origin in (typing.Union, types.UnionType):
        return " \\| ".join(_type_name(a) for a in args if a is not type(None)) + " (optional)"
    if origin is typing.Annotated:
        return _type_name(args[0])
    if origin in (list, dict):
        return f"{origin.__name__}[{', '.join(_type_name(a) for a in args)}]"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation.__name__
    return getattr(annotation, "__name__", str(annotation))


def _default(field: FieldInfo) -> str:
    if field.default is not PydanticUndefined:
        return "" if field.default is None else f"`{field.default}`"
    if field.default_factory is not None:
        value = field.default_factory()  # type: ignore[call-arg]
        if isinstance(value, BaseModel):
            return "see below" if type(value).model_fields else "`{}`"
        shown = {k: (v.model_dump(exclude_none=True) if isinstance(v, BaseModel) else v) for k, v in value.items()}
        return f"`{shown}`"
    return "required"


def _constraints(field: FieldInfo) -> str:
    parts = []
    for meta in field.metadata:
        for name in ("pattern", "ge", "gt", "le", "lt", "min_length", "max_length"):
            value = getattr(meta, name, None)
            if name == "pattern" and value is not None:
                parts.append(PATTERN_WORDS.get(value, f"pattern={value}"))  # the words errors use too
            elif value is not None:
                parts.append(f"{name}={value}")
    return f" ({', '.join(parts)})".replace("|", "\\|") if parts else ""


def _nested_models(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for a in typing.get_args(annotation) for m in _nested_models(a)]


def model_table(model: type[BaseModel], prefix: str = "") -> list[str]:
    """One row per field, each nested model's fields right below their parent."""
    rows: list[str] = []
    for name, field in model.model_fields.items():
        key = f"{prefix}{name}"
        description = (field.description or "").replace("|", "\\|")
        meaning = f"{description}{_constraints(field)}"
        rows.append(f"| `{key}` | {_type_name(field.annotation)} | {_default(field)} | {meaning} |")
        container = typing.get_origin(field.annotation)
        sub_prefix = f"{key}.<stage>." if container is dict else f"{key}[]." if container is list else f"{key}."
        for sub in _nested_models(field.annotation):
            rows.extend(model_table(sub, sub_prefix))
    return rows


def render() -> str:
    header = ["| key | type | default | meaning |", "|---|---|---|---|"]
    return "\n".join(
        [
            START,
            "",
            "#### Deployment settings (`cdk.json` context, override with `-c key=value`, nested with dots)",
            "",
            *header,
            *model_table(KitConfig),
            "",
            "#### Use case (`usecases/<id>/usecase.yaml`)",
            "",
            *header,
            *model_table(UseCase),
            "",
            END,
        ]
    )


def rewrite(text: str) -> str:
    before, _, rest = text.partition(START)
    _, _, after = rest.partition(END)
    return before + render() + after


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Regenerate the configuration reference in README.md")
    parser.add_argument("--check", action="store_true", help="fail if README.md is not up to date")
    args = parser.parse_args(argv)
    current = README.read_text(encoding="utf-8")
    if START not in current or END not in current:
        print(f"README.md lacks the {START} ... {END} markers", file=sys.stderr)
        return 1
    updated = rewrite(current)
    if args.check:
        if updated != current:
            print("README.md configuration reference is stale: run `make docs`", file=sys.stderr)
            return 1
        return 0
    README.write_text(updated, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
