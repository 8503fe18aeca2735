"""The tables of docs/limits.md, generated from the registry and the token lengths so they cannot drift."""

from __future__ import annotations

from stacks.limits.estimate import Templates
from stacks.limits.service_limits import RULES
from stacks.limits.token_lengths import DYNAMIC_REFERENCE, PARAMETER_VALUE, PSEUDO, RESOLVED, UNKNOWN_TOKEN


def rules_table() -> list[str]:
    """Every rule: what it measures, the limit, hard limit or quota."""
    rows = ["| service | limit | maximum | kind | measured on |", "|---|---|---|---|---|"]
    for rule in RULES:
        limit = rule.limit
        bounds = f"{limit.minimum:,}-{limit.maximum:,}" if limit.minimum else f"{limit.maximum:,}"
        kind = f"quota: {limit.quota.service} '{limit.quota.name}'" if limit.quota else "hard limit"
        words = getattr(rule, "words", "")
        what = limit.what + (f" ({words})" if words else "")
        rows.append(f"| {limit.service} | {_cell(what)} | {bounds} {limit.unit} | {kind} | {rule.measured_on()} |")
    return rows


def tokens_table() -> list[str]:
    """The longest value each token resolves to."""
    rows = ["| token | resolves to | longest |", "|---|---|---|"]
    rows += [f"| `Ref {name}` | | {length} |" for name, length in PSEUDO.items()]
    rows.append("| `Ref AWS::StackName` | the stack's name | as synthesized |")
    rows.append(f"| `Ref` of a template parameter | its value | {PARAMETER_VALUE:,} |")
    rows += [
        f"| `{{{{resolve:{service}:...}}}}` | the stored value | {n:,} |" for service, n in DYNAMIC_REFERENCE.items()
    ]
    empty = Templates({})
    for resource_type, resolved in RESOLVED.items():
        resource = {"Type": resource_type, "Properties": {}}
        for label, pattern in (("Ref", resolved.ref), *((f"GetAtt {a}", p) for a, p in resolved.attributes.items())):
            longest = empty.pattern(pattern, resource, "stack").length
            rows.append(f"| `{label}` of `{resource_type}` | `{_cell(pattern)}` | {longest:,} |")
    rows.append(f"| anything else | (named in the message) | {UNKNOWN_TOKEN:,} |")
    return rows


def _cell(text: str) -> str:
    return text.replace("|", "\\|")
