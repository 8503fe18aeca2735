"""Deploy preflight: what would fail the first change set, checked before the CDK CLI runs.

`make deploy` runs ``python -m tools.preflight cdk.out`` after the synth. For every region the synthesized
stacks deploy to (a pinned region, or the CLI's default region for environment-agnostic stacks) it checks
the Powertools layer the functions reference:

- ``{{resolve:ssm:/aws/service/powertools/...}}`` (`powertools_layer=ssm`, the default): the public
  parameter exists in that region (ssm:GetParameter), else the change set fails on the dynamic reference;
- a published layer ARN (`powertools_layer=arn`): the layer version exists there (lambda:GetLayerVersionByArn).

It also checks API Gateway's account setting where a stack has a REST API stage that writes logs (the Api stack):
the CloudWatch Logs role (apigateway:GetAccount `cloudwatchRoleArn`), without which the stage fails to deploy.

Without AWS credentials it prints ``preflight: skipped: no AWS credentials (...)`` and exits 0 (the CLI then
stops at its own credentials error). A missing parameter or layer exits 1 with the fix; see docs/deploy.md.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from botocore.exceptions import BotoCoreError, ClientError

from tools.deployment import (
    ClientFactory,
    StackTarget,
    boto3_clients,
    default_region,
    deployed_targets,
)

TOOL = "preflight"
_SSM_REFERENCE = re.compile(r"^\{\{resolve:ssm:(/aws/service/powertools/[^}:]+)\}\}$")
# The published Powertools layers (stacks/common/powertools.py; not imported: it starts the CDK's jsii kernel).
_LAYER_ARN = re.compile(r"^arn:[a-z-]+:lambda:[a-z0-9-]+:\d{12}:layer:AWSLambdaPowertoolsPython[\w-]*:\d+$")
FIX = (
    "deploy with the published layer ARN instead: "
    'make deploy CDK_ARGS="-c powertools_layer=arn -c powertools_layer_version=<N>" '
    "(docs/deploy.md#the-powertools-layer)"
)


@dataclass(frozen=True)
class LayerReference:
    kind: Literal["ssm", "arn"]
    value: str  # the parameter name, or the layer version ARN in the target region


def partition_of(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def render(value: Any, region: str) -> str | None:
    """A template value as the string CloudFormation would make of it in ``region`` (None: not renderable)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and set(value) == {"Ref"}:
        return {"AWS::Region": region, "AWS::Partition": partition_of(region), "AWS::URLSuffix": "amazonaws.com"}.get(
            value["Ref"]
        )
    if isinstance(value, dict) and set(value) == {"Fn::Join"}:
        separator, parts = value["Fn::Join"]
        rendered = [render(part, region) for part in parts]
        return None if any(r is None for r in rendered) else str(separator).join(str(r) for r in rendered)
    return None


def layer_references(template: dict[str, Any], region: str) -> set[LayerReference]:
    """The Powertools layers the template's functions use, as they resolve in ``region``."""
    found: set[LayerReference] = set()
    for resource in template.get("Resources", {}).values():
        if resource.get("Type") != "AWS::Lambda::Function":
            continue
        for layer in resource.get("Properties", {}).get("Layers", []):
            text = render(layer, region)
            if text is None:
                continue
            match = _SSM_REFERENCE.match(text)
            if match:
                found.add(LayerReference("ssm", match.group(1)))
            elif _LAYER_ARN.match(text):
                found.add(LayerReference("arn", text))
    return found


def by_region(targets: Iterable[StackTarget], fallback_region: str) -> dict[str, set[LayerReference]]:
    regions: dict[str, set[LayerReference]] = {}
    for target in targets:
        region = target.region or fallback_region
        regions.setdefault(region, set()).update(layer_references(target.template, region))
    return regions


def check_region(region: str, references: set[LayerReference], clients: ClientFactory) -> Iterator[tuple[bool, str]]:
    """(ok, line) for each reference in ``region``."""
    for reference in sorted(references, key=lambda r: (r.kind, r.value)):
        try:
            if reference.kind == "ssm":
                value = clients("ssm", region).get_parameter(Name=reference.value)["Parameter"]["Value"]
                yield True, f"{region}: {reference.value} -> {value}"
            else:
                clients("lambda", region).get_layer_version_by_arn(Arn=reference.value)
                yield True, f"{region}: {reference.value} exists"
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "error")
            if code in ("ParameterNotFound", "ResourceNotFoundException"):
                what = "SSM parameter" if reference.kind == "ssm" else "layer version"
                yield False, f"{region}: {what} {reference.value} does not exist, so the change set would fail; {FIX}"
            else:
                yield (
                    False,
                    f"{region}: cannot check {reference.value} ({code}: {exc.response['Error'].get('Message')})",
                )
        except BotoCoreError as exc:
            yield False, f"{region}: cannot check {reference.value} ({exc})"


API_LOGGING_FIX = "set the account's API Gateway CloudWatch Logs role once (docs/api.md#deploy)"


def logs_api_stages(template: dict[str, Any]) -> bool:
    """Whether ``template`` has a REST API stage with access logs or execution logging, which API Gateway writes
    through the account's CloudWatch Logs role."""
    for resource in template.get("Resources", {}).values():
        if resource.get("Type") != "AWS::ApiGateway::Stage":
            continue
        props = resource.get("Properties", {})
        if "AccessLogSetting" in props or any("LoggingLevel" in m for m in props.get("MethodSettings", [])):
            return True
    return False


def check_api_logging_role(region: str, clients: ClientFactory) -> tuple[bool, str]:
    """(ok, line) for API Gateway's account-level CloudWatch Logs role in ``region``."""
    try:
        role = clients("apigateway", region).get_account().get("cloudwatchRoleArn")
    except ClientError as exc:
        error = exc.response.get("Error", {})
        reason = f"{error.get('Code')}: {error.get('Message')}"
        return False, f"{region}: cannot read API Gateway's account settings ({reason})"
    except BotoCoreError as exc:
        return False, f"{region}: cannot read API Gateway's account settings ({exc})"
    if not role:
        return (
            False,
            f"{region}: API Gateway has no CloudWatch Logs role in this account, so the Api stage would fail to deploy "
            f'("CloudWatch Logs role ARN must be set in account settings"); {API_LOGGING_FIX}',
        )
    return True, f"{region}: API Gateway logs through {role}"


def run(cdk_out: Path, clients: ClientFactory, fallback_region: str) -> int:
    """Print one line per check; 0 when everything the stacks reference exists, else 1."""
    targets = deployed_targets(TOOL, cdk_out, clients, fallback_region)
    if isinstance(targets, int):
        return targets
    api_regions = {target.region or fallback_region for target in targets if logs_api_stages(target.template)}
    failed = False
    for region, references in sorted(by_region(targets, fallback_region).items()):
        if not references:
            print(f"{TOOL}: {region}: no Powertools layer referenced")
        checks = list(check_region(region, references, clients))
        if region in api_regions:
            checks.append(check_api_logging_role(region, clients))
        for ok, line in checks:
            print(f"{TOOL}: {'ok' if ok else 'FAILED'}: {line}", file=sys.stdout if ok else sys.stderr)
            failed = failed or not ok
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Check, before deploying, what would fail the first change set.")
    parser.add_argument("cdk_out", type=Path)
    args = parser.parse_args(argv)
    return run(args.cdk_out, boto3_clients(), default_region())


if __name__ == "__main__":
    sys.exit(main())
