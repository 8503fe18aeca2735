"""What the after-synth AWS tools (`tools.preflight`, `tools.smoke`) share: the stacks the last synth built, and
whether the caller has AWS credentials at all.

Both tools run only with credentials. Without them (CI, a laptop without a profile) they print
``<tool>: skipped: no AWS credentials (<why>)`` and exit 0: nothing is checked, and nothing pretends it was.
The probe is one STS GetCallerIdentity call with short timeouts and no retries, so a missing or expired
credential is reported in seconds.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from stacks.assembly import stack_artifacts
from tools.stack_selection import SelectionError, stages

# The CDK CLI deploys an environment-agnostic stack to the profile's region, or us-east-1 when none is set.
CLI_DEFAULT_REGION = "us-east-1"
# Fail fast: the credential probe and the preflight's look-ups must not hang a deploy.
FAST = Config(connect_timeout=3, read_timeout=10, retries={"max_attempts": 1, "mode": "standard"})

# (service, region or None for the default) -> a boto3 client; tests inject stubbed clients.
ClientFactory = Callable[[str, str | None], Any]


@dataclass(frozen=True)
class StackTarget:
    """One synthesized stack: ``stage`` is the stage id (`<prefix>-<stage>`), ``part`` the stack's part
    (`Foundation`, `Data`, ...), ``region`` its pinned region or None (environment-agnostic)."""

    stage: str
    part: str
    stack_name: str
    region: str | None
    template: dict[str, Any]


def stack_targets(cdk_out: Path) -> list[StackTarget]:
    """Every stack of every stage in the assembly, in synthesis order (raises `SelectionError`)."""
    stages(cdk_out)  # checks the assembly is the kit's and holds stages
    targets: list[StackTarget] = []
    for stack in stack_artifacts(cdk_out):
        stage, _, part = stack.path.rpartition("/")
        if not stage:
            continue  # a top-level stack is not one of the kit's
        region = stack.environment.rpartition("/")[2]
        targets.append(
            StackTarget(
                stage=stage,
                part=part,
                stack_name=stack.name,
                region=None if region in ("", "unknown-region") else region,
                template=json.loads(stack.template.read_text(encoding="utf-8")),
            )
        )
    if not targets:
        raise SelectionError(f"{cdk_out}: the assembly holds no stacks")
    return targets


def credentials_problem(sts: Any) -> str | None:
    """None when STS answers GetCallerIdentity; otherwise why not, in one line."""
    try:
        sts.get_caller_identity()
    except ClientError as exc:
        error = exc.response.get("Error", {})
        return f"{error.get('Code', 'error')}: {error.get('Message', exc)}"
    except BotoCoreError as exc:  # NoCredentialsError, PartialCredentialsError, endpoint and timeout errors
        return str(exc)
    return None


def default_region() -> str:
    """The region the CDK CLI deploys environment-agnostic stacks to."""
    return boto3.session.Session().region_name or CLI_DEFAULT_REGION


def boto3_clients(config: Config = FAST) -> ClientFactory:
    """A factory of real clients (one per service and region), for the tools' `main`."""
    session = boto3.session.Session()
    cache: dict[tuple[str, str | None], Any] = {}

    def client(service: str, region: str | None) -> Any:
        if (service, region) not in cache:
            cache[service, region] = session.client(service, region_name=region, config=config)
        return cache[service, region]

    return client


def skipped(tool: str, reason: str) -> str:
    return f"{tool}: skipped: no AWS credentials ({reason})"


def deployed_targets(tool: str, cdk_out: Path, clients: ClientFactory, region: str) -> list[StackTarget] | int:
    """The stacks a deploy-time tool checks, or the tool's exit code when it cannot run: 0 after one line saying it
    is skipped (no credentials: nothing to check is not a failure), 2 when the assembly selects no stack."""
    problem = credentials_problem(clients("sts", region))
    if problem is not None:
        print(skipped(tool, problem))
        return 0
    try:
        return stack_targets(cdk_out)
    except SelectionError as exc:
        print(f"{tool}: {exc}", file=sys.stderr)
        return 2
