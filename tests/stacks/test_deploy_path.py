"""The deploy path: the CLI selects every stack of a stage, the app enforces the nag gate, pinned
environments pass it, and two use cases deploy side by side without a name collision."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_events as events
from aws_cdk import aws_s3 as s3

import app as app_module
from stacks.app_builder import cdk_json_context
from stacks.common.nag import add_nag_packs
from stacks.synth_gate import NagGateError, gated_synth, report_findings
from tests.conftest import Synth, synthesize
from tools.stack_selection import SelectionError, selectors, stages
from tools.stack_selection import main as selection_main

REPO = Path(__file__).resolve().parents[2]
PREFIX = "journey-customer-retention"  # <project>-<usecase> of cdk.json's defaults
DEV, PROD = f"{PREFIX}-dev", f"{PREFIX}-prod"
PARTS = ["Foundation", "Data", "Knowledge", "Guardrails", "Prompts", "Agent", "Api", "Web", "Observability"]


def cdk_ls(assembly: Path, *patterns: str) -> list[str]:
    """Stack names the pinned CDK CLI selects in ``assembly`` for ``patterns`` (no network, no telemetry)."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    env["CDK_DISABLE_CLI_TELEMETRY"] = "true"
    result = subprocess.run(
        [str(REPO / "node_modules" / ".bin" / "cdk"), "ls", "--no-notices", "--app", str(assembly), *patterns],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    # "journey-customer-retention-dev/Data (journey-customer-retention-dev-Data)"
    return sorted(line.rpartition("(")[2].rstrip(")") for line in result.stdout.splitlines() if line.strip())


def stack_names(stage: str, parts: list[str] = PARTS) -> list[str]:
    return sorted(f"{stage}-{part}" for part in parts)


# -------------------------------------------------------------------------------- stack selection


def test_the_assembly_names_each_stage_and_its_stacks(synth):
    assert stages(synth.outdir) == {DEV: PARTS, PROD: PARTS}
    assert sorted(synth.templates) == stack_names(DEV) + stack_names(PROD)


def test_the_makefile_selector_selects_every_stack_of_dev_prod_and_all(synth):
    # stage=all: the selector the Makefile appends covers both stages, and the CLI finds every stack.
    assert selectors(synth.outdir) == [f"{DEV}/*", f"{PROD}/*"]
    assert cdk_ls(synth.outdir, *selectors(synth.outdir)) == sorted(synth.templates)
    # Each stage's own pattern selects exactly that stage's stacks, none of the other's.
    assert cdk_ls(synth.outdir, f"{DEV}/*") == stack_names(DEV)
    assert cdk_ls(synth.outdir, f"{PROD}/*") == stack_names(PROD)


@pytest.mark.parametrize("stage", [DEV, PROD])
def test_an_assembly_of_one_stage_yields_only_that_stage(synth, tmp_path, stage):
    """What `make synth CDK_ARGS="-c stage=prod"` leaves in cdk.out: one nested assembly."""
    manifest = json.loads((synth.outdir / "manifest.json").read_text())
    manifest["artifacts"] = {
        key: artifact
        for key, artifact in manifest["artifacts"].items()
        if artifact["type"] != "cdk:cloud-assembly" or artifact["properties"]["displayName"] == stage
    }
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    for entry in synth.outdir.iterdir():
        if entry.name != "manifest.json":
            (tmp_path / entry.name).symlink_to(entry)
    assert selectors(tmp_path) == [f"{stage}/*"]
    assert cdk_ls(tmp_path, *selectors(tmp_path)) == stack_names(stage)


def test_stacks_narrows_the_selection_and_the_cli_adds_upstream_dependencies(synth):
    assert selectors(synth.outdir, ["Knowledge"]) == [f"{DEV}/Knowledge", f"{PROD}/Knowledge"]
    # Knowledge reads Data's curated bucket and Foundation's key: deploy brings both along.
    assert cdk_ls(synth.outdir, f"{DEV}/Knowledge") == stack_names(DEV, ["Foundation", "Data", "Knowledge"])
    assert cdk_ls(synth.outdir, f"{DEV}/Guardrails") == stack_names(DEV, ["Foundation", "Guardrails"])


def test_selection_fails_clearly_on_a_missing_assembly_or_stack(synth, tmp_path):
    with pytest.raises(SelectionError, match=r"no cloud assembly .* run `make synth` first"):
        selectors(tmp_path / "nothing-here")
    with pytest.raises(SelectionError, match=r"no stack 'Knowlege' in journey-customer-retention-dev \(its stacks: "):
        selectors(synth.outdir, ["Knowlege"])
    (tmp_path / "manifest.json").write_text(json.dumps({"version": "48.0.0", "artifacts": {}}))
    with pytest.raises(SelectionError, match="holds no stage"):
        selectors(tmp_path)


def test_the_selection_cli_prints_patterns_and_exits_2_on_errors(synth, tmp_path, capsys):
    assert selection_main([str(synth.outdir), "--stacks", "Data"]) == 0
    assert capsys.readouterr().out == f"{DEV}/Data\n{PROD}/Data\n"
    assert selection_main([str(tmp_path), "--", "true"]) == 2
    assert "stack selection: " in capsys.readouterr().err


def test_the_makefile_appends_the_selection_to_deploy_diff_and_destroy():
    makefile = (REPO / "Makefile").read_text()
    for command in ("deploy", "diff", "destroy"):
        (recipe,) = [line for line in makefile.splitlines() if f"npx cdk {command} " in line]
        assert recipe.startswith("\t$(SELECT) npx cdk"), recipe
        assert "--all" not in recipe
    assert "SELECT := $(PY) -m tools.stack_selection $(CDK_OUT)" in makefile


# -------------------------------------------------------------------------------- the nag gate


def _bad_app(folder: Path) -> None:
    """An app with one deliberately bad construct: a bucket without encryption, logs or TLS policy."""
    app = app_module.gated_app(folder)
    stack = cdk.Stack(app, "Bad")
    s3.Bucket(stack, "Open")
    add_nag_packs(app)
    app.synth()


def test_an_unacknowledged_finding_fails_synth_and_publishes_nothing(tmp_path):
    outdir = tmp_path / "cdk.out"
    outdir.mkdir()
    (outdir / "last-good.txt").write_text("the previous assembly")
    with pytest.raises(NagGateError) as raised:
        gated_synth(_bad_app, outdir)
    message = str(raised.value)
    assert "Bad/Open/Resource: AwsSolutions-S1: " in message  # the exact rule id and construct
    assert "stacks.common.nag.acknowledge" in message
    assert {f.rule for f in raised.value.findings} >= {"AwsSolutions-S1", "AwsSolutions-S10"}
    assert [p.name for p in outdir.iterdir()] == ["last-good.txt"]  # untouched
    assert [p.name for p in tmp_path.iterdir()] == ["cdk.out"]  # the staging folder is gone


def test_cdks_own_cloudformation_validation_is_part_of_the_gate(tmp_path):
    def too_long_a_name(folder: Path) -> None:
        app = cdk.App(
            outdir=str(folder), auto_synth=False, context={**cdk_json_context(), **app_module.APP_MODE_CONTEXT}
        )
        stack = cdk.Stack(app, "Named")
        events.CfnRule(stack, "Rule", name="r" * 65, schedule_expression="rate(1 hour)", state="DISABLED")
        add_nag_packs(app)
        app.synth()

    with pytest.raises(NagGateError) as raised:
        gated_synth(too_long_a_name, tmp_path / "cdk.out")
    assert "Named/Rule: F3033: Name: length 65 exceeds maximum 64" in str(raised.value)


def test_the_app_exits_1_with_the_findings_listed(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CDK_OUTDIR", str(tmp_path / "cdk.out"))
    monkeypatch.setattr(app_module, "synthesize", _bad_app)
    assert app_module.main() == 1
    # aws-cdk-lib prints its full report first; the gate's summary follows, one line per finding.
    err = capsys.readouterr().err
    gate = err[err.index("nag gate: ") :]
    assert gate.startswith("nag gate: 1")  # 1x findings: S1, S10 and the other packs' rules
    assert "\n  Bad/Open/Resource: AwsSolutions-S1: " in gate


def test_a_clean_synth_replaces_the_assembly_and_keeps_the_cli_lock(tmp_path):
    outdir = tmp_path / "cdk.out"
    outdir.mkdir()
    (outdir / "stale.template.json").write_text("{}")
    (outdir / "synth.lock").write_text("held by the CLI")

    def clean(folder: Path) -> None:
        app = app_module.gated_app(folder)
        cdk.CfnWaitConditionHandle(cdk.Stack(app, "Clean"), "Nothing")
        add_nag_packs(app)
        app.synth()

    gated_synth(clean, outdir)
    names = {p.name for p in outdir.iterdir()}
    assert {"manifest.json", "Clean.template.json", "synth.lock"} <= names
    assert "stale.template.json" not in names
    assert (outdir / "synth.lock").read_text() == "held by the CLI"
    assert report_findings(outdir) == []


def test_a_config_error_leaves_the_last_good_assembly_untouched(tmp_path):
    outdir = tmp_path / "cdk.out"
    outdir.mkdir()
    (outdir / "manifest.json").write_text('{"last": "good"}')
    context = {**json.loads((REPO / "cdk.json").read_text())["context"], "usecase": "no-such-case"}
    env = {**os.environ, "CDK_OUTDIR": str(outdir), "CDK_CONTEXT_JSON": json.dumps(context)}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"  # the venv's Node 24
    result = subprocess.run(
        [sys.executable, "app.py"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("config error: usecases/no-such-case/usecase.yaml: usecase: no such use case")
    assert [p.name for p in outdir.iterdir()] == ["manifest.json"]
    assert (outdir / "manifest.json").read_text() == '{"last": "good"}'
    assert [p.name for p in tmp_path.iterdir()] == ["cdk.out"]


# -------------------------------------------------------------------------------- pinned environments


def test_pinned_environments_in_two_regions_have_zero_unacknowledged_findings(pinned_synth: Synth):
    assert report_findings(pinned_synth.outdir) == []
    assert report_findings(pinned_synth.outdir, acknowledged=True)  # the packs ran
    # The acknowledgments were proven on concrete ARNs: pinned regions render as literals.
    rendered = json.dumps(pinned_synth.templates)
    for region in ("us-east-1", "eu-west-1"):
        assert f"arn:aws:states:{region}:111122223333:execution:" in rendered


# -------------------------------------------------------------------------------- use cases side by side

# Resource types whose name must be unique per account and region (or globally), and the property
# that holds it. Names scoped inside a parent (a vector index in its bucket, a data source in its
# knowledge base) and labels that need not be unique cannot collide across use cases; they are listed apart.
UNIQUE_NAMES = {
    ("AWS::S3::Bucket", "BucketName"),
    ("AWS::S3Vectors::VectorBucket", "VectorBucketName"),
    ("AWS::IAM::Role", "RoleName"),
    ("AWS::Lambda::Function", "FunctionName"),
    ("AWS::Events::Rule", "Name"),
    ("AWS::Events::EventBus", "Name"),
    ("AWS::StepFunctions::StateMachine", "StateMachineName"),
    ("AWS::Scheduler::Schedule", "Name"),  # unique in its schedule group (the account's default)
    ("AWS::KMS::Alias", "AliasName"),
    ("AWS::CloudTrail::Trail", "TrailName"),
    ("AWS::Bedrock::KnowledgeBase", "Name"),
    ("AWS::Bedrock::Guardrail", "Name"),
    ("AWS::Bedrock::Agent", "AgentName"),
    ("AWS::Bedrock::Prompt", "Name"),
    ("AWS::SSM::Parameter", "Name"),
    ("AWS::Logs::LogGroup", "LogGroupName"),
    ("AWS::SNS::Topic", "TopicName"),
    ("AWS::SQS::Queue", "QueueName"),
    ("AWS::DynamoDB::Table", "TableName"),
    ("AWS::SecretsManager::Secret", "Name"),
    ("AWS::Cognito::UserPool", "UserPoolName"),
    ("AWS::WAFv2::WebACL", "Name"),
    ("AWS::ApiGateway::RestApi", "Name"),
    ("AWS::CloudWatch::Dashboard", "DashboardName"),
    ("AWS::CloudWatch::CompositeAlarm", "AlarmName"),
    ("AWS::Logs::QueryDefinition", "Name"),  # not enforced by the service, but two use cases must not mix theirs
}
SCOPED_NAMES = {
    ("AWS::S3Vectors::Index", "IndexName"),  # inside its vector bucket
    ("AWS::Bedrock::DataSource", "Name"),  # inside its knowledge base
    ("AWS::Bedrock::AgentAlias", "AgentAliasName"),  # inside its agent
    ("AWS::SNS::Topic", "DisplayName"),  # a label on notifications, not an identifier
    ("AWS::IAM::Policy", "PolicyName"),  # inline in its role
    ("AWS::CloudWatch::Alarm", "MetricName"),  # names the metric an alarm watches
    ("AWS::Events::Rule", "EventBusName"),  # refers to a bus, does not name the rule
    ("AWS::Cognito::UserPoolClient", "ClientName"),  # inside its user pool
    ("AWS::Cognito::UserPoolGroup", "GroupName"),  # inside its user pool
    ("AWS::ApiGateway::Model", "Name"),  # inside its REST API
    ("AWS::ApiGateway::Authorizer", "Name"),  # inside its REST API
    ("AWS::ApiGateway::RequestValidator", "Name"),  # inside its REST API
    ("AWS::ApiGateway::Stage", "StageName"),  # inside its REST API
}


def physical_names(synth: Synth, stage: str) -> dict[tuple[str, str], set[str]]:
    """(type, property) -> literal names in the stacks of ``stage``; fails on a name property not classified."""
    names: dict[tuple[str, str], set[str]] = {}
    for stack, _, resource in synth.resources():
        if f"-{stage}-" not in stack:
            continue
        for prop, value in resource.get("Properties", {}).items():
            key = (resource["Type"], prop)
            if not (prop.endswith("Name") and isinstance(value, str)) or key in SCOPED_NAMES:
                continue
            assert key in UNIQUE_NAMES, f"classify {key} in UNIQUE_NAMES or SCOPED_NAMES"
            names.setdefault(key, set()).add(value)
    return names


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_two_use_cases_share_no_stack_name_or_physical_name(synth: Synth, pinned_synth: Synth, stage):
    first, second = physical_names(synth, stage), physical_names(pinned_synth, stage)
    assert first, "the default use case names resources explicitly"
    assert set(synth.templates).isdisjoint(pinned_synth.templates)
    for key in first.keys() & second.keys():
        assert first[key].isdisjoint(second[key]), f"{key}: {sorted(first[key] & second[key])}"
    assert all(PREFIX in name for names in first.values() for name in names)


def test_the_prefix_setting_renames_every_stack(tmp_path):
    renamed = synthesize(
        tmp_path / "out",
        prefix="team-a",
        **{"features.data": False, "features.knowledge": False, "features.agent": False, "features.api": False},
    )
    assert sorted(renamed.templates) == [
        "team-a-dev-Foundation",
        "team-a-dev-Guardrails",
        "team-a-dev-Observability",
        "team-a-dev-Prompts",
    ]
    assert stages(tmp_path / "out") == {"team-a-dev": ["Foundation", "Guardrails", "Prompts", "Observability"]}


# -------------------------------------------------------------------------------- without credentials


@pytest.mark.parametrize("command", [["deploy"], ["diff"], ["destroy", "--force"]])
def test_without_credentials_the_cli_fails_on_credentials_not_on_selection(synth, command):
    """The Makefile's recipe (`$(SELECT) npx cdk <command> --app cdk.out`) on the real assembly, no credentials."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        {
            "PATH": os.pathsep.join(
                [str(Path(sys.executable).parent), str(REPO / "node_modules" / ".bin"), env["PATH"]]
            ),
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
            "CDK_DISABLE_CLI_TELEMETRY": "true",
        }
    )
    cli = ["npx", "cdk", command[0], "--no-notices", "--app", str(synth.outdir), *command[1:]]
    result = subprocess.run(
        [sys.executable, "-m", "tools.stack_selection", str(synth.outdir), "--", *cli],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert f"'{DEV}/*' '{PROD}/*'" in output  # the selection it ran with, echoed
    assert "Unable to resolve AWS account" in output
    assert "No stack found" not in output
