"""cfn-lint (which knows the AWS::Bedrock::* and AWS::S3Vectors::* schemas) on every template."""

from __future__ import annotations

import pytest

from tests.cfn_lint import lint_template, problems


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
