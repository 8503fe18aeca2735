"""The Lambda Web Adapter: how a Python function streams responses through API Gateway.

Python's managed runtime cannot stream a response (only Node.js can, with ``streamifyResponse``). The Lambda Web
Adapter (awslabs/aws-lambda-web-adapter), a Lambda extension published as a public layer, starts the function's
web server (``run.sh``: uvicorn serving the Starlette app in lambdas/api/server.py), turns each invocation into an
HTTP request on localhost, and with ``AWS_LWA_INVOKE_MODE=response_stream`` forwards the response body as it is
written, through Lambda's InvokeWithResponseStream, to API Gateway's streaming integration.

The layer is pinned, never "latest": a new adapter version is a reviewed change of this constant.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

# The README of awslabs/aws-lambda-web-adapter (main at 2194417, 2026-03-20; checked 2026-12-02) lists
# arn:aws:lambda:${AWS::Region}:753240598075:layer:LambdaAdapterLayerArm64:26, the layer of release v1.0.0-rc1
# (README commit cb6bc05, 2026-02-17; v0.9.1 was layer 25). Commercial regions; the China regions have their own
# account (see the adapter's zip-packages guide).
LAYER_ACCOUNT = "753240598075"
LAYER_NAME = "LambdaAdapterLayerArm64"
LAYER_VERSION = 26
LAYER_RELEASE = "v1.0.0-rc1"
LAYER_CHECKED = "2026-12-02"

# The environment every adapter function needs (the handler is the start script, not a Python function).
HANDLER = "api/run.sh"  # lambdas/api/run.sh in the code asset (/var/task)
EXEC_WRAPPER = {"AWS_LAMBDA_EXEC_WRAPPER": "/opt/bootstrap"}
# The app answers GET /healthz once it is ready; the adapter waits for it before the first request.
READINESS = {"AWS_LWA_READINESS_CHECK_PATH": "/healthz"}
STREAM_MODE = {"AWS_LWA_INVOKE_MODE": "response_stream"}


def web_adapter_layer_arn(version: int = LAYER_VERSION, *, region: str = cdk.Aws.REGION) -> str:
    """The published arm64 layer of ``version`` in ``region`` (a token by default)."""
    return f"arn:aws:lambda:{region}:{LAYER_ACCOUNT}:layer:{LAYER_NAME}:{version}"


def web_adapter_layer(scope: Construct) -> lambda_.ILayerVersion:
    """One imported adapter layer per stack, shared by its web functions."""
    stack = cdk.Stack.of(scope)
    existing = stack.node.try_find_child("WebAdapterLayer")
    if existing is not None:
        return existing  # type: ignore[return-value]
    return lambda_.LayerVersion.from_layer_version_arn(stack, "WebAdapterLayer", web_adapter_layer_arn())


def adapter_environment(*, stream: bool) -> dict[str, str]:
    """The adapter's variables of a buffered or a streaming function (its port stays the default, 8080)."""
    return {**EXEC_WRAPPER, **READINESS, **(STREAM_MODE if stream else {})}
