"""The shared base of every use-case file model: strict models, one-line errors, YAML loading.

Every load error becomes a `ConfigError`: one line per problem naming the file, the field and the reason.
Each model lives with what it configures (stacks/config/kit.py and usecase.py here; `stacks/<stage>/settings.py`
and the like in each stage package); they all build on `StrictModel` and report through `validation_error`.
"""

from __future__ import annotations

import difflib
import typing
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic_core import ErrorDetails, PydanticCustomError

REPO_ROOT = Path(__file__).resolve().parents[2]
USECASES_DIR = REPO_ROOT / "usecases"

# Pydantic reports a pattern mismatch with the raw regex; people get these words instead. Patterns are
# registered where they are declared, with `worded`, so the words cannot drift from the pattern.
PATTERN_WORDS: dict[str, str] = {}


def worded(pattern: str, words: str) -> str:
    """Register the reason shown when a value does not match ``pattern``; returns the pattern.

    One pattern has one reason: a second module that words the same pattern otherwise would silently reword the
    first's errors (and its generated reference) depending on import order, so that is refused.
    """
    if PATTERN_WORDS.setdefault(pattern, words) != words:
        raise ValueError(f"pattern {pattern!r} is already worded {PATTERN_WORDS[pattern]!r}: import that constant")
    return pattern


# A SageMaker ML instance type: the hosted model's (stacks/scale) and the TCO calculator's (tools/tco).
SAGEMAKER_INSTANCE_PATTERN = worded(
    r"^ml\.[a-z0-9]+\.[0-9]*x?large$", "must be a SageMaker instance type, e.g. `ml.g5.2xlarge`"
)


class ConfigError(Exception):
    """Configuration problems a person can fix, each one line: where, which field, why.

    ``source``, ``field`` and ``reason`` describe the first problem; ``problems`` holds all of them, so a
    file with three mistakes is fixed in one round, not three.
    """

    def __init__(self, source: str, field: str, reason: str, *more: tuple[str, str, str]) -> None:
        self.source, self.field, self.reason = source, field, reason
        self.problems: list[tuple[str, str, str]] = [(source, field, reason), *more]
        super().__init__("\n".join(f"{s}: {f}: {r}" for s, f, r in self.problems))

    @classmethod
    def of(cls, problems: list[tuple[str, str, str]]) -> ConfigError:
        """One error holding every (source, field, reason) problem; there must be at least one."""
        (source, field, reason), *more = problems
        return cls(source, field, reason, *more)


class StrictModel(BaseModel):
    """Base of every config model: unknown fields are errors (typos never pass silently); frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def read_yaml_mapping(path: Path) -> dict[str, Any]:
    """Parse a YAML file that must hold a mapping; syntax errors name the line."""
    source = display_path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "(file)"
        raise ConfigError(source, where, f"invalid YAML: {getattr(exc, 'problem', exc)}") from None
    except UnicodeDecodeError:
        raise ConfigError(source, "(file)", "not UTF-8 text") from None
    if not isinstance(raw, dict):
        raise ConfigError(source, "(file)", f"must be a mapping of fields, got {type(raw).__name__}")
    return raw


FIELD_ERROR = "kit_field"


def field_error(field: str, reason: str, value: object = None) -> PydanticCustomError:
    """An error a model validator raises about one field it cross-checks (``field``: the dotted path in the
    file), reported on that field rather than on the model. A boolean ``value`` where text was expected is
    reported as YAML's doing, with the word as written when `validation_error` is given the document."""
    return PydanticCustomError(FIELD_ERROR, "{reason}", {"field": field, "reason": reason, "yaml_bool": value})


def yaml_bool_reason(value: bool, word: str | None) -> str:
    """What to say when YAML turned an unquoted word (yes, No, on, OFF, True...) into a boolean."""
    if word is None:
        return f"YAML read an unquoted yes/no/on/off/true/false as {str(value).lower()}; quote it"
    return f"YAML read `{word}` as {str(value).lower()}; quote it"


def validation_error(
    source: str,
    exc: ValidationError,
    *,
    union_tags: frozenset[str] = frozenset(),
    model: type[BaseModel] | None = None,
    document: Path | None = None,
) -> ConfigError:
    """Every pydantic error of one file as a `ConfigError` line ``source: dotted.field: reason``.

    ``union_tags`` are the discriminator values pydantic inserts into the location of a tagged-union
    member (e.g. a chunking strategy); they are not fields a person wrote, so they are left out.
    ``model`` (the validated class) lets an unknown key name the field it was probably meant to be.
    ``document`` (the YAML file) lets a boolean where text was expected name the word as written (`Yes`).
    """
    tree = _compose(document)
    return ConfigError.of([_problem(source, error, union_tags, model, tree) for error in exc.errors()])


def _compose(document: Path | None) -> yaml.Node | None:
    if document is None:
        return None
    try:
        return yaml.compose(document.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None


def _word_at(tree: yaml.Node | None, loc: list[Any]) -> str | None:
    """The scalar at ``loc`` as written in the file (the key itself when ``loc`` ends in "[key]")."""
    node, key = tree, None
    for part in loc:
        if part == "[key]":
            node = key
        elif isinstance(node, yaml.MappingNode):
            pairs = [(k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode) and _scalar(k) == part]
            key, node = pairs[0] if pairs else (None, None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            node = node.value[part]
        else:
            return None
    return node.value if isinstance(node, yaml.ScalarNode) else None


def _scalar(node: yaml.ScalarNode) -> Any:
    return yaml.SafeLoader("").construct_object(node)


def _problem(
    source: str,
    error: ErrorDetails,
    union_tags: frozenset[str],
    model: type[BaseModel] | None,
    tree: yaml.Node | None = None,
) -> tuple[str, str, str]:
    raw_loc = [p for p in error["loc"] if p not in union_tags]
    loc = [str(p) for p in raw_loc]
    is_key = bool(loc) and loc[-1] == "[key]"  # a mapping key outside its allowed set
    field = ".".join(loc[:-1] if is_key else loc) or "(root)"
    reason = _reason(error)
    ctx = error.get("ctx") or {}
    if error["type"] == FIELD_ERROR:
        field = str(ctx["field"])
        if isinstance(ctx.get("yaml_bool"), bool):
            word = _word_at(tree, [int(p) if p.isdigit() else p for p in field.split(".")])
            reason = f"{yaml_bool_reason(ctx['yaml_bool'], word)} ({reason})"
    elif error["type"] == "string_type" and isinstance(error.get("input"), bool):
        if is_key:  # pydantic names the key True as 1 in the location: name the mapping instead
            field = ".".join(loc[:-2]) or "(root)"
        return source, field, yaml_bool_reason(bool(error.get("input")), _word_at(tree, raw_loc))
    elif is_key:
        reason = f"not an allowed key: {reason}"
    if error["type"] == "extra_forbidden":
        known = _fields_at(model, [p for p in error["loc"] if p not in union_tags][:-1]) if model else []
        close = difflib.get_close_matches(loc[-1], known, n=1, cutoff=0.6)
        reason = f"unknown field; did you mean '{close[0]}'?" if close else "unknown field"
        if not close and known:
            reason += f" (known: {', '.join(known)})"
    return source, field, reason


def _reason(error: ErrorDetails) -> str:
    """Pydantic's message in the kit's words: patterns by what they mean, "must be" for "Input should be"."""
    if error["type"] == "missing":
        return "required, but missing"
    if error["type"] == "string_pattern_mismatch":
        pattern = str((error.get("ctx") or {}).get("pattern", ""))
        return PATTERN_WORDS.get(pattern, f"does not have the expected form ({pattern})")
    if error["type"] in ("string_too_long", "too_long"):  # a documented maximum (see the field's description)
        unit = "characters" if error["type"] == "string_too_long" else "items"
        value = error.get("input")
        given = f" (it has {len(value)})" if isinstance(value, str | list | dict) else ""
        return f"must have at most {(error.get('ctx') or {}).get('max_length')} {unit}{given}"
    reason = str(error["msg"]).removeprefix("Value error, ")
    return reason.replace("Input should be", "must be", 1).replace("input should be", "must be", 1)


def _fields_at(model: type[BaseModel], loc: list[int | str]) -> list[str]:
    """The field names of the model found at ``loc`` inside ``model`` (list items and dict values stepped into)."""
    annotation: Any = model
    for part in loc:
        annotation = _without_none(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            field = annotation.model_fields.get(str(part))
            if field is None:
                return []
            annotation = field.annotation
        elif typing.get_origin(annotation) in (list, dict):
            annotation = typing.get_args(annotation)[-1]
        else:
            return []
    annotation = _without_none(annotation)
    return sorted(annotation.model_fields) if isinstance(annotation, type) and issubclass(annotation, BaseModel) else []


def _without_none(annotation: Any) -> Any:
    members = [a for a in typing.get_args(annotation) if a is not type(None)]
    is_optional = type(None) in typing.get_args(annotation) and len(members) == 1
    return members[0] if is_optional else annotation


def display_path(path: Path, root: Path | None = None) -> str:
    """A use-case file as people name it: relative to the folder that holds ``root`` (the repository for
    usecases/); ``root`` defaults to the folder of use cases the file sits in (``<root>/<id>/<file>``)."""
    folder = root if root is not None else path.resolve().parent.parent
    try:
        return str(path.resolve().relative_to(folder.resolve().parent))
    except ValueError:
        return str(path)
