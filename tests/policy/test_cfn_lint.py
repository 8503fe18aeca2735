"""cfn-lint (which knows the AWS::Bedrock::* and AWS::S3Vectors::* schemas) on every template."""

from __future__ import annotations

import json
from typing import Any

import pytest
from cfnlint.api import lint
from cfnlint.config import ManualArgs
from cfnlint.rules import Match

from tests.cfn_lint import REGIONS, lint_template, problems


def test_every_template_is_clean(synth):
    found = {stack: problems(template) for stack, template in synth.templates.items()}
    assert {stack: matches for stack, matches in found.items() if matches} == {}


@pytest.mark.parametrize(
    ("resource", "rule"),
    [
        ({"Type": "AWS::S3::Bucket", "Properties": {"BucketName": 3}}, "E3031"),
        ({"Type": "AWS::SNS::Topic", "Properties": {"Nonsense": True}}, "E3002"),
        ({"Type": "AWS::Bedrock::KnowledgeBase", "Properties": {"Name": "kb"}}, "E3003"),
    ],
)
def test_the_linter_reports_what_it_should(resource, rule):
    matches = lint_template({"Resources": {"R": resource}})  # the shared rules, as the test above uses them
    assert rule in {m.rule.id for m in matches}


def test_the_shared_runner_finds_what_cfn_lints_own_api_finds():
    """The helper runs cfn-lint's runner with rules built once (``lint`` would build them per template): the
    matches must be the API's, rule, message and path, on a template with problems of several kinds."""
    template = {
        "Parameters": {"Unused": {"Type": "String"}},
        "Resources": {
            "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": 3, "Nonsense": True}},
            "Topic": {"Type": "AWS::SNS::Topic", "Properties": {"KmsMasterKeyId": {"Ref": "Missing"}}},
            "Kb": {"Type": "AWS::Bedrock::KnowledgeBase", "Properties": {"Name": "kb"}},
        },
    }
    regions = list(REGIONS)
    expected = lint(json.dumps(template), regions=regions, config=ManualArgs(regions=regions))

    def key(matches: list[Match]) -> list[tuple[str, str, tuple[str, ...]]]:
        return sorted((m.rule.id, m.message, tuple(map(str, m.path))) for m in matches)

    assert len(expected) >= 5
    assert key(lint_template(template)) == key(expected)


def test_only_w3005_on_a_framework_provider_is_left_out():
    """CDK's providers carry a DependsOn their GetAtt already enforces (W3005): that finding alone is dropped, on
    them alone; anything else wrong with a provider, and W3005 on the kit's own resources, are reported."""
    provider = "CustomS3AutoDeleteObjectsCustomResourceProviderHandler9D90184F"
    function: dict[str, Any] = {
        "Type": "AWS::Lambda::Function",
        "DependsOn": ["Role"],
        "Properties": {
            "Role": {"Fn::GetAtt": ["Role", "Arn"]},
            "Code": {"ZipFile": "x"},
            "Handler": "index.handler",
            "Runtime": "nodejs22.x",
        },
    }
    template = {
        "Resources": {
            "Role": {
                "Type": "AWS::IAM::Role",
                "Properties": {"AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": []}},
            },
            provider: {**function, "Properties": {**function["Properties"], "Nonsense": 1}},
            "Mine": function,
        }
    }
    assert {(m.rule.id, m.path[1]) for m in lint_template(template)} == {
        ("W3005", provider),
        ("E3002", provider),
        ("W3005", "Mine"),
    }
    assert [line.split(" @ ")[1] for line in problems(template)] == [
        f"Resources/{provider}/Properties/Nonsense",
        "Resources/Mine/DependsOn/0",
    ]
