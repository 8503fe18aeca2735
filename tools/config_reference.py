"""Generate the configuration and limits references from the models and the limits registry, so they cannot drift.

`python -m tools.config_reference` rewrites the block between the markers of each page: README.md (cdk.json
context and usecase.yaml), the page of each stage for its use-case file (docs/data.md: data.yaml,
docs/knowledge.md: knowledge.yaml, docs/security.md: guardrail.yaml and safety.yaml, docs/prompts.md: prompts.yaml,
docs/agent.md: agent.yaml, docs/api.md: api.yaml) and docs/limits.md (the deploy-time limits checked at synth and
the longest value of each token); `--check` exits non-zero when a page is stale (the test suite runs the same
comparison).
`USECASE_FILES` names the model of every file of a use case: a test fails when `UseCaseFiles` gains one
that no page renders.
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

from stacks.agent.settings import AgentSettings
from stacks.api.settings import ApiFileSettings
from stacks.config import PATTERN_WORDS, KitConfig, Stage, UseCase
from stacks.data.settings import DataSettings
from stacks.guardrails.policy import GuardrailPolicy
from stacks.guardrails.safety_settings import SafetyConfig
from stacks.knowledge.settings import KnowledgeSettings
from stacks.limits import rules_table, tokens_table
from stacks.observability.settings import ObservabilitySettings
from stacks.prompts.settings import PromptsSettings
from stacks.scale.settings import ScaleSettings

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
        if isinstance(value, dict):
            value = {k: (v.model_dump(exclude_none=True) if isinstance(v, BaseModel) else v) for k, v in value.items()}
        return f"`{value}`"
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


def _escaped(text: str) -> str:
    """Text for a table cell: a bar would end the cell."""
    return text.replace("|", "\\|")


def _summary(model: type[BaseModel]) -> str:
    """A model's docstring as one line (its first paragraph), for fields that have no description."""
    return " ".join((model.__doc__ or "").split("\n\n")[0].split()).replace("``", "`")


def _cells(field: FieldInfo) -> tuple[str, str, str]:
    """Type, default and meaning of a field; a field of one model type without a description is described by
    that model's docstring."""
    models = _nested_models(field.annotation)
    description = field.description or (_summary(models[0]) if len(models) == 1 else "")
    return _type_name(field.annotation), _default(field), f"{_escaped(description)}{_constraints(field)}"


def _row(key: str, cells: tuple[str, ...]) -> str:
    return f"| {key} | {' | '.join(cells)} |"


def model_table(model: type[BaseModel], prefix: str = "") -> list[str]:
    """One row per field, each nested model's fields right below their parent."""
    rows: list[str] = []
    for name, field in model.model_fields.items():
        key = f"{prefix}{name}"
        rows.append(_row(f"`{key}`", _cells(field)))
        optional = [a for a in typing.get_args(field.annotation) if a is not type(None)]
        is_optional = typing.get_origin(field.annotation) in (typing.Union, types.UnionType) and len(optional) == 1
        container = typing.get_origin(optional[0] if is_optional else field.annotation)  # list[X] | None: a list
        if container is dict:
            placeholder = "<stage>" if typing.get_args(field.annotation)[0] == Stage else "<name>"
            sub_prefix = f"{key}.{placeholder}."
        else:
            sub_prefix = f"{key}[]." if container is list else f"{key}."
        if isinstance(field.discriminator, str):
            rows.extend(_tagged_union_table(field, field.discriminator, sub_prefix))
        else:
            for sub in _nested_models(field.annotation):
                rows.extend(model_table(sub, sub_prefix))
    return rows


def _tagged_union_table(field: FieldInfo, tag: str, prefix: str) -> list[str]:
    """A tagged union (the value of ``tag`` selects the member): one row for the tag that lists the members, then
    every other field once, naming the tag values it applies to (members sharing a field in full share its row)."""
    members = {typing.get_args(m.model_fields[tag].annotation)[0]: m for m in _nested_models(field.annotation)}
    default = field.default_factory() if field.default_factory is not None else None  # type: ignore[call-arg]
    tag_cells = (
        " \\| ".join(f"`{value}`" for value in members),
        f"`{getattr(default, tag)}`" if default is not None else "required",
        f"Selects the fields that apply (each row below names its {tag}): "
        + "; ".join(f"`{value}`: {_escaped(_summary(member)).rstrip('.')}" for value, member in members.items())
        + ".",
    )
    rows = [_row(f"`{prefix}{tag}`", tag_cells)]
    shared: dict[tuple[str, tuple[str, str, str]], list[str]] = {}  # (name, cells) -> the tag values it applies to
    for value, member in members.items():
        for name, sub in member.model_fields.items():
            if name != tag:
                shared.setdefault((name, _cells(sub)), []).append(f"`{value}`")
    for (name, cells), values in shared.items():
        rows.append(_row(f"`{prefix}{name}` ({tag} {', '.join(values)})", cells))
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


def markers(name: str) -> tuple[str, str]:
    return f"<!-- {name}-reference:start -->", f"<!-- {name}-reference:end -->"


def file_reference(name: str, model: type[BaseModel]) -> Callable[[], str]:
    """The renderer of one use-case file's reference: every key of ``model``, between the ``name`` markers."""
    start, end = markers(name)
    return lambda: "\n".join([start, "", *HEADER, *model_table(model), "", end])


# The model of each stage's use-case file, and the page (and marker name) of its reference. README's block holds
# the other two models: the kit's context (KitConfig) and usecase.yaml (UseCase).
STAGE_FILES: dict[type[BaseModel], tuple[Path, str]] = {
    DataSettings: (ROOT / "docs" / "data.md", "data"),
    KnowledgeSettings: (ROOT / "docs" / "knowledge.md", "knowledge"),
    GuardrailPolicy: (ROOT / "docs" / "security.md", "guardrail"),
    SafetyConfig: (ROOT / "docs" / "security.md", "safety"),
    PromptsSettings: (ROOT / "docs" / "prompts.md", "prompts"),
    AgentSettings: (ROOT / "docs" / "agent.md", "agent"),
    ApiFileSettings: (ROOT / "docs" / "api.md", "api"),
    ObservabilitySettings: (ROOT / "docs" / "observability.md", "observability"),
    ScaleSettings: (ROOT / "docs" / "scale.md", "scale"),
}
RENDERED_MODELS: frozenset[type[BaseModel]] = frozenset({KitConfig, UseCase, *STAGE_FILES})


def render_limits() -> str:
    """docs/limits.md: the registry of stacks/limits/ and its token estimates."""
    return "\n".join(
        [
            markers("limits")[0],
            "",
            "#### Limits checked on every synthesized template",
            "",
            *rules_table(),
            "",
            "#### Longest resolved value of each token",
            "",
            *tokens_table(),
            "",
            markers("limits")[1],
        ]
    )


# Each page and the block of it that is generated: (path, start marker, end marker, renderer).
PAGES: list[tuple[Path, str, str, Callable[[], str]]] = [
    (README, START, END, render),
    *((page, *markers(name), file_reference(name, model)) for model, (page, name) in STAGE_FILES.items()),
    (ROOT / "docs" / "limits.md", *markers("limits"), render_limits),
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
