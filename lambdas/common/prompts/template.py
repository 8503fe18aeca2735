"""`{{variable}}` templates: Bedrock Prompt Management's own syntax for TEXT and CHAT prompts.

One parser serves synth and runtime: the Prompts stack checks every template of prompts.yaml with
`placeholders` (an unknown or unused variable is a config error), and `render` fills a template strictly at
run time (a missing value is an error, never an empty string sent to the model).

A placeholder is exactly ``{{name}}``: a lowercase letter, then letters, digits and single underscores (the form
Bedrock's input variables accept, ``([0-9a-zA-Z][_-]?){1,100}``, narrowed to one spelling). Anything else
between double braces, or a ``{{`` that is never closed, is malformed: it would reach the model verbatim.
Single braces are plain text (JSON in a few-shot example is fine).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

VARIABLE_PATTERN = r"^[a-z](?:_?[a-z0-9])*$"
MAX_VARIABLE = 40

_VARIABLE = re.compile(VARIABLE_PATTERN)
_PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}", re.S)


class TemplateError(ValueError):
    """A template that cannot be parsed or rendered; the message names the placeholder."""


def is_variable_name(name: str) -> bool:
    return len(name) <= MAX_VARIABLE and _VARIABLE.match(name) is not None


def placeholders(template: str) -> list[str]:
    """The variable names of ``template`` in order of first use, each once; `TemplateError` on a malformed one."""
    names: list[str] = []
    for match in _PLACEHOLDER.finditer(template):
        name = match.group(1)
        if not is_variable_name(name):
            raise TemplateError(
                f"malformed placeholder {{{{{name}}}}}: write {{{{name}}}} with a lowercase letter first, then "
                f"lowercase letters, digits and single underscores (at most {MAX_VARIABLE} characters), no spaces"
            )
        if name not in names:
            names.append(name)
    rest = _PLACEHOLDER.sub("", template)
    if "{{" in rest:
        raise TemplateError("a `{{` is never closed with `}}`")
    return names


def render(template: str, variables: Mapping[str, str]) -> str:
    """``template`` with every placeholder replaced by its value; `TemplateError` naming each missing one.

    Values are inserted as they are: a value holding ``{{x}}`` is not expanded again (one pass).
    """
    missing = [name for name in placeholders(template) if name not in variables]
    if missing:
        raise TemplateError(f"no value for {', '.join(missing)}")
    return _PLACEHOLDER.sub(lambda m: str(variables[m.group(1)]), template)
