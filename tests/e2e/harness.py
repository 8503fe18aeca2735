"""What the end-to-end tests of the synthesized state machines share.

moto's Lambda cannot run code without Docker, and the synthesized definition is an Fn::Join of tokens
(DESIGN.md, Environment facts). So `Deployment` creates a template's roles, functions and state machine in moto
with the tokens resolved, `Dispatcher` runs every Lambda task of moto's Step Functions interpreter in-process
with the real handler and that function's synthesized environment, and `execute` waits for an execution to end.

What differs between the stages stays in their test files: the resources a stack reads besides its functions
(`Deployment.provision`), values the template takes from elsewhere (`parameters`, or an override of
`Deployment.resolve` / `Deployment.environment`), and how a handler reads its environment (`Dispatcher.env`,
`Dispatcher.environ` or `os_environ`).
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import Any, Self

import boto3
import pytest
from common.settings_file import SETTINGS_DIR_ENV
from moto import mock_aws
from moto.awslambda_simple.models import LambdaSimpleBackend

from tests.lambdas.pipeline.harness import LambdaContext

REGION, ACCOUNT = "eu-west-1", "123456789012"  # moto's default account, so the ARNs it makes are the template's
PSEUDO = {"AWS::Partition": "aws", "AWS::Region": REGION, "AWS::AccountId": ACCOUNT}


def moto_step_functions() -> Any:
    """moto with its Step Functions interpreting the real ASL and Lambda functions that need no Docker."""
    return mock_aws(config={"lambda": {"use_docker": False}, "stepfunctions": {"execute_state_machine": True}})


@dataclass(frozen=True)
class Function:
    """A synthesized function as the dispatcher runs it."""

    handler: str  # "<module>.<attribute>"
    env: dict[str, str]  # its environment variables, tokens resolved


class Deployment:
    """A template's roles, functions (those whose handler starts with ``handlers``) and its one state machine,
    created in moto; `resolve` replaces the template's tokens with what moto created.

    A subclass creates what else the stack reads in `provision` (called first), recording each resource's
    physical id in ``physical`` (what Ref gives) and ``arns`` (what Fn::GetAtt .Arn gives).
    """

    def __init__(
        self,
        template: dict[str, Any],
        *,
        handlers: str,
        machine_name: str,
        parameters: Mapping[str, str] | None = None,
    ) -> None:
        self.template = template
        self.resources: dict[str, dict[str, Any]] = template["Resources"]
        self.physical: dict[str, str] = dict(parameters or {})  # the template's Parameters are Ref-ed by name
        self.arns: dict[str, str] = {}
        self.functions: dict[str, Function] = {}  # function name (its logical id) -> handler and environment
        self.s3 = boto3.client("s3", region_name=REGION)
        self.provision()
        iam = boto3.client("iam", region_name=REGION)
        trust = json.dumps({"Version": "2012-10-17", "Statement": []})
        for logical in self.of_type("AWS::IAM::Role"):
            self.arns[logical] = iam.create_role(RoleName=logical[:64], AssumeRolePolicyDocument=trust)["Role"]["Arn"]
        lambdas = boto3.client("lambda", region_name=REGION)
        for logical, function in self.of_type("AWS::Lambda::Function").items():
            props = function["Properties"]
            if not props.get("Handler", "").startswith(handlers):
                continue  # e.g. CDK's auto-delete provider
            self.arns[logical] = lambdas.create_function(
                FunctionName=logical,
                Runtime="python3.12",
                Role=self.resolve(props["Role"]),
                Handler=props["Handler"],
                Code={"ZipFile": b"in-process"},
            )["FunctionArn"]
            self.physical[logical] = logical
            self.functions[logical] = Function(props["Handler"], self.environment(props["Environment"]["Variables"]))
        (machine,) = self.of_type("AWS::StepFunctions::StateMachine").values()
        self.definition: str = self.resolve(machine["Properties"]["DefinitionString"])
        self.state_machine: str = boto3.client("stepfunctions", region_name=REGION).create_state_machine(
            name=machine_name, definition=self.definition, roleArn=self.resolve(machine["Properties"]["RoleArn"])
        )["stateMachineArn"]

    def provision(self) -> None:
        """Create the stack's other resources in moto (none by default)."""

    def of_type(self, kind: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.resources.items() if v["Type"] == kind}

    def environment(self, variables: Mapping[str, Any]) -> dict[str, str]:
        """A function's environment as deployed: its variables with their tokens resolved."""
        return {k: str(self.resolve(v)) for k, v in variables.items()}

    def resolve(self, value: Any) -> Any:
        """A template value with its Ref, Fn::GetAtt and Fn::Join replaced by what moto created."""
        if isinstance(value, str):
            return value
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if "Ref" in value:
            return PSEUDO.get(value["Ref"]) or self.physical[value["Ref"]]
        if "Fn::GetAtt" in value:
            logical, attribute = value["Fn::GetAtt"]
            return self.arns[logical] if attribute == "Arn" else self.physical[logical]
        if "Fn::Join" in value:
            separator, parts = value["Fn::Join"]
            return str(separator).join(self.resolve(p) for p in parts)
        raise AssertionError(f"unresolvable {value}")


class Dispatcher:
    """Runs the invoked function's handler in-process with that function's environment, one invocation at a
    time (like one warm container); ``calls`` lists the handler modules in order.

    By default the function's environment is the calling thread's (patch the handlers' reader with `env` or
    `environ`) and os.environ is left alone, since moto's interpreter threads read it concurrently. With
    ``os_environ`` it is also set in os.environ for the call, for handlers that read os.environ themselves:
    safe only while the machine runs one task at a time.
    """

    def __init__(
        self,
        functions: Mapping[str, Function],
        *,
        os_environ: bool = False,
    ) -> None:
        self.functions = functions
        self.os_environ = os_environ
        self.lock = threading.Lock()
        self.local = threading.local()
        self.calls: list[str] = []

    def install(self, patch: pytest.MonkeyPatch, settings_folder: Path) -> Self:
        """Route moto's Lambda invokes here; the functions read their settings from ``settings_folder`` (the
        synthesized settings layer, as from /opt/settings)."""
        patch.setattr(
            LambdaSimpleBackend,
            "invoke",
            lambda _backend, name, _qualifier, body, _headers, response_headers: self.invoke(
                name, body, response_headers
            ),
        )
        patch.setenv(SETTINGS_DIR_ENV, str(settings_folder))
        return self

    def env(self, name: str) -> str:
        """One variable during a dispatched invocation: the function's, then the process's."""
        value = getattr(self.local, "env", {}).get(name) or os.environ.get(name)
        if not value:
            raise RuntimeError(f"environment variable {name} is not set")
        return str(value)

    def environ(self) -> dict[str, str]:
        """The environment during a dispatched invocation: the process's, overlaid with the function's."""
        return {**os.environ, **getattr(self.local, "env", {})}

    def invoke(self, function_name: str, body: Any, response_headers: dict[str, str]) -> bytes:
        name = function_name.rsplit(":", 1)[-1]
        function = self.functions[name]
        module, _, attribute = function.handler.rpartition(".")
        with self.lock, self._environment(function.env):
            self.calls.append(module)
            try:
                result = getattr(import_module(module), attribute)(json.loads(body), LambdaContext(name))
                return json.dumps(result).encode()
            except Exception as exc:  # the Lambda service reports it as a function error
                response_headers["x-amz-function-error"] = "Unhandled"
                return json.dumps({"errorType": type(exc).__name__, "errorMessage": str(exc)}).encode()

    @contextmanager
    def _environment(self, env: dict[str, str]) -> Iterator[None]:
        self.local.env = env
        try:
            with pytest.MonkeyPatch.context() as patch:
                if self.os_environ:
                    for key, value in env.items():
                        patch.setenv(key, value)
                yield
        finally:
            self.local.env = {}


def execute(state_machine: str, name: str, *, timeout: float, event: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Start an execution (with ``event`` as its input, if given) and wait for it to end; its description."""
    sfn = boto3.client("stepfunctions", region_name=REGION)
    started = sfn.start_execution(
        stateMachineArn=state_machine, name=name, **({} if event is None else {"input": json.dumps(event)})
    )
    deadline = time.monotonic() + timeout
    while (described := sfn.describe_execution(executionArn=started["executionArn"]))["status"] == "RUNNING":
        assert time.monotonic() < deadline, "execution did not finish"
        time.sleep(0.05)
    return dict(described)
