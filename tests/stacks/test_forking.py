"""Forkable for real: each stack synthesizes alone, in a fresh App, against a team's own resources.

The props take CDK interfaces (`kms.IKey`, `s3.IBucket`, `sns.ITopic`, `events.IEventBus`); here they are imported
(`Key.from_key_arn`, `Bucket.from_bucket_name`, `Topic.from_topic_arn`, `EventBus.from_event_bus_arn`), every nag
pack runs, and nothing is left unacknowledged. A statement a stack would add to a key policy it does not own is
never dropped silently: the stack carries a warning with the exact statement to add (CDK design guidelines,
"Dropped Mutations"). The last test runs the README's forking example, copied as written into a folder that holds
only the packages it needs.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import aws_cdk.cx_api as cx_api
import pytest
from aws_cdk import aws_events as events
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns

from stacks.app_builder import cdk_json_context
from stacks.common.cdk_context import PROJECT_ROOT
from stacks.common.dependency_layer import layer_folder
from stacks.common.nag import add_nag_packs
from stacks.common.stage_policy import StagePolicy
from stacks.data.stack import DataProps, DataStack
from stacks.foundation.stack import FoundationProps, FoundationStack
from stacks.guardrails.stack import GuardrailsProps, GuardrailsStack
from stacks.knowledge.stack import KnowledgeProps, KnowledgeStack
from stacks.synth_gate import report_findings
from stacks.usecase_files import UseCaseFiles, load_usecase_files

ACCOUNT, REGION = "111122223333", "us-east-1"
ENV = cdk.Environment(account=ACCOUNT, region=REGION)
KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
TOPIC_ARN = f"arn:aws:sns:{REGION}:{ACCOUNT}:platform-alarms"
BUS_ARN = f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/platform"
PREFIX = "team-dev"
KEY_POLICY_WARNING = "journey:key-policy:"


class Imported:
    """A team's existing resources, referenced by name or ARN. They are imported into a stack of another,
    never-synthesized app: the app under test holds the stack under test and nothing else (an empty stack of
    imports would fail CDK's own template validation)."""

    def __init__(self) -> None:
        scope = cdk.Stack(cdk.App(), "Existing", env=ENV)
        self.key = kms.Key.from_key_arn(scope, "Key", KEY_ARN)
        self.access_logs = s3.Bucket.from_bucket_name(scope, "AccessLogs", "platform-access-logs")
        self.curated = s3.Bucket.from_bucket_name(scope, "Curated", "platform-curated")
        self.topic = sns.Topic.from_topic_arn(scope, "Alarms", TOPIC_ARN)
        self.bus = events.EventBus.from_event_bus_arn(scope, "Bus", BUS_ARN)


@pytest.fixture(scope="module")
def files() -> UseCaseFiles:
    return load_usecase_files(cdk_json_context()["usecase"])


def _synth(app: cdk.App, outdir: Path, stack: cdk.Stack) -> list[str]:
    """Synthesize with every nag pack; assert zero unacknowledged findings (the packs ran); return the stack's
    warnings."""
    add_nag_packs(app)
    assembly = app.synth()
    assert report_findings(outdir) == []
    assert report_findings(outdir, acknowledged=True)  # the packs ran over the stack
    artifact = assembly.get_stack_artifact(stack.artifact_id)
    assert artifact.template["Resources"]
    return [str(m.entry.data) for m in artifact.messages if m.level == cx_api.SynthesisMessageLevel.WARNING]


def _key_policy_statements(warnings: list[str]) -> dict[str, dict[str, Any]]:
    """The statements the warnings ask to add to the imported key's policy, by Sid."""
    statements = {}
    for warning in warnings:
        if KEY_POLICY_WARNING not in warning:
            continue
        assert KEY_ARN in warning  # names the key whose policy needs it
        statement = json.loads(warning[warning.index("{") : warning.rindex("}") + 1])
        statements[statement["Sid"]] = statement
    return statements


def _app(tmp_path: Path) -> cdk.App:
    return cdk.App(outdir=str(tmp_path), context=cdk_json_context())


def test_foundation_synthesizes_alone_with_every_pack(tmp_path: Path) -> None:
    app = _app(tmp_path)
    stack = FoundationStack(
        app, "Foundation", env=ENV, props=FoundationProps(name_prefix=PREFIX, stage=StagePolicy("dev"))
    )
    warnings = _synth(app, tmp_path, stack)
    assert not [w for w in warnings if KEY_POLICY_WARNING in w]  # it owns its key: every statement is in it


def test_data_against_imported_resources_warns_with_the_key_statements_to_add(
    tmp_path: Path, files: UseCaseFiles
) -> None:
    app = _app(tmp_path)
    existing = Imported()
    stack = DataStack(
        app,
        "Data",
        env=ENV,
        props=DataProps(
            key=existing.key,
            access_logs=existing.access_logs,
            alarm_topic=existing.topic,
            stage=StagePolicy("dev"),
            name_prefix=PREFIX,
            usecase_id=files.usecase.id,
            settings=files.data,
            event_bus=existing.bus,
        ),
    )
    warnings = _synth(app, tmp_path, stack)
    statements = _key_policy_statements(warnings)
    trail = f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/{PREFIX}-data-audit"
    assert statements["CloudTrailDecryptsForBucketKeyOfTeamDevDataAudit"] == {
        "Sid": "CloudTrailDecryptsForBucketKeyOfTeamDevDataAudit",
        "Effect": "Allow",
        "Principal": {"Service": "cloudtrail.amazonaws.com"},
        "Action": "kms:Decrypt",
        "Resource": "*",
        "Condition": {"StringEquals": {"aws:SourceArn": trail}},
    }
    assert {"CloudTrailEncryptsLogsOfTeamDevDataAudit", "CloudTrailDescribesKeyForTeamDevDataAudit"} <= set(statements)
    (dead_letters,) = [s for sid, s in statements.items() if sid.startswith("EventBridgeDeadLettersOf")]
    assert dead_letters["Principal"] == {"Service": "events.amazonaws.com"}
    assert dead_letters["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert dead_letters["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT}
    assert json.dumps(dead_letters["Condition"]["ArnLike"]).count(f"{PREFIX}-data-ready") == 1
    # The imported access-log bucket's policy is not changed either: the same kind of warning says what to add.
    assert any("journey:access-log-policy" in w for w in warnings)
    # Published events go to the team's bus.
    template = json.dumps(app.synth().get_stack_by_name(stack.stack_name).template)
    assert BUS_ARN in template


def test_knowledge_against_imported_resources_warns_with_the_key_statements_to_add(
    tmp_path: Path, files: UseCaseFiles
) -> None:
    app = _app(tmp_path)
    existing = Imported()
    stack = KnowledgeStack(
        app,
        "Knowledge",
        env=ENV,
        props=KnowledgeProps(
            name_prefix=PREFIX,
            stage=StagePolicy("dev"),
            key=existing.key,
            alarm_topic=existing.topic,
            curated_bucket=existing.curated,
            curated_prefix="documents/",
            event_bus=existing.bus,
            settings=files.knowledge,
        ),
    )
    warnings = _synth(app, tmp_path, stack)
    statements = _key_policy_statements(warnings)
    (indexing,) = [s for sid, s in statements.items() if sid.startswith("S3VectorsIndexing")]
    assert indexing["Principal"] == {"Service": "indexing.s3vectors.amazonaws.com"}
    assert indexing["Action"] == "kms:Decrypt"
    (sync,) = [s for sid, s in statements.items() if sid.startswith("EventBridgeSendsKnowledgeSyncRequests")]
    assert sync["Principal"] == {"Service": "events.amazonaws.com"}
    assert sync["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT}
    assert f"{PREFIX}-knowledge-sync" in json.dumps(sync["Condition"]["ArnLike"])
    template = json.dumps(app.synth().get_stack_by_name(stack.stack_name).template)
    assert ":s3:::platform-curated/documents/*" in template  # reads only the prefix of the team's bucket
    rules = app.synth().get_stack_by_name(stack.stack_name).template["Resources"]
    assert [r["Properties"].get("EventBusName") for r in rules.values() if r["Type"] == "AWS::Events::Rule"][:1] == [
        "platform"
    ]  # DatasetPublished is matched on the team's bus


def test_guardrails_against_an_imported_key(tmp_path: Path, files: UseCaseFiles) -> None:
    app = _app(tmp_path)
    existing = Imported()
    stack = GuardrailsStack(
        app,
        "Guardrails",
        env=ENV,
        props=GuardrailsProps(
            key=existing.key,
            stage=StagePolicy("dev"),
            usecase_id=files.usecase.id,
            policy=files.guardrail_policy,
            name_prefix=PREFIX,
            safety=files.safety,
            custom_models=True,
            access_logs=existing.access_logs,
        ),
    )
    warnings = _synth(app, tmp_path, stack)
    template = json.dumps(app.synth().get_stack_by_name(stack.stack_name).template)
    assert KEY_ARN in template  # the guardrail and the training data use the team's key
    assert not _key_policy_statements(warnings)  # identity-policy grants only: nothing for the key's policy
    assert any("journey:access-log-policy" in w for w in warnings)


# ------------------------------------------------------------------------------------- README's forking example

README = PROJECT_ROOT / "README.md"
FORKING_SECTION = "## Forking one stack"


def readme_forking_example() -> str:
    text = README.read_text(encoding="utf-8")
    section = text[text.index(FORKING_SECTION) :]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match is not None, "README's forking section has no python block"
    return match.group(1)


def _copy_fork(example: str, folder: Path) -> None:
    """Only what a team copies: stacks/common/, stacks/config/ and the stage packages the example imports, plus
    lambdas/, requirements-lambda.txt and cdk.json (KitFunction's code asset and dependency layer, resolved from
    the project root) and the dependency layer's build (as `make` leaves it; the test has no network for pip)."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    stages = sorted(set(re.findall(r"^from stacks\.(\w+)", example, re.M)) - {"common", "config"})
    assert "app_builder" not in stages, "the example must not import stacks.app_builder (it imports every stack)"
    (folder / "stacks").mkdir()
    shutil.copy(PROJECT_ROOT / "stacks" / "__init__.py", folder / "stacks" / "__init__.py")
    for package in ["common", "config", *stages]:
        shutil.copytree(PROJECT_ROOT / "stacks" / package, folder / "stacks" / package, ignore=ignore)
    shutil.copytree(PROJECT_ROOT / "lambdas", folder / "lambdas", ignore=ignore)
    for name in ("requirements-lambda.txt", "cdk.json"):
        shutil.copy(PROJECT_ROOT / name, folder / name)
    built = layer_folder()
    if built.is_dir():
        shutil.copytree(built, folder / built.relative_to(PROJECT_ROOT))
    (folder / "app.py").write_text(example, encoding="utf-8")


def test_readme_forking_example_runs_in_a_folder_with_only_the_copied_packages(tmp_path: Path) -> None:
    example = readme_forking_example()
    assert "stacks.app_builder" not in example
    fork = tmp_path / "fork"
    fork.mkdir()
    _copy_fork(example, fork)
    assert sorted(p.name for p in (fork / "stacks").iterdir() if p.is_dir()) == [
        "common",
        "config",
        "foundation",
        "knowledge",
    ]
    outdir = tmp_path / "cdk.out"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["CDK_OUTDIR"] = str(outdir)
    result = subprocess.run(
        [sys.executable, "app.py"], cwd=fork, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stderr[-4000:]
    templates = {p.name: json.loads(p.read_text()) for p in outdir.glob("*.template.json")}
    knowledge = [t for name, t in templates.items() if "Knowledge" in name]
    assert len(knowledge) == 1
    assert knowledge[0]["Resources"]
    assert any("Foundation" in name for name in templates)
    assert report_findings(outdir) == []
    assert report_findings(outdir, acknowledged=True)
