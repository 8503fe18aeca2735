"""`tools/preflight.py`, run by `make deploy` before the CLI: the Powertools layer exists in every target region.

AWS is answered by botocore Stubbers (every request and response checked against the service models); the
skip path runs the real SDK without credentials, which fails before any request is sent.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aws_cdk as cdk
import boto3
import pytest
from botocore.stub import Stubber

from stacks.common.powertools import powertools_layer_arn, powertools_parameter_name
from tools import preflight

PARAMETER = powertools_parameter_name()
LAYER = "arn:aws:lambda:{region}:017000801446:layer:AWSLambdaPowertoolsPythonV3-python313-arm64:27"
CALLER = {"UserId": "AIDAEXAMPLE", "Account": "111122223333", "Arn": "arn:aws:iam::111122223333:user/deployer"}


class Clients:
    """Stubbed clients by (service, region); asking for any other client fails the test."""

    def __init__(self) -> None:
        self.stubs: dict[tuple[str, str | None], Stubber] = {}
        self.clients: dict[tuple[str, str | None], Any] = {}

    def stub(self, service: str, region: str) -> Stubber:
        client = boto3.client(service, region_name=region)
        stubber = Stubber(client)
        stubber.activate()
        self.clients[service, region] = client
        self.stubs[service, region] = stubber
        return stubber

    def __call__(self, service: str, region: str | None) -> Any:
        return self.clients[service, region]

    def done(self) -> None:
        for stubber in self.stubs.values():
            stubber.assert_no_pending_responses()


def with_credentials(region: str = "eu-west-1") -> Clients:
    clients = Clients()
    clients.stub("sts", region).add_response("get_caller_identity", CALLER)
    return clients


LOGS_ROLE = "arn:aws:iam::111122223333:role/apigateway-cloudwatch-logs"


def api_logging_role(clients: Clients, region: str, role: str | None = LOGS_ROLE) -> None:
    """API Gateway's account settings in ``region``, with or without the CloudWatch Logs role."""
    clients.stub("apigateway", region).add_response(
        "get_account", {"cloudwatchRoleArn": role} if role else {"throttleSettings": {"burstLimit": 5000}}, {}
    )


def parameter(region: str) -> dict[str, Any]:
    return {"Parameter": {"Name": PARAMETER, "Type": "String", "Value": LAYER.format(region=region), "Version": 1}}


def test_without_credentials_it_says_it_skipped_and_lets_the_cli_report(synth, monkeypatch, capsys):
    """No credentials anywhere (CI): the real SDK raises before sending anything; exit 0, nothing checked."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    assert preflight.main([str(synth.outdir)]) == 0
    assert capsys.readouterr().out == "preflight: skipped: no AWS credentials (Unable to locate credentials)\n"


def test_expired_credentials_are_a_skip_with_the_reason(synth, capsys):
    clients = Clients()
    clients.stub("sts", "eu-west-1").add_client_error(
        "get_caller_identity", service_error_code="ExpiredToken", service_message="The token has expired."
    )
    assert preflight.run(synth.outdir, clients, "eu-west-1") == 0
    assert "skipped: no AWS credentials (ExpiredToken: The token has expired.)" in capsys.readouterr().out
    clients.done()


def test_environment_agnostic_stacks_are_checked_in_the_default_region(synth, capsys):
    """Both stages of the session's synth deploy to the profile's region: one parameter, looked up once."""
    clients = with_credentials()
    clients.stub("ssm", "eu-west-1").add_response("get_parameter", parameter("eu-west-1"), {"Name": PARAMETER})
    api_logging_role(clients, "eu-west-1")
    assert preflight.run(synth.outdir, clients, "eu-west-1") == 0
    out = capsys.readouterr().out
    assert f"preflight: ok: eu-west-1: {PARAMETER} -> {LAYER.format(region='eu-west-1')}" in out
    assert f"preflight: ok: eu-west-1: API Gateway logs through {LOGS_ROLE}" in out
    clients.done()


def test_an_account_without_the_api_gateway_logs_role_stops_the_deploy_with_the_fix(synth, capsys):
    """The Api stage writes access logs, which API Gateway refuses to deploy without the account's role."""
    clients = with_credentials()
    clients.stub("ssm", "eu-west-1").add_response("get_parameter", parameter("eu-west-1"), {"Name": PARAMETER})
    api_logging_role(clients, "eu-west-1", role=None)
    assert preflight.run(synth.outdir, clients, "eu-west-1") == 1
    captured = capsys.readouterr()
    assert f"preflight: ok: eu-west-1: {PARAMETER}" in captured.out
    assert (
        "preflight: FAILED: eu-west-1: API Gateway has no CloudWatch Logs role in this account, so the Api stage "
        'would fail to deploy ("CloudWatch Logs role ARN must be set in account settings"); set the account\'s API '
        "Gateway CloudWatch Logs role once (docs/api.md#deploy)\n"
    ) in captured.err
    clients.done()


def test_only_templates_with_a_logging_api_stage_need_the_role():
    stage = {"Type": "AWS::ApiGateway::Stage", "Properties": {"StageName": "dev"}}
    assert not preflight.logs_api_stages({"Resources": {"Stage": stage}})
    assert not preflight.logs_api_stages({"Resources": {"Fn": {"Type": "AWS::Lambda::Function"}}})
    access_logs = {**stage, "Properties": {"AccessLogSetting": {"DestinationArn": "arn"}}}
    assert preflight.logs_api_stages({"Resources": {"Stage": access_logs}})
    execution_logs = {**stage, "Properties": {"MethodSettings": [{"HttpMethod": "*", "LoggingLevel": "ERROR"}]}}
    assert preflight.logs_api_stages({"Resources": {"Stage": execution_logs}})
    metrics_only = {**stage, "Properties": {"MethodSettings": [{"HttpMethod": "*", "MetricsEnabled": True}]}}
    assert not preflight.logs_api_stages({"Resources": {"Stage": metrics_only}})


def test_an_unreadable_account_setting_is_a_failure_not_a_pass():
    clients = Clients()
    clients.stub("apigateway", "eu-west-1").add_client_error(
        "get_account", service_error_code="AccessDeniedException", service_message="not allowed"
    )
    ok, line = preflight.check_api_logging_role("eu-west-1", clients)
    assert not ok
    assert line == "eu-west-1: cannot read API Gateway's account settings (AccessDeniedException: not allowed)"
    clients.done()


def test_a_missing_parameter_stops_the_deploy_with_the_fix(synth, capsys):
    clients = with_credentials()
    clients.stub("ssm", "eu-west-1").add_client_error(
        "get_parameter", service_error_code="ParameterNotFound", expected_params={"Name": PARAMETER}
    )
    api_logging_role(clients, "eu-west-1")
    assert preflight.run(synth.outdir, clients, "eu-west-1") == 1
    err = capsys.readouterr().err
    assert f"eu-west-1: SSM parameter {PARAMETER} does not exist, so the change set would fail" in err
    assert "-c powertools_layer=arn -c powertools_layer_version=<N>" in err
    clients.done()


def test_pinned_stages_are_checked_in_their_own_regions(pinned_synth, capsys):
    """dev pinned to us-east-1 and prod to eu-west-1: each region gets its own look-up."""
    clients = with_credentials("ap-south-1")  # the profile's region plays no part for pinned stacks
    for region in ("us-east-1", "eu-west-1"):
        clients.stub("ssm", region).add_response("get_parameter", parameter(region), {"Name": PARAMETER})
        api_logging_role(clients, region)
    assert preflight.run(pinned_synth.outdir, clients, "ap-south-1") == 0
    out = capsys.readouterr().out
    assert "ok: us-east-1:" in out
    assert "ok: eu-west-1:" in out
    clients.done()


def test_the_layer_arn_fallback_is_checked_as_a_layer_version():
    """With `powertools_layer=arn` the template holds the published ARN (tokens for region and partition),
    rendered for the target region and checked with GetLayerVersionByArn."""
    template = {
        "Resources": {
            "Fn": {
                "Type": "AWS::Lambda::Function",
                "Properties": {"Layers": [_template_value(powertools_layer_arn(27))]},
            }
        }
    }
    (reference,) = preflight.layer_references(template, "ap-southeast-7")
    assert reference == preflight.LayerReference("arn", LAYER.format(region="ap-southeast-7"))
    clients = Clients()
    clients.stub("lambda", "ap-southeast-7").add_client_error(
        "get_layer_version_by_arn",
        service_error_code="ResourceNotFoundException",
        expected_params={"Arn": reference.value},
    )
    ((ok, line),) = preflight.check_region("ap-southeast-7", {reference}, clients)
    assert not ok
    assert line.startswith(f"ap-southeast-7: layer version {reference.value} does not exist")
    clients.done()


def _template_value(value: str) -> Any:
    """A string with CDK tokens as the template renders it."""
    return cdk.Stack().resolve(value)


@pytest.mark.parametrize(
    ("region", "partition"), [("cn-north-1", "aws-cn"), ("us-gov-west-1", "aws-us-gov"), ("eu-west-1", "aws")]
)
def test_partitions_follow_the_region(region, partition):
    assert preflight.partition_of(region) == partition


def test_make_deploy_runs_the_preflight_before_the_cli_and_make_smoke_is_listed():
    """The Makefile's deploy recipe: preflight first (a failed check stops make before any change set), then the
    CLI; `make help` lists smoke (its `## ` text)."""
    makefile = (Path(__file__).resolve().parents[2] / "Makefile").read_text()
    lines = makefile.splitlines()
    start = lines.index(next(line for line in lines if line.startswith("deploy: synth")))
    recipe = []
    for line in lines[start + 1 :]:
        if not line.startswith("\t"):
            break
        recipe.append(line.strip())
    assert recipe == ["$(PY) -m tools.preflight $(CDK_OUT)", "$(SELECT) npx cdk deploy --app $(CDK_OUT) $(DEPLOY_ARGS)"]
    (smoke,) = [line for line in lines if line.startswith("smoke:")]
    assert "## " in smoke
    assert '\t$(PY) -m tools.smoke $(CDK_OUT) --stacks "$(STACKS)"' in lines
