"""Every nag acknowledgment sits on one resource and gives a reason a reviewer can check."""

from __future__ import annotations

import json
from dataclasses import dataclass

import aws_cdk as cdk
import pytest

from stacks.common.nag import MIN_REASON_LENGTH, acknowledge

KEY = cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY


@dataclass(frozen=True)
class Acknowledgment:
    path: str
    rule: str
    reason: str
    on_stack_or_stage: bool
    on_root: bool


@pytest.fixture(scope="module")
def acknowledgments(synth) -> list[Acknowledgment]:
    """Every acknowledgment in the app's construct tree, read once: the walk costs a jsii round trip a construct."""
    return [
        Acknowledgment(
            construct.node.path,
            rule_id,
            reason,
            isinstance(construct, (cdk.Stack, cdk.Stage)),
            construct.node.scope is None,
        )
        for construct in synth.app.node.find_all()
        for entry in construct.node.metadata
        if entry.type == KEY
        for rule_id, reason in entry.data.items()
    ]


def test_list_every_acknowledgment(acknowledgments, capsys):
    rows = sorted((a.path, a.rule, a.reason) for a in acknowledgments)
    assert rows, "the kit acknowledges known findings; an empty list means the walk is broken"
    with capsys.disabled():
        print(f"\n{len(rows)} nag acknowledgments")
    for path, rule, reason in rows:
        assert len(reason.strip()) >= MIN_REASON_LENGTH, (path, rule)


def test_no_acknowledgment_on_a_stack_stage_or_app(acknowledgments):
    for acknowledgment in acknowledgments:
        assert not acknowledgment.on_stack_or_stage, (acknowledgment.path, acknowledgment.rule)
        assert not acknowledgment.on_root, acknowledgment.rule


def test_synth_reports_zero_unacknowledged_findings(synth):
    report = json.loads((synth.outdir / "validation-report.json").read_text())
    # The Serverless pack reports only when the app has resources it checks (functions, queues).
    reports = {r["pluginName"]: r for r in report["pluginReports"]}
    assert {"AwsSolutions", "NIST.800.53.R5", "HIPAA.Security"} <= set(reports)
    assert {name: len(r["violations"]) for name, r in reports.items()} == dict.fromkeys(reports, 0)


def test_acknowledge_refuses_stacks_and_short_reasons():
    app = cdk.App()
    stack = cdk.Stack(app, "S")
    topic = cdk.aws_sns.Topic(stack, "T")
    with pytest.raises(ValueError, match="not on stack"):
        acknowledge(stack, "AwsSolutions::AwsSolutions-SNS2", "a long enough reason for the test")
    resource = topic.node.default_child
    assert resource is not None
    with pytest.raises(ValueError, match="shorter"):
        acknowledge(resource, "AwsSolutions::AwsSolutions-SNS2", "too short")
