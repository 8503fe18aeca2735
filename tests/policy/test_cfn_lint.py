"""cfn-lint (which knows the AWS::Bedrock::* and AWS::S3Vectors::* schemas) on every template."""

from __future__ import annotations

import json

import pytest
from cfnlint.api import ManualArgs, lint

from tools.iam_check import FRAMEWORK_PROVIDERS

REGIONS = ["us-east-1", "eu-west-1"]


def test_every_template_is_clean(synth):
    problems = {}
    for stack, template in synth.templates.items():
        matches = [
            m
            for m in lint(json.dumps(template), regions=REGIONS, config=ManualArgs(regions=REGIONS))
            # CDK's own framework providers are not the kit's code (W3005 on their DependsOn).
            if not (len(m.path) > 1 and str(m.path[1]).startswith(FRAMEWORK_PROVIDERS))
        ]
        if matches:
            problems[stack] = [f"{m.rule.id} {m.message} @ {'/'.join(map(str, m.path))}" for m in matches]
    assert problems == {}


@pytest.mark.parametrize(
    ("resource", "rule"),
    [
        ({"Type": "AWS::S3::Bucket", "Properties": {"BucketName": 3}}, "E3031"),
        ({"Type": "AWS::SNS::Topic", "Properties": {"Nonsense": True}}, "E3002"),
        ({"Type": "AWS::Bedrock::KnowledgeBase", "Properties": {"Name": "kb"}}, "E3003"),
    ],
)
def test_the_linter_reports_what_it_should(resource, rule):
    matches = lint(json.dumps({"Resources": {"R": resource}}), regions=REGIONS)
    assert rule in {m.rule.id for m in matches}
