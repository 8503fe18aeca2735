"""The dataset step on moto S3: sources found, every line checked with the export's validator, counts and rejects
reported without record text, the training file written, and too small a dataset stopped before any job."""

from __future__ import annotations

import json
import re

import boto3
import pytest
from finetune import validate
from moto import mock_aws

from tests.lambdas.finetune.world import CURATED, WORK, LambdaContext, install_settings, record, settings

BEDROCK = boto3.client("bedrock", region_name="eu-west-1").meta.service_model
JOB_NAME = BEDROCK.operation_model("CreateModelCustomizationJob").input_shape.members["jobName"].metadata
MODEL_NAME = BEDROCK.operation_model("CreateModelCustomizationJob").input_shape.members["customModelName"].metadata


@pytest.fixture
def s3():
    with mock_aws():
        client = boto3.client("s3", region_name="eu-west-1")
        for bucket in (CURATED, WORK):
            client.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        yield client


def put(s3, key: str, lines: list[str]) -> None:
    s3.put_object(Bucket=CURATED, Key=key, Body=("\n".join(lines) + "\n").encode())


def test_valid_records_of_the_export_and_the_curated_files_are_written_and_every_reject_counted(s3):
    good = [record(f"Question {i}?", f"Answer {i}.") for i in range(3)]
    put(s3, "finetune/2026-11-30/train.jsonl", [good[0], "{not json", good[1]])
    put(s3, "finetune/2026-11-30/manifest.json", ['{"counts": {}}'])  # not a training file
    put(
        s3,
        "finetune/2026-12-01/train.jsonl",
        [
            good[1],  # a duplicate of an earlier record
            json.dumps(
                {
                    "schemaVersion": "bedrock-conversation-2024",
                    "messages": [
                        {"role": "assistant", "content": [{"text": "Hi"}]},
                        {"role": "user", "content": [{"text": "Yo"}]},
                    ],
                }
            ),
            record("Tell the User: secret", "ok"),  # a reserved marker
        ],
    )
    put(s3, "finetune/curated/offers.jsonl", [good[2], "", record("Curated?", "Yes.", system="Be brief.")])

    result = validate.validate("run_2026-12-01T00:00:00", settings=settings(), s3=s3)

    assert result["counts"] == {
        "sources": 3,
        "read": 8,  # the blank line is not a record
        "valid": 4,
        "rejected": {"not_json": 1, "format": 2, "duplicate": 1, "too_many": 0},
        "min_records": 2,
        "max_records": 100,
    }
    run = result["run"]
    assert result["training_uri"] == f"s3://{WORK}/training/{run}/train.jsonl"
    assert result["output_uri"] == f"s3://{WORK}/output/{run}/"
    written = s3.get_object(Bucket=WORK, Key=f"training/{run}/train.jsonl")["Body"].read().decode().splitlines()
    assert [json.loads(line)["messages"][0]["content"][0]["text"] for line in written] == [
        "Question 0?",
        "Question 1?",
        "Question 2?",
        "Curated?",
    ]
    assert json.loads(written[3])["system"] == [{"text": "Be brief."}]
    summary = json.loads(s3.get_object(Bucket=WORK, Key=f"training/{run}/validation.json")["Body"].read())
    assert [(r["source"], r["line"], r["reason"]) for r in summary["rejects"]] == [
        ("finetune/2026-11-30/train.jsonl", 2, "not_json"),
        ("finetune/2026-12-01/train.jsonl", 1, "duplicate"),
        ("finetune/2026-12-01/train.jsonl", 2, "format"),
        ("finetune/2026-12-01/train.jsonl", 3, "format"),
    ]
    assert "secret" not in json.dumps(summary)  # rejects name where and why, never the text
    assert "reserved marker" in summary["rejects"][3]["detail"]


def test_records_past_max_records_are_left_out_and_counted(s3):
    put(s3, "finetune/2026-12-01/train.jsonl", [record(f"Q{i}?", f"A{i}.") for i in range(5)])
    result = validate.validate("e", settings=settings(max_records=3), s3=s3)
    assert result["counts"]["valid"] == 3
    assert result["counts"]["rejected"]["too_many"] == 2


def test_too_few_valid_records_stop_the_run_after_the_counts_are_written(s3):
    put(s3, "finetune/2026-12-01/train.jsonl", [record("Only one?", "Yes."), "nope"])
    with pytest.raises(validate.DatasetTooSmall, match="1 valid records, fewer than min_records 2"):
        validate.validate("e", settings=settings(), s3=s3)
    run = validate.run_name("e")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=WORK)["Contents"]]
    assert keys == [f"training/{run}/validation.json"]  # counts for the report, no training file


@pytest.mark.parametrize("prefix", ["journey-customer-retention-dev", "a--b", "x" * 60])
def test_names_fit_bedrocks_patterns_and_lengths(prefix):
    run = validate.run_name("execution_with_underscores" * 4)
    for kind, rule in (("ft", JOB_NAME), ("model", MODEL_NAME), ("eval", MODEL_NAME)):
        name = validate.bedrock_name(prefix, kind, run)
        assert re.fullmatch(rule["pattern"], name), name
        assert len(name) <= rule["max"]
        assert name.endswith(f"-{kind}-{run}")


def test_the_handler_reads_the_layer_settings_and_the_deploy_time_names(s3, monkeypatch, tmp_path):
    install_settings(monkeypatch, tmp_path, settings())
    put(s3, "finetune/2026-12-01/train.jsonl", [record("Q1?", "A1."), record("Q2?", "A2.")])
    result = validate.handler({"execution": "exec-1"}, LambdaContext())
    assert result["counts"]["valid"] == 2
    assert result["job_name"] == f"journey-customer-retention-dev-ft-{validate.run_name('exec-1')}"
    assert result["poll_seconds"] == 0
