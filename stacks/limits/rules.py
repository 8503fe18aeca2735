"""The kinds of limit a template can break, each a `Rule` that yields one violation per resource or stack.

A `Limit` says whose limit it is and whether it is a hard limit or an account quota, so each message
can say how to raise a quota. The measures give the deployed size of the properties services meter.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from stacks.limits.estimate import ZERO, Estimate, Templates, delimiters, literal_parts
from stacks.limits.token_lengths import UNKNOWN_TOKEN


@dataclass(frozen=True)
class Quota:
    """A limit of the account rather than of the API: Service Quotas raises it on request."""

    service: str  # as the Service Quotas console names it
    service_code: str
    name: str
    code: str = "<code>"  # the quota code where AWS documents it
    otherwise: str = ""  # the alternative to asking for more

    def how_to_raise(self) -> str:
        lookup = (
            ""
            if self.code.startswith("L-")
            else (f"; the code from `aws service-quotas list-service-quotas --service-code {self.service_code}`")
        )
        return (
            f"{self.service} quota '{self.name}', not a hard limit: request more in the Service Quotas console "
            f"or with `aws service-quotas request-service-quota-increase --service-code {self.service_code} "
            f"--quota-code {self.code} --desired-value <n>`{lookup}{self.otherwise}"
        )


@dataclass(frozen=True)
class Limit:
    """One documented limit: whose it is, the maximum (and minimum), the unit, and hard limit or quota."""

    service: str
    what: str
    maximum: int
    unit: str
    minimum: int = 0
    quota: Quota | None = None

    @property
    def kind(self) -> str:
        return "quota" if self.quota else "hard limit"

    def over(self, value: int, note: str = "") -> str:
        """'<value> <unit>, over <service>'s maximum of <maximum> (<hard limit, or how to raise the quota>)'."""
        source = self.quota.how_to_raise() if self.quota else "a hard limit"
        return f"{value:,} {self.unit}{note}, over {self.service}'s maximum of {self.maximum:,} ({source})"

    def under(self, value: int) -> str:
        return f"{value:,} {self.unit}, under {self.service}'s minimum of {self.minimum:,} (a hard limit)"


@dataclass(frozen=True)
class Stack:
    """One synthesized template and what the checks read of it."""

    name: str
    template: Mapping[str, Any]
    size: int  # bytes of the template file, as uploaded

    def resources(self, resource_type: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
        for logical_id, resource in self.template.get("Resources", {}).items():
            if resource.get("Type") == resource_type:
                yield logical_id, resource

    def values(self, resource_type: str, prop: str) -> Iterator[tuple[str, Any]]:
        """(logical id, value) of ``prop`` on each resource of ``resource_type`` that sets it."""
        for logical_id, resource in self.resources(resource_type):
            value = resource.get("Properties", {}).get(prop)
            if value is not None:
                yield logical_id, value

    def where(self, logical_id: str | None = None, resource_type: str = "") -> str:
        return f"{self.name}/{logical_id} ({resource_type})" if logical_id else self.name


@dataclass(frozen=True)
class Violation:
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


def _unknown_note(estimate: Estimate) -> str:
    if not estimate.unknown:
        return ""
    listed = ", ".join(estimate.unknown[:3]) + (", ..." if len(estimate.unknown) > 3 else "")
    return (
        f" (counting {len(estimate.unknown)} token(s) of unknown length at {UNKNOWN_TOKEN:,} each: {listed}; "
        "add their type to RESOLVED in stacks/limits/token_lengths.py)"
    )


def _size_message(limit: Limit, estimate: Estimate) -> str:
    """A size past ``limit``, measured with every token at its longest (and those of unknown length named)."""
    note = " once every token resolves at its longest" + _unknown_note(estimate)
    return f"{limit.what}: {limit.over(estimate.length, note)}"


class Rule:
    """A check of one kind of limit; `check` yields one violation per resource or stack over it."""

    limit: Limit

    def measured_on(self) -> str:
        """What the rule measures, for docs/limits.md."""
        raise NotImplementedError

    def check(self, stack: Stack, templates: Templates) -> Iterator[Violation]:
        raise NotImplementedError


@dataclass(frozen=True)
class ResourceRule(Rule):
    """A limit on one property of one resource type."""

    resource_type: str
    prop: str
    limit: Limit

    def measured_on(self) -> str:
        return f"`{self.resource_type}` `{self.prop}`"

    def where(self, stack: Stack, logical_id: str) -> str:
        return stack.where(logical_id, self.resource_type)


@dataclass(frozen=True)
class PropertyRule(ResourceRule):
    """A string property's length (names, descriptions, instructions), with its allowed form."""

    pattern: str | None = None  # the whole literal value must match
    words: str = ""  # what the pattern means, in the error
    charset: str | None = None  # every literal character of a value with tokens must be in this class

    def check(self, stack: Stack, templates: Templates) -> Iterator[Violation]:
        for logical_id, value in stack.values(self.resource_type, self.prop):
            where = self.where(stack, logical_id)
            what = f"{self.prop} '{value}'" if isinstance(value, str) and len(value) <= 100 else self.prop
            estimate = templates.estimate(value, stack.name)
            if estimate.length > self.limit.maximum:
                yield Violation(where, f"{what}: {self.limit.over(estimate.length, _unknown_note(estimate))}")
            elif isinstance(value, str) and len(value) < self.limit.minimum:
                yield Violation(where, f"{what}: {self.limit.under(len(value))}")
            elif isinstance(value, str) and self.pattern and not re.fullmatch(self.pattern, value):
                yield Violation(where, f"{what}: must be {self.words} ({self.limit.service}; a hard limit)")
            elif not isinstance(value, str) and self.charset:
                bad = sorted({c for part in literal_parts(value) for c in part if not re.fullmatch(self.charset, c)})
                if bad:
                    yield Violation(
                        where, f"{what}: {''.join(bad)!r} not allowed: must be {self.words} ({self.limit.service})"
                    )


@dataclass(frozen=True)
class ItemsRule(ResourceRule):
    """How many items a list property holds (layers of a function, variants of a prompt)."""

    def check(self, stack: Stack, templates: Templates) -> Iterator[Violation]:
        for logical_id, value in stack.values(self.resource_type, self.prop):
            if isinstance(value, list) and len(value) > self.limit.maximum:
                yield Violation(self.where(stack, logical_id), f"{self.prop}: {self.limit.over(len(value))}")


@dataclass(frozen=True)
class SizeRule(ResourceRule):
    """The deployed size of a property (an environment, a definition, a policy document) in bytes."""

    measure: Callable[[Any, Templates, str], Estimate]
    description: str = ""  # what is measured, where more than the property

    def measured_on(self) -> str:
        return self.description or super().measured_on()

    def check(self, stack: Stack, templates: Templates) -> Iterator[Violation]:
        for logical_id, value in stack.values(self.resource_type, self.prop):
            estimate = self.measure(value, templates, stack.name)
            if estimate.length > self.limit.maximum:
                yield Violation(self.where(stack, logical_id), _size_message(self.limit, estimate))


@dataclass(frozen=True)
class RolePoliciesRule(Rule):
    """The inline policies of one role together (its `Policies` and every `AWS::IAM::Policy` naming it)."""

    limit: Limit

    def measured_on(self) -> str:
        return "`AWS::IAM::Role` inline policies together (`Policies` and each `AWS::IAM::Policy` on it)"

    def check(self, stack: Stack, templates: Templates) -> Iterator[Violation]:
        sizes: dict[str, Estimate] = {}
        for logical_id, role in stack.resources("AWS::IAM::Role"):
            sizes[logical_id] = ZERO
            for policy in role.get("Properties", {}).get("Policies", []):
                sizes[logical_id] = sizes[logical_id] + policy_size(policy.get("PolicyDocument"), templates, stack.name)
        for _, policy in stack.resources("AWS::IAM::Policy"):
            document = policy_size(policy.get("Properties", {}).get("PolicyDocument"), templates, stack.name)
            for role in policy.get("Properties", {}).get("Roles", []):
                if isinstance(role, dict) and role.get("Ref") in sizes:
                    sizes[role["Ref"]] = sizes[role["Ref"]] + document
        for logical_id, estimate in sizes.items():
            if estimate.length > self.limit.maximum:
                yield Violation(stack.where(logical_id, "AWS::IAM::Role"), _size_message(self.limit, estimate))


@dataclass(frozen=True)
class TemplateRule(Rule):
    """A measure of the whole template (resources, outputs, its size)."""

    limit: Limit
    measure: Callable[[Stack], int]
    description: str

    def measured_on(self) -> str:
        return self.description

    def check(self, stack: Stack, templates: Templates) -> Iterator[Violation]:
        value = self.measure(stack)
        if value > self.limit.maximum:
            yield Violation(stack.where(), f"{self.limit.what}: {self.limit.over(value)}")


@dataclass(frozen=True)
class StackNameRule(Rule):
    limit: Limit

    def measured_on(self) -> str:
        return "stack name"

    def check(self, stack: Stack, templates: Templates) -> Iterator[Violation]:
        if len(stack.name) > self.limit.maximum:
            yield Violation(stack.where(), f"{self.limit.what}: {self.limit.over(len(stack.name))}")
        elif not re.fullmatch(r"[A-Za-z][A-Za-z0-9-]*", stack.name):
            yield Violation(stack.where(), "stack name must be letters, digits and hyphens, starting with a letter")


# ---------------------------------------------------------------------------------------------------- measures


def environment_size(environment: Any, templates: Templates, stack: str) -> Estimate:
    """Bytes Lambda counts for a function's environment: its variables as compact JSON (Lambda's error shows
    the "String measured", e.g. {"KEY":"value"}), every token at its longest resolved length."""
    variables = environment.get("Variables", {}) if isinstance(environment, dict) else {}
    if not isinstance(variables, dict):
        return Estimate(UNKNOWN_TOKEN, ("Environment.Variables token",))
    total = delimiters(len(variables))
    for name, value in variables.items():
        total = total + Estimate(len(json.dumps(name)) + 1 + 2) + templates.estimate(value, stack, 1)
    return total


def definition_size(definition: Any, templates: Templates, stack: str) -> Estimate:
    """Bytes of a state machine's Amazon States Language definition once its tokens resolve."""
    return templates.estimate(definition, stack)


def policy_size(document: Any, templates: Templates, stack: str) -> Estimate:
    """Characters of a policy document as compact JSON (IAM does not count white space; this is an upper bound)."""
    if document is None:
        return ZERO
    if isinstance(document, str):
        return Estimate(len(document))
    return templates.json_size(document, stack)
