"""The AWS-managed Powertools layer, resolved per region and architecture at deploy time.

Powertools publishes each release's layer ARN as a public SSM parameter in every region where the layer
exists (/aws/service/powertools/python/<arch>/<python>/<version>). By default a CloudFormation dynamic
reference to it keeps stacks environment-agnostic (no synth-time lookup) and pins exactly the release the
tests use; tests/stacks/test_building_blocks.py fails if this drifts from the installed aws-lambda-powertools.

The parameter must exist in the target region or the change set fails; `tools/preflight.py` (run by
`make deploy` when credentials exist) checks it. Where it does not, `PowertoolsLayerSource(source="arn",
version=N)` (`-c powertools_layer=arn -c powertools_layer_version=N`) uses the published layer ARN
arn:<partition>:lambda:<region>:017000801446:layer:AWSLambdaPowertoolsPythonV3-python313-arm64:<N> instead,
where N is the layer version of the pinned release (docs/deploy.md says how to read it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

POWERTOOLS_VERSION = "3.37.0"
PYTHON_VERSION = "python3.13"
ARCHITECTURE = "arm64"
# The account that publishes the Powertools layers in the commercial regions (Powertools docs, "Lambda Layer").
LAYER_ACCOUNT = "017000801446"
LAYER_NAME = f"AWSLambdaPowertoolsPythonV3-{PYTHON_VERSION.replace('.', '')}-{ARCHITECTURE}"

PowertoolsSource = Literal["ssm", "arn"]


def powertools_parameter_name(version: str = POWERTOOLS_VERSION) -> str:
    return f"/aws/service/powertools/python/{ARCHITECTURE}/{PYTHON_VERSION}/{version}"


def powertools_layer_arn(
    layer_version: int, *, region: str = cdk.Aws.REGION, partition: str = cdk.Aws.PARTITION
) -> str:
    """The published layer ARN of one layer version (tokens for region and partition by default)."""
    return f"arn:{partition}:lambda:{region}:{LAYER_ACCOUNT}:layer:{LAYER_NAME}:{layer_version}"


@dataclass(frozen=True)
class PowertoolsLayerSource:
    """Where functions get the Powertools layer: the public SSM parameter of the pinned release (default), or
    the published layer ARN of ``version`` (the layer version of that release) where the parameter is missing."""

    source: PowertoolsSource = "ssm"
    version: int | None = None

    def __post_init__(self) -> None:
        if self.source == "arn" and (self.version is None or self.version < 1):
            raise ValueError("the Powertools layer ARN needs the layer version of the pinned release")

    def layer_arn(self) -> str:
        if self.source == "ssm":
            return f"{{{{resolve:ssm:{powertools_parameter_name()}}}}}"
        assert self.version is not None
        return powertools_layer_arn(self.version)


# The construct id of the imported layer. It decides the layer's place in each function: CDK renders a function's
# layers sorted by construct path (feature flag @aws-cdk/aws-lambda:recognizeLayerVersion), and Lambda merges them
# in that order, a later layer's file replacing an earlier one's ("Adding layers to functions"). This id sorts
# before every layer the kit builds in a stack (DependencyLayer, EvaluationLayer, WebAdapterLayer), so where one
# of them ships a library the Powertools layer bundles too (typing_extensions: requirements-lambda.txt), the
# kit's pinned copy is the one imported.
CONSTRUCT_ID = "AwsPowertoolsLayer"


def powertools_layer(scope: Construct, source: PowertoolsLayerSource | None = None) -> lambda_.ILayerVersion:
    """One imported layer per stack, shared by the stack's functions (listed first: see CONSTRUCT_ID)."""
    stack = cdk.Stack.of(scope)
    existing = stack.node.try_find_child(CONSTRUCT_ID)
    if existing is not None:
        return existing  # type: ignore[return-value]
    arn = (source or PowertoolsLayerSource()).layer_arn()
    return lambda_.LayerVersion.from_layer_version_arn(stack, CONSTRUCT_ID, arn)
