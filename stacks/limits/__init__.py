"""Deploy-time limits, checked on the synthesized templates before anything is published.

Synth succeeds on templates that CloudFormation or a service would reject only at `cdk deploy`: a
function environment over Lambda's 4 KB, a rule name over 64 characters, a stack over 500 resources.
`check_limits(assembly)` reads every template of a cloud assembly and applies `RULES`, a registry of
limits: each knows the resource type and property it measures, the maximum, and whether it is a hard
limit of the service or an account quota that can be raised (the message then says how). The app
runs it after the nag gate (stacks/synth_gate.py); a violation is one line naming the stack, the
resource, the limit and the value.

Values that are tokens until deployment (a bucket name, an ARN, another stack's output) are counted at
the longest value they can resolve to: `RESOLVED` gives each resource type's `Ref` and `GetAtt`
values as a pattern over its name (the literal name when the template sets one, else the service's
maximum) and the pseudo parameters (`PSEUDO`). A token the table does not know counts as 2,048
characters (the longest ARN) and the message says so, so an estimate is never silently short.
docs/limits.md lists both tables (`make docs` generates it).

cdk.json turns off aws-cdk-lib's own resource count (`@aws-cdk/core:stackResourceLimit: 0`), which throws
in the middle of synth with a stack trace; the "resources" rule here checks the same 500 with a clean line.

The modules, each importing only those above it:
  token_lengths   the longest value of each token (`PSEUDO`, `RESOLVED`, dynamic references)
  estimate        `Templates.estimate`: a value's longest resolved length, intrinsics and all
  rules           `Limit`, `Quota`, `Stack`, the kinds of `Rule`, and the measures (environment, policy)
  service_limits  `RULES`: the registry, each service's numbers
  check           `check_limits` and `check_templates`, as the app and the tests run them
  reference       the tables of docs/limits.md
"""

from stacks.limits.check import LimitsError, assembly_stacks, check_limits, check_templates, environment_sizes
from stacks.limits.estimate import Templates
from stacks.limits.reference import rules_table, tokens_table
from stacks.limits.rules import ItemsRule, PropertyRule, Stack, environment_size
from stacks.limits.service_limits import (
    LAMBDA_ENVIRONMENT_BYTES,
    RESOURCES_PER_STACK,
    RULES,
    STATE_MACHINE_DEFINITION_BYTES,
    TEMPLATE_BYTES,
)
from stacks.limits.token_lengths import PSEUDO, UNKNOWN_TOKEN

__all__ = [
    "LAMBDA_ENVIRONMENT_BYTES",
    "PSEUDO",
    "RESOURCES_PER_STACK",
    "RULES",
    "STATE_MACHINE_DEFINITION_BYTES",
    "TEMPLATE_BYTES",
    "UNKNOWN_TOKEN",
    "ItemsRule",
    "LimitsError",
    "PropertyRule",
    "Stack",
    "Templates",
    "assembly_stacks",
    "check_limits",
    "check_templates",
    "environment_size",
    "environment_sizes",
    "rules_table",
    "tokens_table",
]
