"""Generate the configuration and limits references from the models and the limits registry, so they cannot drift.

`python -m tools.config_reference` rewrites the block between the markers of each page: README.md (cdk.json
context and usecase.yaml), docs/data.md (data.yaml) and docs/limits.md (the deploy-time limits checked at
synth and the longest value of each token); `--check` exits non-zero when a page is stale (the test suite
runs the same comparison).
"""

from __future__ import annotations

import argparse
import sys
import types
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from stacks.config import PATTERN_WORDS, KitConfig, Stage, UseCase
from stacks.data_config import DataSettings
from stacks.limits import rules_table, tokens_table

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
START, END = "<!-- config-reference:start -->", "<!-- config-reference:end -->"
MAX_LITERALS = 8  # a longer list of allowed values is summarized in the type column


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Literal:
        many = len(args) > MAX_LITERALS
        return f"`{args[0]}` ... ({len(args)} names)" if many else " \\| ".join(f"`{a}`" for a in args)
    if origin in (typing.Union, types.UnionType):
        optional = " (optional)" if type(None) in args else ""
        return " \\| ".join(_type_name(a) for a in args if a is not type(None)) + optional
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
        if container is dict:
            placeholder = "<stage>" if typing.get_args(field.annotation)[0] == Stage else "<name>"
            sub_prefix = f"{key}.{placeholder}."
        else:
            sub_prefix = f"{key}[]." if container is list else f"{key}."
        for sub in _nested_models(field.annotation):
            rows.extend(model_table(sub, sub_prefix))
    return rows


HEADER = ["| key | type | default | meaning |", "|---|---|---|---|"]


def render() -> str:
    header = HEADER
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


def render_data() -> str:
    """docs/data.md: every key of usecases/<id>/data.yaml."""
    block = [
        "<!-- data-reference:start -->",
        "",
        *HEADER,
        *model_table(DataSettings),
        "",
        "<!-- data-reference:end -->",
    ]
    return "\n".join(block)


def render_limits() -> str:
    """docs/limits.md: the registry of stacks/limits/ and its token estimates."""
    return "\n".join(
        [
            "<!-- limits-reference:start -->",
            "",
            "#### Limits checked on every synthesized template",
            "",
            *rules_table(),
            "",
            "#### Longest resolved value of each token",
            "",
            *tokens_table(),
            "",
            "<!-- limits-reference:end -->",
        ]
    )


# Each page and the block of it that is generated: (path, start marker, end marker, renderer).
PAGES: list[tuple[Path, str, str, Callable[[], str]]] = [
    (README, START, END, render),
    (ROOT / "docs" / "data.md", "<!-- data-reference:start -->", "<!-- data-reference:end -->", render_data),
    (ROOT / "docs" / "limits.md", "<!-- limits-reference:start -->", "<!-- limits-reference:end -->", render_limits),
]


def rewrite(text: str, start: str = START, end: str = END, renderer: Callable[[], str] = render) -> str:
    before, _, rest = text.partition(start)
    _, _, after = rest.partition(end)
    return before + renderer() + after


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Regenerate the configuration and limits references")
    parser.add_argument("--check", action="store_true", help="fail if a generated reference is not up to date")
    args = parser.parse_args(argv)
    stale = 0
    for page, start, end, renderer in PAGES:
        name = page.relative_to(ROOT)
        current = page.read_text(encoding="utf-8")
        if start not in current or end not in current:
            print(f"{name} lacks the {start} ... {end} markers", file=sys.stderr)
            return 1
        updated = rewrite(current, start, end, renderer)
        if updated == current:
            continue
        if args.check:
            print(f"{name}: the generated reference is stale: run `make docs`", file=sys.stderr)
            stale += 1
        else:
            page.write_text(updated, encoding="utf-8")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
