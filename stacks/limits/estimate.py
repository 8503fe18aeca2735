"""The longest length a template value can take once deployed, every token and intrinsic resolved.

A limit is checked before anything deploys, so a value that is still a token (a name, an ARN, another
stack's output) is counted at the longest value it can resolve to (stacks/limits/token_lengths.py).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from stacks.limits.token_lengths import (
    DYNAMIC_REFERENCE,
    PARAMETER_VALUE,
    PSEUDO,
    RESOLVE_REFERENCE,
    RESOLVED,
    UNKNOWN_TOKEN,
    arn,
)

# The placeholders of a `Resolved` pattern.
_PLACEHOLDER = re.compile(r"\{(name|partition|region|account|urlsuffix|n:\d+|prop:[A-Za-z]+\|[^}]*)\}")
_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


@dataclass(frozen=True)
class Estimate:
    """The longest length a value can resolve to, and the tokens counted at `UNKNOWN_TOKEN`."""

    length: int
    unknown: tuple[str, ...] = ()

    def __add__(self, other: Estimate) -> Estimate:
        return Estimate(self.length + other.length, self.unknown + other.unknown)


ZERO = Estimate(0)


def delimiters(items: int) -> Estimate:
    """The brackets (or braces) of a JSON list (or object) of ``items`` items, and the commas between them."""
    return Estimate(2 + max(items - 1, 0))


def _literal_length(text: str, level: int) -> int:
    """Bytes of ``text`` escaped as JSON string content ``level`` times (0: as it is)."""
    for _ in range(level):
        text = json.dumps(text)[1:-1]
    return len(text.encode())


def _around(
    pattern: re.Pattern[str],
    text: str,
    literal: Callable[[str], Estimate],
    matched: Callable[[re.Match[str]], Estimate],
) -> Estimate:
    """``literal`` of the text between the matches of ``pattern`` plus ``matched`` of each match."""
    total = ZERO
    position = 0
    for match in pattern.finditer(text):
        total = total + literal(text[position : match.start()]) + matched(match)
        position = match.end()
    return total + literal(text[position:])


@dataclass
class Templates:
    """Every template of an assembly by stack name, and the longest resolved length of any of their values.

    ``level`` counts how many JSON strings a value sits in (an environment variable's value is in one, as
    Lambda measures them): literal text is escaped that many times; resolved tokens (names, ARNs, ids)
    never need escaping.
    """

    stacks: Mapping[str, Mapping[str, Any]]
    _depth: int = 0

    def estimate(self, value: Any, stack: str, level: int = 0) -> Estimate:
        """Bytes ``value`` takes once deployed, as text nested ``level`` JSON strings deep."""
        if isinstance(value, str):
            return self._string(value, level)
        if isinstance(value, bool | int | float):
            return Estimate(len(json.dumps(value)))
        if isinstance(value, dict) and len(value) == 1:
            ((function, argument),) = value.items()
            handler = _INTRINSICS.get(function)
            if handler is not None:
                return handler(self, argument, stack, level)
        if isinstance(value, dict | list):
            return self.json_size(value, stack, level)
        return Estimate(UNKNOWN_TOKEN, (f"{value!r}",))

    def json_size(self, value: Any, stack: str, level: int = 0) -> Estimate:
        """Bytes of ``value`` serialized as compact JSON, every token at its longest."""
        if isinstance(value, dict) and not (len(value) == 1 and next(iter(value)) in _INTRINSICS):
            total = delimiters(len(value))
            for key, item in value.items():
                total = (
                    total + Estimate(_literal_length(json.dumps(key), level) + 1) + self.json_size(item, stack, level)
                )
            return total
        if isinstance(value, list):
            total = delimiters(len(value))
            for item in value:
                total = total + self.json_size(item, stack, level)
            return total
        if isinstance(value, str | dict):  # a string, or a token that resolves to one: quoted
            return Estimate(2 * _literal_length('"', level)) + self.estimate(value, stack, level + 1)
        return Estimate(len(json.dumps(value)))

    def _string(self, text: str, level: int) -> Estimate:
        return _around(
            RESOLVE_REFERENCE,
            text,
            lambda literal: Estimate(_literal_length(literal, level)),
            lambda reference: Estimate(DYNAMIC_REFERENCE.get(reference.group(1), UNKNOWN_TOKEN)),
        )

    # ------------------------------------------------------------------------------------- references

    def ref(self, target: str, stack: str) -> Estimate:
        template = self.stacks.get(stack, {})
        pseudo = {
            **PSEUDO,
            "AWS::StackName": len(stack),
            **dict.fromkeys(template.get("Parameters", {}), PARAMETER_VALUE),
        }
        if target in pseudo:
            return Estimate(pseudo[target])
        if target == "AWS::StackId":
            return self.pattern(arn("cloudformation", "stack/") + stack + "/{n:36}", None, stack)
        resource = template.get("Resources", {}).get(target)
        resolved = RESOLVED.get(resource["Type"]) if resource else None
        if resource is None or resolved is None:
            kind = f" ({resource['Type']})" if resource else ""
            return Estimate(UNKNOWN_TOKEN, (f"Ref {target}{kind}",))
        return self.pattern(resolved.ref, resource, stack)

    def get_att(self, target: str, attribute: str, stack: str) -> Estimate:
        resource = self.stacks.get(stack, {}).get("Resources", {}).get(target)
        if resource is None:
            return Estimate(UNKNOWN_TOKEN, (f"GetAtt {target}.{attribute}",))
        resolved = RESOLVED.get(resource["Type"])
        pattern = resolved.attributes.get(attribute) if resolved else None
        if pattern is None:
            return Estimate(UNKNOWN_TOKEN, (f"GetAtt {target}.{attribute} ({resource['Type']})",))
        return self.pattern(pattern, resource, stack)

    def pattern(self, pattern: str, resource: Mapping[str, Any] | None, stack: str) -> Estimate:
        """The longest value a `Resolved` pattern takes for ``resource`` (its properties fill the placeholders)."""
        return _around(
            _PLACEHOLDER,
            pattern,
            lambda literal: Estimate(len(literal)),
            lambda placeholder: self._placeholder(placeholder.group(1), resource, stack),
        )

    def _placeholder(self, placeholder: str, resource: Mapping[str, Any] | None, stack: str) -> Estimate:
        if placeholder.startswith("n:"):
            return Estimate(int(placeholder[2:]))
        if placeholder.startswith("prop:"):
            name, _, default = placeholder[5:].partition("|")
            value = (resource or {}).get("Properties", {}).get(name)
            return Estimate(len(default)) if value is None else self.estimate(value, stack)
        if placeholder == "name":
            assert resource is not None
            resolved = RESOLVED[resource["Type"]]
            value = resource.get("Properties", {}).get(resolved.name_property or "")
            return Estimate(resolved.name_max) if value is None else self.estimate(value, stack)
        key = {"partition": "AWS::Partition", "region": "AWS::Region", "account": "AWS::AccountId"}
        return Estimate(PSEUDO[key.get(placeholder, "AWS::URLSuffix")])

    def stack_output(self, stack: str, output: str) -> Estimate:
        """Another stack's output (weak cross-stack references, `Fn::GetStackOutput`)."""
        template = self.stacks.get(stack)
        value = (template or {}).get("Outputs", {}).get(output, {}).get("Value")
        if value is None or self._depth > 8:
            return Estimate(UNKNOWN_TOKEN, (f"output {output} of {stack}",))
        self._depth += 1
        try:
            return self.estimate(value, stack)
        finally:
            self._depth -= 1

    def export(self, name: Any, stack: str) -> Estimate:
        for producer, template in self.stacks.items():
            for output in template.get("Outputs", {}).values():
                if output.get("Export", {}).get("Name") == name:
                    return self.estimate(output["Value"], producer)
        return Estimate(UNKNOWN_TOKEN, (f"ImportValue {name!r}",))


# ---------------------------------------------------------------------------------------------- intrinsics


def _join(t: Templates, argument: Any, stack: str, level: int) -> Estimate:
    separator, parts = argument
    if not isinstance(parts, list):
        return Estimate(UNKNOWN_TOKEN, ("Fn::Join over a list token",))
    total = Estimate(_literal_length(separator, level) * max(len(parts) - 1, 0))
    for part in parts:
        total = total + t.estimate(part, stack, level)
    return total


def _sub(t: Templates, argument: Any, stack: str, level: int) -> Estimate:
    text, variables = (argument, {}) if isinstance(argument, str) else argument

    def variable(match: re.Match[str]) -> Estimate:
        name = match.group(1)
        if name.startswith("!"):
            return Estimate(_literal_length("${" + name[1:] + "}", level))
        if name in variables:
            return t.estimate(variables[name], stack, level)
        if "." in name and not name.startswith("AWS::"):
            logical, _, attribute = name.partition(".")
            return t.get_att(logical, attribute, stack)
        return t.ref(name, stack)

    return _around(_SUB_VARIABLE, text, lambda literal: t.estimate(literal, stack, level), variable)


def _select(t: Templates, argument: Any, stack: str, level: int) -> Estimate:
    index, items = argument
    if isinstance(items, list) and isinstance(index, int) and 0 <= index < len(items):
        return t.estimate(items[index], stack, level)
    if isinstance(items, list):
        return max((t.estimate(item, stack, level) for item in items), key=_length, default=ZERO)
    if isinstance(items, dict) and "Fn::Split" in items:  # a piece is never longer than the whole
        return t.estimate(items["Fn::Split"][1], stack, level)
    if isinstance(items, dict) and "Fn::GetAZs" in items:
        return Estimate(PSEUDO["AWS::Region"] + 1)
    return Estimate(UNKNOWN_TOKEN, (f"Fn::Select over {json.dumps(items)[:60]}",))


def _if(t: Templates, argument: Any, stack: str, level: int) -> Estimate:
    _, when_true, when_false = argument
    return max(t.estimate(when_true, stack, level), t.estimate(when_false, stack, level), key=_length)


def _length(estimate: Estimate) -> int:
    return estimate.length


def _find_in_map(t: Templates, argument: Any, stack: str, level: int) -> Estimate:
    name, first, second = argument
    mapping = t.stacks.get(stack, {}).get("Mappings", {}).get(name, {})
    candidates = [
        values[second] if isinstance(second, str) and second in values else v
        for key, values in mapping.items()
        if not isinstance(first, str) or key == first
        for v in ([values[second]] if isinstance(second, str) and second in values else values.values())
    ]
    if not candidates:
        return Estimate(UNKNOWN_TOKEN, (f"Fn::FindInMap {name}",))
    return max((t.estimate(c, stack, level) for c in candidates), key=_length)


def _get_stack_output(t: Templates, argument: Any, stack: str, level: int) -> Estimate:
    producer, output = argument.get("StackName"), argument.get("OutputName")
    if not isinstance(producer, str) or not isinstance(output, str):
        return Estimate(UNKNOWN_TOKEN, ("Fn::GetStackOutput with a token for its stack or output",))
    return t.stack_output(producer, output)


def _target(argument: Any) -> tuple[str, str]:
    """(logical id, attribute) of a GetAtt, in either of its forms."""
    logical, attribute = argument.split(".", 1) if isinstance(argument, str) else argument
    return str(logical), str(attribute)


def _base64(t: Templates, argument: Any, stack: str, level: int) -> Estimate:
    inner = t.estimate(argument, stack)
    return Estimate(4 * math.ceil(inner.length / 3), inner.unknown)


_INTRINSICS: dict[str, Callable[[Templates, Any, str, int], Estimate]] = {
    "Ref": lambda t, a, s, e: t.ref(a, s),
    "Fn::GetAtt": lambda t, a, s, e: t.get_att(*_target(a), s),
    "Fn::Join": _join,
    "Fn::Sub": _sub,
    "Fn::Select": _select,
    "Fn::If": _if,
    "Fn::FindInMap": _find_in_map,
    "Fn::GetStackOutput": _get_stack_output,
    "Fn::ImportValue": lambda t, a, s, e: t.export(a, s),
    "Fn::Base64": _base64,
    "Fn::ToJsonString": lambda t, a, s, e: t.json_size(a, s, e),
    "Fn::GetAZs": lambda t, a, s, e: Estimate(2 + 4 * (PSEUDO["AWS::Region"] + 3)),
    "Fn::Length": lambda t, a, s, e: Estimate(10),
}


def literal_parts(value: Any) -> list[str]:
    """The literal text of a string value (the strings of a Join or Sub, not what the tokens resolve to)."""
    if isinstance(value, str):
        return [RESOLVE_REFERENCE.sub("", value)]
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        joined = [separator] if isinstance(parts, list) and len(parts) > 1 else []
        return joined + [text for part in (parts if isinstance(parts, list) else []) for text in literal_parts(part)]
    if isinstance(value, dict) and "Fn::Sub" in value:
        argument = value["Fn::Sub"]
        text = argument if isinstance(argument, str) else argument[0]
        return [_SUB_VARIABLE.sub("", text)]
    return []
