"""Edges of the building blocks that the stack tests do not reach: name rules, length limits, exact policy text.

Found by `make mutate-sample` (tools/mutate_sample.py): each test here kills a mutant that survived the stacks tests.
"""

from __future__ import annotations

import json

import aws_cdk as cdk
import pytest
from aws_cdk import aws_kms as kms
from aws_cdk.assertions import Template

from stacks.common.kms_key import KitKey
from stacks.common.opensearch_vector_store import OpenSearchVectorStore
from stacks.common.vector_knowledge_base import _sanitize

KB_ROLE = "arn:aws:iam::111122223333:role/kb"


@pytest.mark.parametrize(
    ("name", "expected"),
    [("My__KB  name", "my-kb-name"), ("a1-store", "a1-store"), ("9lives", "kb-9lives"), ("--x--", "x")],
)
def test_vector_names_are_lower_case_with_single_hyphens_and_start_with_a_letter(name, expected):
    assert _sanitize(name) == expected


def _opensearch(collection_name: str) -> Template:
    stack = cdk.Stack(cdk.App(), "Store")
    OpenSearchVectorStore(
        stack,
        "Vectors",
        collection_name=collection_name,
        encryption_key=kms.Key(stack, "Key"),
        dimensions=1024,
        data_access_principal_arns=[KB_ROLE],
    )
    return Template.from_stack(stack)


@pytest.mark.parametrize("length", [3, 32])
def test_a_collection_name_of_3_to_32_characters_is_accepted(length):
    _opensearch("a" * length)


@pytest.mark.parametrize("length", [2, 33])
def test_a_collection_name_outside_3_to_32_characters_is_refused(length):
    with pytest.raises(ValueError, match="collection_name must be 3-32 characters"):
        _opensearch("a" * length)


def test_the_data_access_policy_grants_the_index_permissions_on_the_collections_indexes_only():
    (policy,) = _opensearch("kb-vectors").find_resources("AWS::OpenSearchServerless::AccessPolicy").values()
    document = policy["Properties"]["Policy"]
    # The principals hold deploy-time ARNs (Fn::Join of literal text and tokens); each token becomes TOKEN, which
    # sits inside a JSON string, so the text parses.
    parts = document["Fn::Join"][1] if isinstance(document, dict) else [document]
    rules = json.loads("".join(part if isinstance(part, str) else "TOKEN" for part in parts))[0]["Rules"]
    assert rules[1] == {
        "ResourceType": "index",
        "Resource": ["index/kb-vectors/*"],
        "Permission": rules[1]["Permission"],
    }
    assert {"aoss:ReadDocument", "aoss:WriteDocument"} <= set(rules[1]["Permission"])


def test_the_key_lets_cloudwatch_logs_encrypt_only_this_accounts_log_groups():
    stack = cdk.Stack(cdk.App(), "Keys")
    KitKey(stack, "Key", alias="alias/kit-test", description="test key", removal_policy=cdk.RemovalPolicy.DESTROY)
    (key,) = Template.from_stack(stack).find_resources("AWS::KMS::Key").values()
    (logs,) = [
        s
        for s in key["Properties"]["KeyPolicy"]["Statement"]
        if s.get("Sid") == "CloudWatchLogsEncryptsThisAccountsLogGroups"
    ]
    assert logs["Condition"] == {
        "ArnLike": {
            "kms:EncryptionContext:aws:logs:arn": {
                "Fn::Join": [
                    "",
                    [
                        "arn:",
                        {"Ref": "AWS::Partition"},
                        ":logs:",
                        {"Ref": "AWS::Region"},
                        ":",
                        {"Ref": "AWS::AccountId"},
                        ":log-group:*",
                    ],
                ]
            }
        }
    }
