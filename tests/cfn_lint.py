"""cfn-lint for the tests, its rules loaded once per process.

``cfnlint.api.lint`` loads every rule module again on each call (about 0.6 s): it reuses the rules it is given only
when they are a ``RulesCollection``, and the runner builds a ``Rules`` (cfn-lint 1.51). The suite lints some forty
templates, so the rules are built once and the template runs through the runner ``lint`` itself calls, decoded by
cfn-lint's JSON decoder (``decode_str`` parses JSON as YAML first, several times slower on a large template).
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from cfnlint.config import ConfigMixIn
from cfnlint.decode import cfn_json
from cfnlint.rules import Match, Rules
from cfnlint.runner import Runner, run_template_by_data

from tools.iam_check import FRAMEWORK_PROVIDERS

REGIONS = ("us-east-1", "eu-west-1")
PROVIDER_DEPENDS_ON = "W3005"  # a DependsOn a Ref or GetAtt already enforces


@cache
def _runner(regions: tuple[str, ...]) -> tuple[ConfigMixIn, Rules]:
    config = ConfigMixIn(regions=list(regions))
    return config, Runner(config).rules


def lint_template(template: dict[str, Any], regions: tuple[str, ...] = REGIONS) -> list[Match]:
    """Every cfn-lint match of ``template`` in ``regions``."""
    config, rules = _runner(regions)
    return list(run_template_by_data(cfn_json.loads(json.dumps(template)), config, rules))


def problems(template: dict[str, Any], regions: tuple[str, ...] = REGIONS) -> list[str]:
    """The matches as ``rule message @ path``, without W3005 on the DependsOn of CDK's own framework providers
    (not the kit's code; every other finding on them is kept)."""
    return [
        f"{m.rule.id} {m.message} @ {'/'.join(map(str, m.path))}"
        for m in lint_template(template, regions)
        if not (m.rule.id == PROVIDER_DEPENDS_ON and len(m.path) > 1 and str(m.path[1]).startswith(FRAMEWORK_PROVIDERS))
    ]
