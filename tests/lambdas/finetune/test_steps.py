"""The evaluate, gate, approval and report steps: Stubber for Bedrock (the requests checked against the API model),
moto for SNS and S3, and the metrics against the reference library computed independently."""

from __future__ import annotations

import itertools
import json
import shlex

import boto3
import pytest
import sacrebleu
from botocore.stub import Stubber
from finetune import approval, evaluate, gate, report
from moto import mock_aws

from tests.lambdas.finetune.world import GOLDEN, TOPIC_NAME, WORK, LambdaContext, install_settings, settings

CUSTOM = "arn:aws:bedrock:eu-west-1:123456789012:custom-model-deployment/abc123"
BASE = "amazon.nova-micro-v1:0"


def converse_response(text: str, tokens: tuple[int, int] = (20, 8)) -> dict:
    return {
        "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
        "stopReason": "end_turn",
        "usage": {"inputTokens": tokens[0], "outputTokens": tokens[1], "totalTokens": sum(tokens)},
        "metrics": {"latencyMs": 100},
    }


def expect(stub: Stubber, model: str, case, answer: str) -> None:
    stub.add_response(
        "converse",
        converse_response(answer),
        {
            "modelId": model,
            "messages": [{"role": "user", "content": [{"text": evaluate.golden_prompt(case)}]}],
            "inferenceConfig": {"temperature": 0, "maxTokens": 512},
        },
    )


def test_golden_prompt_labels_each_variable_in_file_order():
    assert evaluate.golden_prompt(GOLDEN[0]) == (
        "question:\nHow long can a customer pause?\n\ncontext:\n[1] Up to three months once a year."
    )


def test_both_models_answer_every_golden_case_and_are_scored_with_the_reference_library():
    runtime = boto3.client("bedrock-runtime", region_name="eu-west-1")
    base_answers = ["Three months.", "No."]
    with Stubber(runtime) as stub:
        for case in GOLDEN:
            expect(stub, CUSTOM, case, case.reference)  # the custom model answers exactly
        for case, answer in zip(GOLDEN, base_answers, strict=True):
            expect(stub, BASE, case, answer)
        ticks = itertools.count(step=0.25)
        result = evaluate.evaluate_custom_against_base(
            CUSTOM, settings=settings(), runtime=runtime, clock=lambda: next(ticks)
        )
        stub.assert_no_pending_responses()

    assert result["custom"]["model"] == CUSTOM
    assert result["base"]["model"] == BASE
    assert result["custom"]["values"]["BLEU"] == pytest.approx(100.0)
    assert result["custom"]["values"]["WER"] == 0.0
    references = [case.reference for case in GOLDEN]
    assert result["base"]["values"]["BLEU"] == pytest.approx(sacrebleu.corpus_bleu(base_answers, [references]).score)
    assert result["custom"]["values"]["LatencyP50"] == 250.0  # one clock step per call
    assert result["custom"]["input_tokens"] == 40


def test_a_failed_model_call_fails_the_step():
    runtime = boto3.client("bedrock-runtime", region_name="eu-west-1")
    with Stubber(runtime) as stub:
        stub.add_client_error("converse", "AccessDeniedException", http_status_code=403)
        with pytest.raises(runtime.exceptions.AccessDeniedException):
            evaluate.evaluate_custom_against_base(CUSTOM, settings=settings(), runtime=runtime)


def evaluation(custom: dict, base: dict) -> dict:
    return {"custom": {"values": custom}, "base": {"values": base}}


def test_gate_promotes_only_a_model_that_passes_and_beats_the_base_by_the_margin():
    base = {"BLEU": 25.0, "ROUGEL": 0.40, "WER": 0.50, "LatencyP50": 10.0}
    better = {"BLEU": 26.0, "ROUGEL": 0.42, "WER": 0.45, "LatencyP50": 99.0}
    assert gate.decide(evaluation(better, base), settings())["accepted"] is True
    barely = {**better, "ROUGEL": 0.4079}  # 1.98% better, the margin is 2%
    decided = gate.decide(evaluation(barely, base), settings())
    assert decided["accepted"] is False
    assert decided["reasons"] == ["ROUGEL 0.4079 does not beat the base model 0.4 by the margin 2.00%"]
    assert decided["margin"] == 0.02


@pytest.fixture
def aws():
    with mock_aws():
        yield


def subscribed_queue() -> tuple:
    sns, sqs = boto3.client("sns", region_name="eu-west-1"), boto3.client("sqs", region_name="eu-west-1")
    topic = sns.create_topic(Name=TOPIC_NAME)["TopicArn"]
    queue = sqs.create_queue(QueueName="approvals")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})
    return sns, sqs, topic, queue


def test_the_approval_request_reaches_the_topic_with_the_token_and_both_commands(aws, monkeypatch, tmp_path):
    _, sqs, topic, queue = subscribed_queue()
    install_settings(monkeypatch, tmp_path, settings(alarm_topic_arn=topic))
    token = "AQCEAAAAKgAAAAMAAAAA+token/with'quote"
    event = {
        "token": token,
        "run": "abc123",
        "model_arn": "arn:aws:bedrock:eu-west-1:123456789012:custom-model/amazon.nova-micro-v1:0:128k/x",
        "promotion": "deployment",
        "gate": {"deltas": [{"metric": "BLEU", "candidate": 26.0, "baseline": 25.0}]},
    }

    approval.handler(event, LambdaContext())

    (message,) = sqs.receive_message(QueueUrl=queue)["Messages"]
    body = message["Body"]
    assert approval.approve_command(token) in body
    assert approval.reject_command(token) in body
    assert "BLEU: custom 26 vs base 25" in body
    assert "this starts billing" in body
    # The commands parse back to the exact token (shell quoting), and name the error the workflow catches.
    approve = shlex.split(approval.approve_command(token))
    assert approve[approve.index("--task-token") + 1] == token
    assert json.loads(approve[approve.index("--task-output") + 1]) == {"approved": True}
    reject = shlex.split(approval.reject_command(token))
    assert reject[reject.index("--error") + 1] == "Rejected"


def test_the_approval_subject_fits_sns():
    subject, _ = approval.approval_message({"token": "t", "run": "r" * 200}, settings())
    assert len(subject) == approval.SUBJECT_MAX


@pytest.fixture
def s3(aws):
    client = boto3.client("s3", region_name="eu-west-1")
    client.create_bucket(Bucket=WORK, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    return client


def test_a_failed_step_is_reported_with_its_name_error_and_cause(s3):
    cause = json.dumps({"errorMessage": "1 valid records, fewer than min_records 2", "errorType": "DatasetTooSmall"})
    event = {
        "outcome": "failed",
        "execution": "exec-9",
        "state": {"failed_step": "validate", "error": {"Error": "DatasetTooSmall", "Cause": cause}},
    }
    result = report.write_report(event, settings=settings(), s3=s3)
    assert result == {"outcome": "failed", "report": f"s3://{WORK}/reports/exec-9/report.md"}
    saved = json.loads(s3.get_object(Bucket=WORK, Key="reports/exec-9/report.json")["Body"].read())
    assert saved["failed_step"] == "validate"
    assert saved["error"] == {"error": "DatasetTooSmall", "cause": "1 valid records, fewer than min_records 2"}
    text = s3.get_object(Bucket=WORK, Key="reports/exec-9/report.md")["Body"].read().decode()
    assert "**Failed at:** validate" in text
    assert "`DatasetTooSmall`" in text


def test_a_promoted_run_reports_dataset_metrics_and_gate(s3):
    state = {
        "dataset": {"run": "abc", "counts": {"sources": 2, "read": 10, "valid": 9, "rejected": {"format": 1}}},
        "evaluation": evaluation({"BLEU": 30.0, "Perplexity": None}, {"BLEU": 20.0, "Perplexity": None}),
        "gate": {"accepted": True, "reasons": []},
        "promotion": {"arn": "arn:aws:bedrock:eu-west-1:1:custom-model-deployment/x"},
    }
    report.write_report({"outcome": "promoted", "execution": "e", "state": state}, settings=settings(), s3=s3)
    text = s3.get_object(Bucket=WORK, Key="reports/abc/report.md")["Body"].read().decode()
    assert text.startswith("# Fine-tuning run abc: promoted")
    assert "9 valid of 10 read from 2 files; rejected: format 1" in text
    assert "| BLEU | 30 | 20 |" in text
    assert "| Perplexity | unavailable | unavailable |" in text
    saved = json.loads(s3.get_object(Bucket=WORK, Key="reports/abc/report.json")["Body"].read())
    assert saved["failed_step"] is None


def test_an_unknown_outcome_is_an_error_not_a_report():
    with pytest.raises(ValueError, match="unknown outcome"):
        report.build_report({"outcome": "maybe"})
