"""Every permission in every synthesized template is the least one that works (offline IAM data)."""

from __future__ import annotations

import pytest

from tools.iam_check import check, check_allowlist, load_allowlist, statements


@pytest.fixture(scope="module")
def allowlist():
    return load_allowlist()


def test_allowlist_lists_only_real_actions_without_resource_types(allowlist):
    assert check_allowlist(allowlist) == []


def test_synthesized_templates_pass_the_iam_check(synth, allowlist):
    assert check(synth.templates, allowlist) == []


def test_the_check_reads_policies_of_every_kind(synth):
    kinds = {s.resource_type for s in statements(synth.templates)}
    assert {"AWS::KMS::Key", "AWS::S3::BucketPolicy", "AWS::SNS::TopicPolicy"} <= kinds


BAD = {
    "wildcard action": ({"Effect": "Allow", "Action": "s3:GetObject*", "Resource": "arn:aws:s3:::b/*"}, "wildcard"),
    "unknown action": ({"Effect": "Allow", "Action": "s3:GetObjects", "Resource": "arn:aws:s3:::b/*"}, "unknown"),
    "star resource for a typed action": ({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}, "allow-list"),
    "not action": ({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}, "NotAction"),
}


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
def test_the_check_rejects(case, allowlist):
    statement, expected = BAD[case]
    template = {
        "Resources": {"P": {"Type": "AWS::IAM::Policy", "Properties": {"PolicyDocument": {"Statement": [statement]}}}}
    }
    findings = check({"s": template}, allowlist)
    assert len(findings) == 1
    assert expected in findings[0]


def test_the_check_accepts_allowlisted_star_and_tls_deny(allowlist):
    template = {
        "Resources": {
            "P": {
                "Type": "AWS::IAM::Policy",
                "Properties": {
                    "PolicyDocument": {
                        "Statement": [{"Effect": "Allow", "Action": "xray:PutTraceSegments", "Resource": "*"}]
                    }
                },
            },
            "B": {
                "Type": "AWS::S3::BucketPolicy",
                "Properties": {
                    "PolicyDocument": {"Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": "*"}]}
                },
            },
        }
    }
    assert check({"s": template}, allowlist) == []


def test_allowlist_check_rejects_actions_that_have_resource_types():
    findings = check_allowlist({"s3:GetObject": "objects are read by the pipeline step"})
    assert findings
    assert "resource types" in findings[0]
