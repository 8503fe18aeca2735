"""The AWS-managed Powertools layer, resolved per region and architecture at deploy time.

Powertools publishes each release's layer ARN as a public SSM parameter in every region
(/aws/service/powertools/python/<arch>/<python>/<version>). A CloudFormation dynamic reference to it
keeps stacks environment-agnostic (no synth-time lookup) and pins exactly the release the tests use;
tests/stacks/test_building_blocks.py fails if this drifts from the installed aws-lambda-powertools.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

POWERTOOLS_VERSION = "3.37.0"
PYTHON_VERSION = "python3.13"
ARCHITECTURE = "arm64"


def powertools_parameter_name(version: str = POWERTOOLS_VERSION) -> str:
    return f"/aws/service/powertools/python/{ARCHITECTURE}/{PYTHON_VERSION}/{version}"


def powertools_layer(scope: Construct) -> lambda_.ILayerVersion:
    """One imported layer per stack, shared by the stack's functions."""
    stack = cdk.Stack.of(scope)
    existing = stack.node.try_find_child("PowertoolsLayer")
    if existing is not None:
        return existing  # type: ignore[return-value]
    arn = f"{{{{resolve:ssm:{powertools_parameter_name()}}}}}"
    return lambda_.LayerVersion.from_layer_version_arn(stack, "PowertoolsLayer", arn)
