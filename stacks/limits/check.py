"""The check the app runs after the nag gate: every rule on every template of a cloud assembly."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from stacks.assembly import stack_artifacts
from stacks.limits.estimate import Templates
from stacks.limits.rules import Rule, Stack, Violation, environment_size
from stacks.limits.service_limits import RULES


class LimitsError(Exception):
    """Templates past deploy-time limits: one line per problem (resource, limit, value)."""

    def __init__(self, violations: Sequence[Violation]) -> None:
        self.violations = list(violations)
        super().__init__("\n".join(str(v) for v in self.violations))


def _templates(stacks: Sequence[Stack]) -> Templates:
    """The stacks' templates together, so each resolves the others' outputs."""
    return Templates({s.name: s.template for s in stacks})


def check_templates(stacks: Sequence[Stack], rules: Sequence[Rule] = RULES) -> list[Violation]:
    """Every violation of ``rules`` in ``stacks`` (which resolve each other's outputs)."""
    templates = _templates(stacks)
    return [violation for stack in stacks for rule in rules for violation in rule.check(stack, templates)]


def assembly_stacks(outdir: Path) -> list[Stack]:
    """Every stack template of the cloud assembly in ``outdir``, including those nested in stages."""
    stacks = []
    for artifact in stack_artifacts(outdir):
        data = artifact.template.read_bytes()
        stacks.append(Stack(artifact.name, json.loads(data), len(data)))
    return stacks


def check_limits(outdir: Path) -> None:
    """Raise `LimitsError` if any template of the assembly in ``outdir`` is past a deploy-time limit."""
    violations = check_templates(assembly_stacks(outdir))
    if violations:
        raise LimitsError(violations)


def environment_sizes(stacks: Sequence[Stack]) -> dict[tuple[str, str], int]:
    """(stack, logical id) -> the longest resolved size of each function's environment, in bytes."""
    templates = _templates(stacks)
    return {
        (stack.name, logical_id): environment_size(
            resource.get("Properties", {}).get("Environment", {}), templates, stack.name
        ).length
        for stack in stacks
        for logical_id, resource in stack.resources("AWS::Lambda::Function")
    }
