"""cfn-lint for the tests, its rules loaded once per process.

``cfnlint.api.lint`` loads every rule module again on each call (about 0.5 s); the suite lints some twenty
templates, so the rules collection is built once and passed in, as ``lint`` itself allows.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from cfnlint.api import ManualArgs, lint
from cfnlint.config import ConfigMixIn
from cfnlint.rules import Match, RulesCollection
from cfnlint.runner import Runner

from tools.iam_check import FRAMEWORK_PROVIDERS

REGIONS = ("us-east-1", "eu-west-1")


@cache
def _rules(regions: tuple[str, ...]) -> RulesCollection:
    rules: RulesCollection = Runner(ConfigMixIn(regions=list(regions))).rules
    return rules


def lint_template(template: dict[str, Any], regions: tuple[str, ...] = REGIONS) -> list[Match]:
    """Every cfn-lint match of ``template`` in ``regions``."""
    return lint(
        json.dumps(template), rules=_rules(regions), regions=list(regions), config=ManualArgs(regions=list(regions))
    )


def problems(template: dict[str, Any], regions: tuple[str, ...] = REGIONS) -> list[str]:
    """The matches as ``rule message @ path``, without those on CDK's own framework providers (not the kit's
    code: W3005 on their DependsOn)."""
    return [
        f"{m.rule.id} {m.message} @ {'/'.join(map(str, m.path))}"
        for m in lint_template(template, regions)
        if not (len(m.path) > 1 and str(m.path[1]).startswith(FRAMEWORK_PROVIDERS))
    ]
