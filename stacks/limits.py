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

A later stage adds its limits as one more entry of `RULES`: Bedrock agent instructions and prompt
variants are registered already and apply as soon as a stack defines such a resource.

cdk.json turns off aws-cdk-lib's own resource count (`@aws-cdk/core:stackResourceLimit: 0`), which throws
in the middle of synth with a stack trace; the "resources" rule here checks the same 500 with a clean line.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# ---------------------------------------------------------------------------------------------------
# Longest resolved values of tokens
# ---------------------------------------------------------------------------------------------------

# Pseudo parameters. Region and partition leave room above today's longest (us-isof-south-1: 15,
# aws-us-gov: 10); URL suffix: amazonaws.com.cn.
PSEUDO: dict[str, int] = {
    "AWS::AccountId": 12,
    "AWS::Region": 20,
    "AWS::Partition": 10,
    "AWS::URLSuffix": 16,
    "AWS::NoValue": 0,
}
# A token nothing here describes: counted as the longest ARN (IAM's 2,048), and reported.
UNKNOWN_TOKEN = 2048
# A CloudFormation parameter value is at most 4,096 bytes.
PARAMETER_VALUE = 4096
# `{{resolve:<service>:...}}` dynamic references: the longest value each service stores.
DYNAMIC_REFERENCE = {"ssm": 4096, "ssm-secure": 4096, "secretsmanager": 65_536}
_DYNAMIC = re.compile(r"\{\{resolve:([a-z-]+):[^}]*\}\}")

_ARN = "arn:{partition}:{service}:{region}:{account}:"


def _arn(service: str, rest: str) -> str:
    return _ARN.replace("{service}", service) + rest


@dataclass(frozen=True)
class Resolved:
    """What `Ref` and `Fn::GetAtt` of one resource type resolve to, as patterns.

    In a pattern, ``{name}`` is the resource's name (``name_property`` when the template sets it, else
    ``name_max`` characters), ``{partition}``, ``{region}``, ``{account}`` and ``{urlsuffix}`` are the
    pseudo parameters, ``{n:N}`` stands for N characters (an id of fixed length) and ``{prop:P|d}`` for
    the resource's property P (default d).
    """

    name_property: str | None
    name_max: int
    ref: str
    attributes: Mapping[str, str] = field(default_factory=dict)
    ref_note: str = ""


def _named(name_property: str, name_max: int, ref: str, **attributes: str) -> Resolved:
    return Resolved(name_property, name_max, ref, attributes)


RESOLVED: dict[str, Resolved] = {
    "AWS::S3::Bucket": _named(
        "BucketName",
        63,
        "{name}",
        Arn="arn:{partition}:s3:::{name}",
        DomainName="{name}.s3.{urlsuffix}",
        RegionalDomainName="{name}.s3.{region}.{urlsuffix}",
        DualStackDomainName="{name}.s3.dualstack.{region}.{urlsuffix}",
        WebsiteURL="http://{name}.s3-website.{region}.{urlsuffix}",
    ),
    "AWS::DynamoDB::Table": _named(
        "TableName",
        255,
        "{name}",
        Arn=_arn("dynamodb", "table/{name}"),
        StreamArn=_arn("dynamodb", "table/{name}/stream/{n:23}"),
    ),
    "AWS::SecretsManager::Secret": _named(
        "Name", 512, _arn("secretsmanager", "secret:{name}-{n:6}"), Id=_arn("secretsmanager", "secret:{name}-{n:6}")
    ),
    "AWS::Lambda::Function": _named("FunctionName", 64, "{name}", Arn=_arn("lambda", "function:{name}")),
    "AWS::Lambda::LayerVersion": _named(
        "LayerName", 140, _arn("lambda", "layer:{name}:{n:10}"), LayerVersionArn=_arn("lambda", "layer:{name}:{n:10}")
    ),
    "AWS::Lambda::EventSourceMapping": _named("", 0, "{n:36}", EventSourceMappingArn=_arn("lambda", "{n:48}")),
    "AWS::SQS::Queue": _named(
        "QueueName",
        80,
        "https://sqs.{region}.{urlsuffix}/{account}/{name}",
        Arn=_arn("sqs", "{name}"),
        QueueName="{name}",
        QueueUrl="https://sqs.{region}.{urlsuffix}/{account}/{name}",
    ),
    "AWS::SNS::Topic": _named(
        "TopicName", 256, _arn("sns", "{name}"), TopicArn=_arn("sns", "{name}"), TopicName="{name}"
    ),
    "AWS::StepFunctions::StateMachine": _named(
        "StateMachineName",
        80,
        _arn("states", "stateMachine:{name}"),
        Arn=_arn("states", "stateMachine:{name}"),
        Name="{name}",
    ),
    # A rule on a custom bus resolves to "<bus>|<rule>"; its ARN names the bus (at most 256 characters).
    "AWS::Events::Rule": _named("Name", 64, "{n:256}|{name}", Arn=_arn("events", "rule/{n:256}/{name}")),
    "AWS::Events::EventBus": _named("Name", 256, "{name}", Arn=_arn("events", "event-bus/{name}"), Name="{name}"),
    "AWS::KMS::Key": _named("", 0, "{n:36}", Arn=_arn("kms", "key/{n:36}"), KeyId="{n:36}"),
    "AWS::KMS::Alias": _named("AliasName", 256, "{name}"),
    "AWS::Logs::LogGroup": _named("LogGroupName", 512, "{name}", Arn=_arn("logs", "log-group:{name}:*")),
    "AWS::IAM::Role": _named(
        "RoleName", 64, "{name}", Arn="arn:{partition}:iam::{account}:role{prop:Path|/}{name}", RoleId="{n:128}"
    ),
    "AWS::IAM::ManagedPolicy": _named(
        "ManagedPolicyName",
        128,
        "arn:{partition}:iam::{account}:policy{prop:Path|/}{name}",
        PolicyArn="arn:{partition}:iam::{account}:policy{prop:Path|/}{name}",
    ),
    "AWS::IAM::Policy": _named("PolicyName", 128, "{name}"),
    "AWS::CloudTrail::Trail": _named("TrailName", 128, "{name}", Arn=_arn("cloudtrail", "trail/{name}")),
    "AWS::CloudWatch::Alarm": _named("AlarmName", 255, "{name}", Arn=_arn("cloudwatch", "alarm:{name}")),
    "AWS::SSM::Parameter": _named("Name", 2048, "{name}", Value="{n:4096}"),
    "AWS::Bedrock::KnowledgeBase": _named(
        "",
        0,
        "{n:10}",
        KnowledgeBaseId="{n:10}",
        KnowledgeBaseArn=_arn("bedrock", "knowledge-base/{n:10}"),
    ),
    "AWS::Bedrock::DataSource": _named("", 0, "{n:10}|{n:10}", DataSourceId="{n:10}"),
    "AWS::Bedrock::Guardrail": _named(
        "",
        0,
        _arn("bedrock", "guardrail/{n:64}"),
        GuardrailArn=_arn("bedrock", "guardrail/{n:64}"),
        GuardrailId="{n:64}",
        Version="{n:8}",
    ),
    "AWS::Bedrock::GuardrailVersion": _named(
        "", 0, "{n:64}|{n:8}", GuardrailArn=_arn("bedrock", "guardrail/{n:64}"), Version="{n:8}"
    ),
    "AWS::S3Vectors::VectorBucket": _named(
        "VectorBucketName",
        63,
        _arn("s3vectors", "bucket/{name}"),
        VectorBucketArn=_arn("s3vectors", "bucket/{name}"),
    ),
    "AWS::S3Vectors::Index": _named(
        "IndexName",
        63,
        _arn("s3vectors", "bucket/{n:63}/index/{name}"),
        IndexArn=_arn("s3vectors", "bucket/{n:63}/index/{name}"),
    ),
    "AWS::Comprehend::DocumentClassifier": _named(
        "DocumentClassifierName", 63, _arn("comprehend", "document-classifier/{name}/version/{n:63}")
    ),
    "AWS::Comprehend::EntityRecognizer": _named(
        "RecognizerName", 63, _arn("comprehend", "entity-recognizer/{name}/version/{n:63}")
    ),
    "AWS::Comprehend::DocumentClassifierEndpoint": _named(
        "EndpointName", 40, _arn("comprehend", "document-classifier-endpoint/{name}")
    ),
    "AWS::Comprehend::EntityRecognizerEndpoint": _named(
        "EndpointName", 40, _arn("comprehend", "entity-recognizer-endpoint/{name}")
    ),
}
_PLACEHOLDER = re.compile(r"\{(name|partition|region|account|urlsuffix|n:\d+|prop:[A-Za-z]+\|[^}]*)\}")


@dataclass(frozen=True)
class Estimate:
    """The longest length a value can resolve to, and the tokens counted at `UNKNOWN_TOKEN`."""

    length: int
    unknown: tuple[str, ...] = ()

    def __add__(self, other: Estimate) -> Estimate:
        return Estimate(self.length + other.length, self.unknown + other.unknown)


ZERO = Estimate(0)


def _literal_length(text: str, level: int) -> int:
    """Bytes of ``text`` escaped as JSON string content ``level`` times (0: as it is)."""
    for _ in range(level):
        text = json.dumps(text)[1:-1]
    return len(text.encode())


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
            total = Estimate(2 + max(len(value) - 1, 0))  # braces and commas
            for key, item in value.items():
                total = (
                    total + Estimate(_literal_length(json.dumps(key), level) + 1) + self.json_size(item, stack, level)
                )
            return total
        if isinstance(value, list):
            total = Estimate(2 + max(len(value) - 1, 0))
            for item in value:
                total = total + self.json_size(item, stack, level)
            return total
        if isinstance(value, str | dict):  # a string, or a token that resolves to one: quoted
            return Estimate(2 * _literal_length('"', level)) + self.estimate(value, stack, level + 1)
        return Estimate(len(json.dumps(value)))

    def _string(self, text: str, level: int) -> Estimate:
        total = ZERO
        position = 0
        for match in _DYNAMIC.finditer(text):
            total = total + Estimate(_literal_length(text[position : match.start()], level))
            total = total + Estimate(DYNAMIC_REFERENCE.get(match.group(1), UNKNOWN_TOKEN))
            position = match.end()
        return total + Estimate(_literal_length(text[position:], level))

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
            return self._pattern(_arn("cloudformation", "stack/") + stack + "/{n:36}", None, stack)
        resource = template.get("Resources", {}).get(target)
        resolved = RESOLVED.get(resource["Type"]) if resource else None
        if resource is None or resolved is None:
            kind = f" ({resource['Type']})" if resource else ""
            return Estimate(UNKNOWN_TOKEN, (f"Ref {target}{kind}",))
        return self._pattern(resolved.ref, resource, stack)

    def get_att(self, target: str, attribute: str, stack: str) -> Estimate:
        resource = self.stacks.get(stack, {}).get("Resources", {}).get(target)
        if resource is None:
            return Estimate(UNKNOWN_TOKEN, (f"GetAtt {target}.{attribute}",))
        resolved = RESOLVED.get(resource["Type"])
        pattern = resolved.attributes.get(attribute) if resolved else None
        if pattern is None:
            return Estimate(UNKNOWN_TOKEN, (f"GetAtt {target}.{attribute} ({resource['Type']})",))
        return self._pattern(pattern, resource, stack)

    def _pattern(self, pattern: str, resource: Mapping[str, Any] | None, stack: str) -> Estimate:
        total = ZERO
        position = 0
        for match in _PLACEHOLDER.finditer(pattern):
            total = total + Estimate(len(pattern[position : match.start()]))
            total = total + self._placeholder(match.group(1), resource, stack)
            position = match.end()
        return total + Estimate(len(pattern[position:]))

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


def _join(t: Templates, argument: Any, stack: str, level: int) -> Estimate:
    separator, parts = argument
    if not isinstance(parts, list):
        return Estimate(UNKNOWN_TOKEN, ("Fn::Join over a list token",))
    total = Estimate(_literal_length(separator, level) * max(len(parts) - 1, 0))
    for part in parts:
        total = total + t.estimate(part, stack, level)
    return total


_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


def _sub(t: Templates, argument: Any, stack: str, level: int) -> Estimate:
    text, variables = (argument, {}) if isinstance(argument, str) else argument
    total = ZERO
    position = 0
    for match in _SUB_VARIABLE.finditer(text):
        total = total + t.estimate(text[position : match.start()], stack, level)
        name = match.group(1)
        if name.startswith("!"):
            total = total + Estimate(_literal_length("${" + name[1:] + "}", level))
        elif name in variables:
            total = total + t.estimate(variables[name], stack, level)
        elif "." in name and not name.startswith("AWS::"):
            logical, _, attribute = name.partition(".")
            total = total + t.get_att(logical, attribute, stack)
        else:
            total = total + t.ref(name, stack)
        position = match.end()
    return total + t.estimate(text[position:], stack, level)


def _select(t: Templates, argument: Any, stack: str, level: int) -> Estimate:
    index, items = argument
    if isinstance(items, list) and isinstance(index, int) and 0 <= index < len(items):
        return t.estimate(items[index], stack, level)
    if isinstance(items, list):
        estimates = [t.estimate(item, stack, level) for item in items]
        return max(estimates, key=lambda e: e.length, default=ZERO)
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
        return [_DYNAMIC.sub("", value)]
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        joined = [separator] if isinstance(parts, list) and len(parts) > 1 else []
        return joined + [text for part in (parts if isinstance(parts, list) else []) for text in literal_parts(part)]
    if isinstance(value, dict) and "Fn::Sub" in value:
        argument = value["Fn::Sub"]
        text = argument if isinstance(argument, str) else argument[0]
        return [_SUB_VARIABLE.sub("", text)]
    return []


# ---------------------------------------------------------------------------------------------------
# The registry of limits
# ---------------------------------------------------------------------------------------------------


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
        "add their type to RESOLVED in stacks/limits.py)"
    )


class Rule:
    """A check of one kind of limit; `check` yields one violation per resource or stack over it."""

    limit: Limit

    def measured_on(self) -> str:
        """What the rule measures, for docs/limits.md."""
        raise NotImplementedError

    def check(self, stack: Stack, templates: Templates) -> Iterator[Violation]:
        raise NotImplementedError


@dataclass(frozen=True)
class PropertyRule(Rule):
    """A string property's length (names, descriptions, instructions), with its allowed form."""

    resource_type: str
    prop: str
    limit: Limit
    pattern: str | None = None  # the whole literal value must match
    words: str = ""  # what the pattern means, in the error
    charset: str | None = None  # every literal character of a value with tokens must be in this class

    def measured_on(self) -> str:
        return f"`{self.resource_type}` `{self.prop}`"

    def check(self, stack: Stack, templates: Templates) -> Iterator[Violation]:
        for logical_id, resource in stack.resources(self.resource_type):
            value = resource.get("Properties", {}).get(self.prop)
            if value is None:
                continue
            where = stack.where(logical_id, self.resource_type)
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
class ItemsRule(Rule):
    """How many items a list property holds (layers of a function, variants of a prompt)."""

    resource_type: str
    prop: str
    limit: Limit

    def measured_on(self) -> str:
        return f"`{self.resource_type}` `{self.prop}`"

    def check(self, stack: Stack, templates: Templates) -> Iterator[Violation]:
        for logical_id, resource in stack.resources(self.resource_type):
            value = resource.get("Properties", {}).get(self.prop)
            if isinstance(value, list) and len(value) > self.limit.maximum:
                message = f"{self.prop}: {self.limit.over(len(value))}"
                yield Violation(stack.where(logical_id, self.resource_type), message)


@dataclass(frozen=True)
class SizeRule(Rule):
    """The deployed size of a property (an environment, a definition, a policy document) in bytes."""

    resource_type: str
    prop: str
    limit: Limit
    measure: Callable[[Any, Templates, str], Estimate]
    description: str

    def measured_on(self) -> str:
        return self.description

    def check(self, stack: Stack, templates: Templates) -> Iterator[Violation]:
        for logical_id, resource in stack.resources(self.resource_type):
            value = resource.get("Properties", {}).get(self.prop)
            if value is None:
                continue
            estimate = self.measure(value, templates, stack.name)
            if estimate.length > self.limit.maximum:
                note = " once every token resolves at its longest" + _unknown_note(estimate)
                message = f"{self.limit.what}: {self.limit.over(estimate.length, note)}"
                yield Violation(stack.where(logical_id, self.resource_type), message)


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
                note = " once every token resolves at its longest" + _unknown_note(estimate)
                message = f"{self.limit.what}: {self.limit.over(estimate.length, note)}"
                yield Violation(stack.where(logical_id, "AWS::IAM::Role"), message)


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
    total = Estimate(2 + max(len(variables) - 1, 0))
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


def _policy_measure(document: Any, templates: Templates, stack: str) -> Estimate:
    return policy_size(document, templates, stack)


# ---------------------------------------------------------------------------------------------------- the rules

CFN = "CloudFormation"
RESOURCES_PER_STACK = 500
STACK_RESOURCES_QUOTA = Quota(
    "CloudFormation", "cloudformation", "resources per stack", otherwise="; or split the stack"
)
LAMBDA_ENVIRONMENT_BYTES = 4096
STATE_MACHINE_DEFINITION_BYTES = 1_048_576
# CloudFormation: 1 MB for a template uploaded through S3; aws-cdk-lib warns from 1,000,000 bytes on, as here.
TEMPLATE_BYTES = 1_000_000


def _name(
    resource_type: str,
    prop: str,
    service: str,
    maximum: int,
    *,
    charset: str,
    words: str,
    minimum: int = 1,
    pattern: str | None = None,
) -> PropertyRule:
    return PropertyRule(
        resource_type,
        prop,
        Limit(service, f"{prop} length", maximum, "characters", minimum=minimum),
        pattern=pattern or f"{charset}+",
        words=words,
        charset=charset,
    )


def _text(resource_type: str, prop: str, service: str, maximum: int, *, minimum: int = 0) -> PropertyRule:
    return PropertyRule(resource_type, prop, Limit(service, f"{prop} length", maximum, "characters", minimum=minimum))


_BEDROCK_NAME = r"([0-9a-zA-Z][_-]?){1,100}"
_BEDROCK_NAME_WORDS = "1-100 letters or digits, each optionally followed by one - or _"
_COMPREHEND_NAME = r"[a-zA-Z0-9](-*[a-zA-Z0-9])*"
_COMPREHEND_WORDS = "letters, digits and hyphens, starting and ending with a letter or digit"

RULES: tuple[Rule, ...] = (
    # --- Lambda
    SizeRule(
        "AWS::Lambda::Function",
        "Environment",
        Limit("Lambda", "environment variables", LAMBDA_ENVIRONMENT_BYTES, "bytes"),
        environment_size,
        "`AWS::Lambda::Function` `Environment`: all variables together, as the JSON Lambda measures",
    ),
    ItemsRule("AWS::Lambda::Function", "Layers", Limit("Lambda", "layers", 5, "layers")),
    _name(
        "AWS::Lambda::Function", "FunctionName", "Lambda", 64, charset="[a-zA-Z0-9_-]", words="letters, digits, - and _"
    ),
    _text("AWS::Lambda::Function", "Description", "Lambda", 256),
    _name(
        "AWS::Lambda::LayerVersion",
        "LayerName",
        "Lambda",
        140,
        charset="[a-zA-Z0-9_-]",
        words="letters, digits, - and _",
    ),
    _text("AWS::Lambda::LayerVersion", "Description", "Lambda", 256),
    # --- Step Functions
    SizeRule(
        "AWS::StepFunctions::StateMachine",
        "DefinitionString",
        Limit("Step Functions", "state machine definition", STATE_MACHINE_DEFINITION_BYTES, "bytes"),
        definition_size,
        "`AWS::StepFunctions::StateMachine` `DefinitionString`, tokens resolved",
    ),
    _name(
        "AWS::StepFunctions::StateMachine",
        "StateMachineName",
        "Step Functions",
        80,
        charset=r"[^\s<>{}\[\]?*\"#%\\^|~`$&,;:/\x00-\x1f\x7f-\x9f]",
        words='free of white space, brackets, wildcards and "#%\\^|~`$&,;:/',
    ),
    # --- EventBridge
    _name(
        "AWS::Events::Rule",
        "Name",
        "EventBridge",
        64,
        charset=r"[.\-_A-Za-z0-9]",
        words="letters, digits, '.', '-' and '_'",
    ),
    _text("AWS::Events::Rule", "Description", "EventBridge", 512),
    _name(
        "AWS::Events::EventBus",
        "Name",
        "EventBridge",
        256,
        charset=r"[/.\-_A-Za-z0-9]",
        words="letters, digits and /.-_",
    ),
    # --- S3 and S3 Vectors
    _name(
        "AWS::S3::Bucket",
        "BucketName",
        "S3",
        63,
        charset="[a-z0-9.-]",
        words="lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit",
        minimum=3,
        pattern=r"[a-z0-9][a-z0-9.-]*[a-z0-9]",
    ),
    _name(
        "AWS::S3Vectors::VectorBucket",
        "VectorBucketName",
        "S3 Vectors",
        63,
        charset="[a-z0-9-]",
        words="lowercase letters, digits and hyphens, starting and ending with a letter or digit",
        minimum=3,
        pattern=r"[a-z0-9][a-z0-9-]*[a-z0-9]",
    ),
    _name(
        "AWS::S3Vectors::Index",
        "IndexName",
        "S3 Vectors",
        63,
        charset="[a-z0-9.-]",
        words="lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit",
        minimum=3,
        pattern=r"[a-z0-9][a-z0-9.-]*[a-z0-9]",
    ),
    # --- IAM
    _name("AWS::IAM::Role", "RoleName", "IAM", 64, charset=r"[\w+=,.@-]", words="letters, digits and +=,.@-_"),
    _text("AWS::IAM::Role", "Description", "IAM", 1000),
    _name("AWS::IAM::Policy", "PolicyName", "IAM", 128, charset=r"[\w+=,.@-]", words="letters, digits and +=,.@-_"),
    _name(
        "AWS::IAM::ManagedPolicy",
        "ManagedPolicyName",
        "IAM",
        128,
        charset=r"[\w+=,.@-]",
        words="letters, digits and +=,.@-_",
    ),
    RolePoliciesRule(Limit("IAM", "inline policies of the role", 10_240, "characters")),
    SizeRule(
        "AWS::IAM::ManagedPolicy",
        "PolicyDocument",
        Limit("IAM", "managed policy", 6_144, "characters"),
        _policy_measure,
        "`AWS::IAM::ManagedPolicy` `PolicyDocument`",
    ),
    SizeRule(
        "AWS::IAM::Role",
        "AssumeRolePolicyDocument",
        Limit(
            "IAM",
            "trust policy",
            2_048,
            "characters",
            quota=Quota("IAM", "iam", "Role trust policy length", code="L-C07B4B0D"),
        ),
        _policy_measure,
        "`AWS::IAM::Role` `AssumeRolePolicyDocument`",
    ),
    # --- KMS
    _name(
        "AWS::KMS::Alias",
        "AliasName",
        "KMS",
        256,
        charset="[a-zA-Z0-9:/_-]",
        words="'alias/' and letters, digits and :/_-, not starting with alias/aws/",
        pattern=r"alias/(?!aws/)[a-zA-Z0-9:/_-]+",
    ),
    SizeRule(
        "AWS::KMS::Key",
        "KeyPolicy",
        Limit("KMS", "key policy", 32_768, "bytes"),
        _policy_measure,
        "`AWS::KMS::Key` `KeyPolicy`",
    ),
    _text("AWS::KMS::Key", "Description", "KMS", 8192),
    SizeRule(
        "AWS::S3::BucketPolicy",
        "PolicyDocument",
        Limit("S3", "bucket policy", 20_480, "bytes"),
        _policy_measure,
        "`AWS::S3::BucketPolicy` `PolicyDocument`",
    ),
    # --- Logs, CloudTrail, CloudWatch, SQS, SNS, DynamoDB, Secrets Manager
    _name(
        "AWS::Logs::LogGroup",
        "LogGroupName",
        "CloudWatch Logs",
        512,
        charset=r"[.\-_/#A-Za-z0-9]",
        words="letters, digits and ._-/#",
    ),
    _name(
        "AWS::CloudTrail::Trail",
        "TrailName",
        "CloudTrail",
        128,
        charset=r"[a-zA-Z0-9._-]",
        words="letters, digits, '.', '_' and '-', starting and ending with a letter or digit",
        minimum=3,
        pattern=r"[a-zA-Z0-9]([a-zA-Z0-9._-]*[a-zA-Z0-9])?",
    ),
    _name(
        "AWS::CloudWatch::Alarm", "AlarmName", "CloudWatch", 255, charset=r"[^\x00-\x1f]", words="printable characters"
    ),
    _text("AWS::CloudWatch::Alarm", "AlarmDescription", "CloudWatch", 1024),
    _name(
        "AWS::SQS::Queue",
        "QueueName",
        "SQS",
        80,
        charset=r"[A-Za-z0-9_.-]",
        words="letters, digits, - and _ (and .fifo)",
        pattern=r"[A-Za-z0-9_-]+(\.fifo)?",
    ),
    _name(
        "AWS::SNS::Topic",
        "TopicName",
        "SNS",
        256,
        charset=r"[A-Za-z0-9_.-]",
        words="letters, digits, - and _ (and .fifo)",
        pattern=r"[A-Za-z0-9_-]+(\.fifo)?",
    ),
    _text("AWS::SNS::Topic", "DisplayName", "SNS", 100),
    _name(
        "AWS::DynamoDB::Table",
        "TableName",
        "DynamoDB",
        255,
        charset=r"[a-zA-Z0-9_.-]",
        words="letters, digits and _.-",
        minimum=3,
    ),
    _name(
        "AWS::SecretsManager::Secret",
        "Name",
        "Secrets Manager",
        512,
        charset=r"[A-Za-z0-9/_+=.@-]",
        words="letters, digits and /_+=.@-",
    ),
    _text("AWS::SecretsManager::Secret", "Description", "Secrets Manager", 2048),
    # --- Bedrock
    _name(
        "AWS::Bedrock::KnowledgeBase",
        "Name",
        "Bedrock",
        200,
        charset="[0-9a-zA-Z_-]",
        words=_BEDROCK_NAME_WORDS,
        pattern=_BEDROCK_NAME,
    ),
    _text("AWS::Bedrock::KnowledgeBase", "Description", "Bedrock", 200, minimum=1),
    _name(
        "AWS::Bedrock::DataSource",
        "Name",
        "Bedrock",
        200,
        charset="[0-9a-zA-Z_-]",
        words=_BEDROCK_NAME_WORDS,
        pattern=_BEDROCK_NAME,
    ),
    _text("AWS::Bedrock::DataSource", "Description", "Bedrock", 200, minimum=1),
    _name("AWS::Bedrock::Guardrail", "Name", "Bedrock", 50, charset="[0-9a-zA-Z_-]", words="letters, digits, - and _"),
    _text("AWS::Bedrock::Guardrail", "Description", "Bedrock", 200, minimum=1),
    _text("AWS::Bedrock::Guardrail", "BlockedInputMessaging", "Bedrock", 500, minimum=1),
    _text("AWS::Bedrock::Guardrail", "BlockedOutputsMessaging", "Bedrock", 500, minimum=1),
    _text("AWS::Bedrock::GuardrailVersion", "Description", "Bedrock", 200, minimum=1),
    _name(
        "AWS::Bedrock::Agent",
        "AgentName",
        "Bedrock",
        200,
        charset="[0-9a-zA-Z_-]",
        words=_BEDROCK_NAME_WORDS,
        pattern=_BEDROCK_NAME,
    ),
    _text("AWS::Bedrock::Agent", "Instruction", "Bedrock", 4000, minimum=40),
    _text("AWS::Bedrock::Agent", "Description", "Bedrock", 200, minimum=1),
    _name(
        "AWS::Bedrock::Prompt",
        "Name",
        "Bedrock",
        200,
        charset="[0-9a-zA-Z_-]",
        words=_BEDROCK_NAME_WORDS,
        pattern=_BEDROCK_NAME,
    ),
    _text("AWS::Bedrock::Prompt", "Description", "Bedrock", 200, minimum=1),
    ItemsRule("AWS::Bedrock::Prompt", "Variants", Limit("Bedrock", "prompt variants", 1, "variants")),
    # --- Comprehend
    *(
        _name(t, p, "Comprehend", m, charset="[a-zA-Z0-9-]", words=_COMPREHEND_WORDS, pattern=_COMPREHEND_NAME)
        for t, p, m in (
            ("AWS::Comprehend::DocumentClassifier", "DocumentClassifierName", 63),
            ("AWS::Comprehend::DocumentClassifier", "VersionName", 63),
            ("AWS::Comprehend::EntityRecognizer", "RecognizerName", 63),
            ("AWS::Comprehend::EntityRecognizer", "VersionName", 63),
            ("AWS::Comprehend::DocumentClassifierEndpoint", "EndpointName", 40),
            ("AWS::Comprehend::EntityRecognizerEndpoint", "EndpointName", 40),
        )
    ),
    # --- CloudFormation, per stack
    StackNameRule(Limit(CFN, "stack name", 128, "characters")),
    TemplateRule(
        Limit(CFN, "resources", RESOURCES_PER_STACK, "resources", quota=STACK_RESOURCES_QUOTA),
        lambda s: len(s.template.get("Resources", {})),
        "resources per stack",
    ),
    TemplateRule(
        Limit(CFN, "outputs", 200, "outputs"), lambda s: len(s.template.get("Outputs", {})), "outputs per stack"
    ),
    TemplateRule(
        Limit(CFN, "parameters", 200, "parameters"),
        lambda s: len(s.template.get("Parameters", {})),
        "parameters per stack",
    ),
    TemplateRule(
        Limit(CFN, "mappings", 200, "mappings"), lambda s: len(s.template.get("Mappings", {})), "mappings per stack"
    ),
    TemplateRule(
        Limit(CFN, "template", TEMPLATE_BYTES, "bytes"), lambda s: s.size, "template file size (uploaded through S3)"
    ),
    TemplateRule(
        Limit(CFN, "template description", 1024, "bytes"),
        lambda s: len(str(s.template.get("Description", "")).encode()),
        "template `Description`",
    ),
    TemplateRule(
        Limit(CFN, "dynamic references", 60, "references"),
        lambda s: len(_DYNAMIC.findall(json.dumps(s.template))),
        "`{{resolve:...}}` dynamic references per template",
    ),
)


# ---------------------------------------------------------------------------------------------------- checking


class LimitsError(Exception):
    """Templates past deploy-time limits: one line per problem (resource, limit, value)."""

    def __init__(self, violations: Sequence[Violation]) -> None:
        self.violations = list(violations)
        super().__init__("\n".join(str(v) for v in self.violations))


def check_templates(stacks: Sequence[Stack], rules: Sequence[Rule] = RULES) -> list[Violation]:
    """Every violation of ``rules`` in ``stacks`` (which resolve each other's outputs)."""
    templates = Templates({s.name: s.template for s in stacks})
    return [violation for stack in stacks for rule in rules for violation in rule.check(stack, templates)]


def assembly_stacks(outdir: Path) -> list[Stack]:
    """Every stack template of the cloud assembly in ``outdir``, including those nested in stages."""
    stacks = []
    for manifest_path in sorted(outdir.rglob("manifest.json")):
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        for artifact_id, artifact in manifest.get("artifacts", {}).items():
            if artifact.get("type") != "aws:cloudformation:stack":
                continue
            props = artifact["properties"]
            data = (manifest_path.parent / props["templateFile"]).read_bytes()
            # A stack outside a stage has no stackName property: its artifact id is its name.
            stacks.append(Stack(props.get("stackName", artifact_id), json.loads(data), len(data)))
    return stacks


def check_limits(outdir: Path) -> None:
    """Raise `LimitsError` if any template of the assembly in ``outdir`` is past a deploy-time limit."""
    violations = check_templates(assembly_stacks(outdir))
    if violations:
        raise LimitsError(violations)


def environment_sizes(stacks: Sequence[Stack]) -> dict[tuple[str, str], int]:
    """(stack, logical id) -> the longest resolved size of each function's environment, in bytes."""
    templates = Templates({s.name: s.template for s in stacks})
    return {
        (stack.name, logical_id): environment_size(
            resource.get("Properties", {}).get("Environment", {}), templates, stack.name
        ).length
        for stack in stacks
        for logical_id, resource in stack.resources("AWS::Lambda::Function")
    }


# ---------------------------------------------------------------------------------------------------- docs


def rules_table() -> list[str]:
    """docs/limits.md's table of every rule: what it measures, the limit, hard limit or quota."""
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
    """docs/limits.md's table of the longest value each token resolves to."""
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
            longest = empty._pattern(pattern, resource, "stack").length
            rows.append(f"| `{label}` of `{resource_type}` | `{_cell(pattern)}` | {longest:,} |")
    rows.append(f"| anything else | (named in the message) | {UNKNOWN_TOKEN:,} |")
    return rows


def _cell(text: str) -> str:
    return text.replace("|", "\\|")
