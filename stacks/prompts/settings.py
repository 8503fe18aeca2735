"""`PromptsSettings`: usecases/<id>/prompts.yaml, the tasks of a use case and the prompt variants of each.

Per task: a description, the declared variables and 1-3 variants, each tagged with its technique (`few-shot`,
`chain-of-thought`, `multi-prompt`) and with its own inference settings; exactly one is `selected` (what the
serving stage runs). A `multi-prompt` variant is an ordered chain of `steps` instead of one template: the output
of a step is the variable named after it for the steps after it, and the last step's output is the answer.

Variables are checked against the templates before anything is synthesized, with the parser the runtime renders
with (`common.prompts.template`): a placeholder that is not declared (nor an earlier step), a declared variable
that no template of the variant uses, a step that uses a later step, two selected variants or none, a template
on a multi-prompt variant or steps on another: each is one line naming the file, the field and the reason, and
every problem of the file is reported at once.

The file is optional: a use case without it builds no Prompts stack.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Annotated, Any

from common.prompts.contract import Inference, Technique
from common.prompts.template import MAX_VARIABLE, VARIABLE_PATTERN, TemplateError, placeholders
from pydantic import Field, ValidationError, field_validator

from stacks.config import USECASES_DIR, ConfigError, StrictModel, display_path, read_yaml_mapping, validation_error
from stacks.config.base import worded

PROMPTS_FILE = "prompts.yaml"

# Names become parts of Bedrock prompt names (`<prefix>-<task>-<variant>[-<step>]`, whose form is
# `([0-9a-zA-Z][_-]?){1,100}`: no two separators in a row), so none starts or ends with a separator or doubles one.
TASK_PATTERN = worded(
    r"^[a-z](?:_?[a-z0-9])*$", "must be lowercase letters, digits and single underscores, starting with a letter"
)
VARIANT_PATTERN = worded(
    r"^[a-z](?:-?[a-z0-9])*$", "must be lowercase letters, digits and single hyphens, starting with a letter"
)
worded(VARIABLE_PATTERN, "must be lowercase letters, digits and single underscores, starting with a letter")
MAX_NAME = 31
MAX_TASKS = 10  # each variant is a prompt (one per step) and a version: 10 x 3 x 5 x 2 = 300 resources at most
MAX_VARIANTS = 3
MAX_STEPS = 5
MAX_VARIABLES = 20  # Bedrock: at most 20 input variables per prompt template
MAX_TEMPLATE = 200_000  # Bedrock: characters of a prompt template
MAX_DESCRIPTION = 200  # Bedrock: a prompt's description

TaskName = Annotated[str, Field(pattern=TASK_PATTERN, max_length=MAX_NAME)]
VariableName = Annotated[str, Field(pattern=VARIABLE_PATTERN, max_length=MAX_VARIABLE)]
TemplateText = Annotated[str, Field(min_length=1, max_length=MAX_TEMPLATE)]


class Step(StrictModel):
    """One prompt of a multi-prompt chain; its output is the variable ``{{<name>}}`` of the steps after it."""

    name: VariableName = Field(description="The step's name, and the variable its output becomes for later steps.")
    template: TemplateText = Field(description="The step's prompt; uses declared variables and earlier steps.")
    system: TemplateText | None = Field(None, description="Optional system text of the step (may use variables).")


class Variant(StrictModel):
    """One way to prompt for the task; each is its own Bedrock prompt (one per step for `multi-prompt`)."""

    name: str = Field(
        pattern=VARIANT_PATTERN, max_length=MAX_NAME, description="Unique within the task; part of the prompt's name."
    )
    technique: Technique = Field(description="The prompting technique the variant uses; tagged on its prompts.")
    selected: bool = Field(False, description="The variant the serving stage runs; exactly one per task.")
    system: TemplateText | None = Field(
        None, description="Optional system text (may use variables); not with `multi-prompt` (steps have their own)."
    )
    template: TemplateText | None = Field(
        None,
        description="The prompt with `{{variable}}` placeholders; required unless the technique is `multi-prompt`.",
    )
    steps: list[Step] | None = Field(
        None,
        max_length=MAX_STEPS,
        description="The ordered chain of a `multi-prompt` variant (required there, at least 2; nowhere else).",
    )
    inference: Inference = Field(default_factory=Inference, description="Inference settings of the variant.")


class Task(StrictModel):
    """One thing the use case asks a model to do (answer, summarize, classify, ...)."""

    description: str = Field(
        min_length=1, max_length=MAX_DESCRIPTION, description="What the task does; the description of its prompts."
    )
    variables: list[VariableName] = Field(
        default_factory=list,
        max_length=MAX_VARIABLES,
        description="The variables a caller supplies; every variant must use each of them, and only these.",
    )
    variants: list[Variant] = Field(
        min_length=1, max_length=MAX_VARIANTS, description="The variants to compare (2-3); exactly one `selected`."
    )

    @field_validator("description")
    @classmethod
    def _one_line(cls, value: str) -> str:
        return " ".join(value.split())


class PromptsSettings(StrictModel):
    """The tasks of a use case and the prompt variants of each (usecases/<id>/prompts.yaml)."""

    tasks: dict[TaskName, Task] = Field(
        min_length=1, max_length=MAX_TASKS, description="Task name -> its variables and variants."
    )

    def problems(self) -> list[tuple[str, str]]:
        """(field, reason) for every cross-field rule the file breaks, in file order."""
        found: list[tuple[str, str]] = []
        for task_name, task in self.tasks.items():
            found.extend(_task_problems(f"tasks.{task_name}", task))
        return found

    def selected(self, task: str) -> Variant:
        """The selected variant of ``task`` (exactly one: the file is checked on load)."""
        (variant,) = [v for v in self.tasks[task].variants if v.selected]
        return variant


def _task_problems(where: str, task: Task) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    duplicates = sorted({v for v in task.variables if task.variables.count(v) > 1})
    if duplicates:
        found.append((f"{where}.variables", f"declared twice: {', '.join(duplicates)}"))
    names = [v.name for v in task.variants]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        found.append((f"{where}.variants", f"variant names must be unique within the task: {', '.join(duplicates)}"))
    selected = [v.name for v in task.variants if v.selected]
    if not selected:
        found.append((f"{where}.variants", "no variant is selected: mark exactly one with `selected: true`"))
    elif len(selected) > 1:
        found.append(
            (f"{where}.variants", f"{len(selected)} variants are selected ({', '.join(selected)}): mark exactly one")
        )
    declared = list(dict.fromkeys(task.variables))
    for index, variant in enumerate(task.variants):
        found.extend(_variant_problems(f"{where}.variants.{index}", variant, declared))
    return found


def _used(field: str, text: str | None, found: list[tuple[str, str]]) -> list[str]:
    """The placeholders of ``text``; a malformed one is recorded against ``field``."""
    if text is None:
        return []
    try:
        return placeholders(text)
    except TemplateError as exc:
        found.append((field, str(exc)))
        return []


def _listed(names: list[str]) -> str:
    return ", ".join(f"{{{{{n}}}}}" for n in names)


def _never_used(names: list[str], where: str) -> str:
    verb = "is" if len(names) == 1 else "are"
    return f"declared variable{'' if len(names) == 1 else 's'} {_listed(names)} {verb} never used{where}"


def _variant_problems(where: str, variant: Variant, declared: list[str]) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    declared_words = ", ".join(declared) or "none"
    if variant.technique == "multi-prompt":
        for name in ("template", "system"):
            if getattr(variant, name) is not None:
                found.append((f"{where}.{name}", "not allowed on a multi-prompt variant: each step has its own"))
        if variant.steps is None or len(variant.steps) < 2:
            given = "none" if variant.steps is None else str(len(variant.steps))
            found.append((f"{where}.steps", f"a multi-prompt variant needs at least 2 steps (has {given})"))
        if variant.steps:
            found.extend(_chain_problems(where, variant.steps, declared))
        return found
    if variant.steps is not None:
        found.append((f"{where}.steps", f"only a multi-prompt variant has steps (this one is {variant.technique})"))
    if variant.template is None:
        found.append((f"{where}.template", f"required for a {variant.technique} variant"))
    used: list[str] = []
    malformed = False
    for name in ("system", "template"):
        field = f"{where}.{name}"
        before = len(found)
        names = _used(field, getattr(variant, name), found)
        malformed = malformed or len(found) > before
        unknown = [n for n in names if n not in declared]
        if unknown:
            found.append((field, f"unknown variable {_listed(unknown)} (declared: {declared_words})"))
        used.extend(names)
    unused = [n for n in declared if n not in used]
    if unused and variant.template is not None and not malformed:
        found.append((f"{where}.template", _never_used(unused, "")))
    return found


def _chain_problems(where: str, steps: list[Step], declared: list[str]) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    step_names = [s.name for s in steps]
    used_anywhere: set[str] = set()
    malformed = False
    for index, step in enumerate(steps):
        here = f"{where}.steps.{index}"
        if step_names.count(step.name) > 1 and step_names.index(step.name) < index:
            found.append((f"{here}.name", f"step name {step.name} is used by an earlier step too"))
        if step.name in declared:
            found.append((f"{here}.name", f"step name {step.name} is also a declared variable: rename one"))
        earlier = step_names[:index]
        allowed = set(declared) | set(earlier)
        for name in ("system", "template"):
            field = f"{here}.{name}"
            before = len(found)
            names = _used(field, getattr(step, name), found)
            malformed = malformed or len(found) > before
            used_anywhere.update(names)
            later = [n for n in names if n not in allowed and n in step_names[index:]]
            unknown = [n for n in names if n not in allowed and n not in step_names[index:]]
            if later:
                found.append(
                    (
                        field,
                        f"uses {_listed(later)}, the output of this or a later step: a step may use only earlier steps",
                    )
                )
            if unknown:
                known = ", ".join(dict.fromkeys([*declared, *earlier])) or "none"
                found.append((field, f"unknown variable {_listed(unknown)} (declared and earlier steps: {known})"))
            if len(set(names)) > MAX_VARIABLES:
                found.append((field, f"uses {len(set(names))} variables; a Bedrock prompt takes {MAX_VARIABLES}"))
    unused = [n for n in declared if n not in used_anywhere]
    if unused and not malformed:
        found.append((f"{where}.steps", _never_used(unused, " by any step")))
    for index, step in enumerate(steps[:-1]):
        if step.name not in used_anywhere and not malformed:
            found.append(
                (f"{where}.steps.{index}.name", f"the output of step {step.name} is never used by a later step")
            )
    return found


def fingerprint(data: Any) -> str:
    """sha256 of ``data`` as canonical JSON: equal content, equal fingerprint."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def load_prompts_settings(usecase_id: str, root: Path = USECASES_DIR) -> PromptsSettings | None:
    """Read and validate usecases/<id>/prompts.yaml; None when the use case has none (no Prompts stack)."""
    path = root / usecase_id / PROMPTS_FILE
    if not path.is_file():
        return None
    return parse_prompts_settings(read_yaml_mapping(path), source=display_path(path), document=path)


def parse_prompts_settings(raw: dict[str, Any], *, source: str, document: Path | None = None) -> PromptsSettings:
    """Validate the mapping of a prompts.yaml; every problem is one `ConfigError` line."""
    try:
        settings = PromptsSettings.model_validate(raw)
    except ValidationError as exc:
        raise validation_error(source, exc, model=PromptsSettings, document=document) from None
    problems = settings.problems()
    if problems:
        raise ConfigError.of([(source, field, reason) for field, reason in problems])
    return settings
