"""The evaluation steps over moto S3, the real chat pipeline over model-checked Bedrock responders,
and Stubber for Bedrock's CreateEvaluationJob: predictions, scores equal to the reference libraries', the report,
the metrics, the last accepted run, the gate's failures, the judge job."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import jiwer
import pytest
import sacrebleu
from botocore.stub import Stubber
from common.evaluation import label_metrics
from evaluation import run_task, score
from evaluation.contract import INFERENCE_SOURCE, BedrockEvaluation
from evaluation.judge import job_name
from evaluation.models import RunTaskRequest, ScoreRequest
from evaluation.runner import Prediction, Throttled, message_of
from moto import mock_aws
from rouge_score import rouge_scorer

from tests.lambdas.api.bedrock_fakes import Error
from tests.lambdas.evaluation.world import (
    ANSWER_CASES,
    BUCKET,
    CLASSIFY_CASES,
    GOOD,
    REGION,
    TOKENS,
    evaluation_settings,
    serving,
)

NOW = datetime(2026, 12, 2, 6, 0, tzinfo=UTC)


@pytest.fixture
def aws():
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        yield {"s3": s3, "published": []}


def run_all(aws: dict[str, Any], run_id: str, *, answers=GOOD, settings=None, bedrock=None, now=NOW) -> dict:
    settings = settings or evaluation_settings()
    pipeline = serving(answers).pipeline
    results = [
        run_task.process(RunTaskRequest(run_id=run_id, task=task), settings=settings, pipeline=pipeline, s3=aws["s3"])
        for task in settings.golden
    ]
    return score.process(
        ScoreRequest(run_id=run_id, results=results),
        settings=settings,
        s3=aws["s3"],
        bedrock=bedrock,
        now=now,
        publish=recorder(aws),
    )


def recorder(aws: dict[str, Any]) -> Any:
    def publish(namespace: str, usecase: str, data: Any, timestamp: datetime) -> None:
        aws["published"].append((namespace, usecase, timestamp, {task: dict(values) for task, values in data.items()}))

    return publish


def read(aws: dict[str, Any], key: str) -> bytes:
    return aws["s3"].get_object(Bucket=BUCKET, Key=key)["Body"].read()


def metric(aws: dict[str, Any], name: str, task: str, now: datetime = NOW) -> list[float]:
    """The values of ``name`` published for ``task`` by the run at ``now``."""
    return [
        data[task][name]
        for namespace, usecase, timestamp, data in aws["published"]
        if (namespace, usecase, timestamp) == ("JourneyKit/Quality", "customer-retention", now)
        and name in data.get(task, {})
    ]


# ------------------------------------------------------------------ run_task


def test_run_task_sends_each_golden_message_through_the_pipeline_and_writes_predictions(aws):
    w = serving()
    summary = run_task.process(
        RunTaskRequest(run_id="run-1", task="answer"), settings=evaluation_settings(), pipeline=w.pipeline, s3=aws["s3"]
    )
    assert summary == {
        "task": "answer",
        "cases": 3,
        "blocked": 0,
        "errors": 0,
        "predictions_key": "quality-evaluation/runs/run-1/predictions/answer.jsonl",
    }
    rows = [json.loads(line) for line in read(aws, summary["predictions_key"]).decode().splitlines()]
    assert [row["id"] for row in rows] == ["answer-001", "answer-002", "answer-003"]
    assert [row["output"] for row in rows] == [GOOD[message_of(case)] for case in ANSWER_CASES]
    assert all((row["input_tokens"], row["output_tokens"]) == (40, 12) for row in rows)
    assert all("logprobs" not in row and "blocked" not in row for row in rows)
    # The task's prompt (the Prompts stack's "answer") was used, with the question as the user's message.
    calls = w.runtime.params("ConverseStream")
    assert len(calls) == 3
    assert "Question: " in calls[0]["messages"][-1]["content"][0]["text"]
    assert "Up to three months a year" not in json.dumps(calls)  # the golden context is not sent: rag retrieves its own


def test_a_blocked_golden_question_is_an_empty_answer_with_its_cause(aws):
    w = serving(toxic_words=("broadband",))
    summary = run_task.process(
        RunTaskRequest(run_id="run-1", task="classify"),
        settings=evaluation_settings(),
        pipeline=w.pipeline,
        s3=aws["s3"],
    )
    assert (summary["blocked"], summary["errors"]) == (1, 0)
    rows = [json.loads(line) for line in read(aws, summary["predictions_key"]).decode().splitlines()]
    assert rows[1] == {**rows[1], "id": "classify-002", "output": "", "blocked": "toxicity"}


def test_throttling_retries_the_task_and_other_model_errors_are_the_cases_error(aws):
    throttled: dict[str, str | Error] = {
        **GOOD,
        "Broadband drops every evening.": Error("ThrottlingException", status=429),
    }
    with pytest.raises(Throttled, match="classify/classify-002: MODEL_THROTTLED"):
        run_task.process(
            RunTaskRequest(run_id="run-1", task="classify"),
            settings=evaluation_settings(),
            pipeline=serving(throttled).pipeline,
            s3=aws["s3"],
        )
    refused: dict[str, str | Error] = {**GOOD, "Broadband drops every evening.": Error("ValidationException")}
    summary = run_task.process(
        RunTaskRequest(run_id="run-1", task="classify"),
        settings=evaluation_settings(),
        pipeline=serving(refused).pipeline,
        s3=aws["s3"],
    )
    assert summary["errors"] == 1
    row = json.loads(read(aws, summary["predictions_key"]).decode().splitlines()[1])
    assert row == {"id": "classify-002", "output": "", "latency_ms": 0.0, "input_tokens": 0, "output_tokens": 0,
                   "error": "MODEL_REJECTED_INPUT"}  # fmt: skip


def test_an_unknown_task_is_refused():
    with pytest.raises(ValueError, match="no golden set for task 'extract'"):
        run_task.process(
            RunTaskRequest(run_id="r", task="extract"), settings=evaluation_settings(), pipeline=None, s3=None
        )


# ------------------------------------------------------------------ score


def test_scores_equal_the_reference_libraries_and_reach_report_and_cloudwatch(aws):
    verdict = run_all(aws, "run-1")
    assert verdict["passed"], verdict["reasons"]
    assert verdict["report"] == {
        "bucket": BUCKET,
        "json": "quality-evaluation/runs/run-1/report.json",
        "markdown": "quality-evaluation/runs/run-1/report.md",
    }
    document = json.loads(read(aws, verdict["report"]["json"]))
    outputs = [GOOD[message_of(case)] for case in ANSWER_CASES]
    references = [case.reference for case in ANSWER_CASES]
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
    rouge = [scorer.score(r, o) for o, r in zip(outputs, references, strict=True)]
    expected = {
        "BLEU": sacrebleu.corpus_bleu(outputs, [references]).score,
        "ROUGE1": sum(s["rouge1"].fmeasure for s in rouge) / 3,
        "ROUGE2": sum(s["rouge2"].fmeasure for s in rouge) / 3,
        "ROUGEL": sum(s["rougeL"].fmeasure for s in rouge) / 3,
        "WER": jiwer.wer(references, outputs),
    }
    answer = document["tasks"]["answer"]
    assert answer["metrics"] == pytest.approx(expected, rel=1e-12)
    assert answer["tokens"] == {"input": 3 * TOKENS["input_tokens"], "output": 3 * TOKENS["output_tokens"]}
    assert answer["perplexity"] is None  # Converse returns no log-probabilities: not available, never invented
    classify = document["tasks"]["classify"]
    assert classify["metrics"] == {"F1": 1.0, "ExactMatch": 1.0}  # "Billing." normalizes to billing
    assert document["baseline_run"] is None
    # Every quality metric and the verdicts went to CloudWatch under the dashboard's names.
    for name, value in expected.items():
        assert metric(aws, name, "answer") == [pytest.approx(value)]
    assert metric(aws, "F1", "classify") == [1.0]
    assert metric(aws, "Perplexity", "answer") == []
    assert metric(aws, "GatePassed", "answer") == metric(aws, "GatePassed", "all") == [1.0]
    markdown = read(aws, verdict["report"]["markdown"]).decode()
    assert "**Gate: PASSED**" in markdown
    assert f"| BLEU | {expected['BLEU']:.2f} | - |" in markdown
    assert "| Perplexity | unavailable | - |" in markdown
    # The passing run is now the last accepted one.
    accepted = json.loads(read(aws, "quality-evaluation/accepted.json"))
    assert accepted["run_id"] == "run-1"
    assert accepted["tasks"]["answer"]["metrics"]["ROUGEL"] == pytest.approx(expected["ROUGEL"])


def test_a_crossed_threshold_fails_the_run_and_keeps_the_last_accepted(aws):
    run_all(aws, "run-1")
    poor = {**GOOD, "Invoice shows two charges for May.": "outage", "Direct debit taken twice.": "outage"}
    verdict = run_all(aws, "run-2", answers=poor, now=NOW + timedelta(days=1))
    assert not verdict["passed"]
    expected_f1 = label_metrics.macro_f1(
        ["outage", "outage", "outage"], ["billing", "outage", "billing"], ["billing", "outage"]
    )
    assert expected_f1 == pytest.approx(0.25)  # billing 0, outage 2/(2+2)
    assert f"classify: F1 {expected_f1:.4g} is past its minimum 0.5" in verdict["reasons"]
    assert any(r.startswith("classify: F1") and "regressed from the last accepted 1" in r for r in verdict["reasons"])
    assert not any(r.startswith("answer:") for r in verdict["reasons"])
    assert metric(aws, "GatePassed", "all", NOW + timedelta(days=1)) == [0.0]
    assert metric(aws, "GatePassed", "answer", NOW + timedelta(days=1)) == [1.0]
    assert json.loads(read(aws, "quality-evaluation/accepted.json"))["run_id"] == "run-1"
    document = json.loads(read(aws, "quality-evaluation/runs/run-2/report.json"))
    assert document["baseline_run"] == "run-1"
    assert "**Gate: FAILED**" in read(aws, "quality-evaluation/runs/run-2/report.md").decode()


def test_a_drop_past_the_margin_from_the_last_accepted_run_fails_even_above_the_threshold(aws):
    settings = evaluation_settings(thresholds={"ROUGEL": 0.1})
    run_all(aws, "run-1", settings=settings)
    worse = {**GOOD, "When does a downgrade apply?": "Next cycle."}
    verdict = run_all(aws, "run-2", answers=worse, settings=settings, now=NOW + timedelta(days=1))
    assert not verdict["passed"]
    assert all(reason.startswith("answer: ") and "regressed" in reason for reason in verdict["reasons"])
    assert {reason.split()[1] for reason in verdict["reasons"]} >= {"ROUGEL", "BLEU", "WER"}


def test_a_case_the_pipeline_failed_on_fails_the_run(aws):
    refused: dict[str, str | Error] = {**GOOD, "Direct debit taken twice.": Error("ValidationException")}
    verdict = run_all(aws, "run-1", answers=refused, settings=evaluation_settings(thresholds={}))
    assert not verdict["passed"]
    assert verdict["reasons"] == ["classify: 1 of 3 cases failed in the pipeline (MODEL_REJECTED_INPUT x1)"]
    assert verdict["summary"] == verdict["reasons"][0]


def test_perplexity_comes_from_log_probabilities_only_and_is_gated_when_present(aws):
    settings = evaluation_settings(golden={"answer": ANSWER_CASES}, thresholds={"Perplexity": 2.0})
    key = settings.predictions_key("run-1", "answer")
    logprobs = [[-0.5, -1.0], [-0.25], [-2.0, -0.25, -0.75]]
    lines = [
        Prediction(case.id, GOOD[message_of(case)], 100.0, 10, 3, tuple(lp)).as_json()
        for case, lp in zip(ANSWER_CASES, logprobs, strict=True)
    ]
    aws["s3"].put_object(Bucket=BUCKET, Key=key, Body="".join(json.dumps(x) + "\n" for x in lines).encode())
    verdict = score.process(
        ScoreRequest(run_id="run-1"),
        settings=settings,
        s3=aws["s3"],
        bedrock=None,
        now=NOW,
        publish=recorder(aws),
    )
    tokens = [v for lp in logprobs for v in lp]
    expected = math.exp(-sum(tokens) / len(tokens))  # exp(-4.75 / 6)
    assert json.loads(read(aws, verdict["report"]["json"]))["tasks"]["answer"]["perplexity"] == pytest.approx(expected)
    assert metric(aws, "Perplexity", "answer") == [pytest.approx(expected)]
    assert expected > 2.0
    assert verdict["reasons"] == [f"answer: Perplexity {expected:.4g} is past its maximum 2"]


def test_a_threshold_on_a_metric_without_a_value_is_reported_not_available(aws):
    verdict = run_all(aws, "run-1", settings=evaluation_settings(thresholds={"Perplexity": 5.0}))
    assert verdict["passed"]
    document = json.loads(read(aws, verdict["report"]["json"]))
    assert document["tasks"]["answer"]["not_available"] == ["Perplexity"]
    assert "Not available (thresholds not applied): Perplexity." in read(aws, verdict["report"]["markdown"]).decode()


def test_metrics_are_emf_lines_with_exactly_the_dashboards_dimensions(capsys):
    score.publish_emf(
        "JourneyKit/Quality",
        "customer-retention",
        {"answer": {"BLEU": 31.5, "GatePassed": 1.0}, "all": {"GatePassed": 0.0}},
        NOW,
    )
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]
    assert len(lines) == 2
    for line in lines:
        (directive,) = line["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == "JourneyKit/Quality"
        assert directive["Dimensions"] == [["UseCase", "Task"]]  # no service dimension: the dashboard's search
        assert line["_aws"]["Timestamp"] == int(NOW.timestamp() * 1000)
        assert line["UseCase"] == "customer-retention"
    answer, overall = lines
    assert (answer["Task"], answer["BLEU"], answer["GatePassed"]) == ("answer", [31.5], [1.0])
    assert (overall["Task"], overall["GatePassed"]) == ("all", [0.0])
    assert {m["Name"]: m["Unit"] for m in answer["_aws"]["CloudWatchMetrics"][0]["Metrics"]} == {
        "BLEU": "None", "GatePassed": "None"
    }  # fmt: skip


# ------------------------------------------------------------------ the Bedrock evaluation job


JUDGE = BedrockEvaluation(
    evaluator_model_id="anthropic.claude-3-5-sonnet-20240620-v1:0",
    metrics=("Builtin.Correctness", "Builtin.Completeness"),
    role_arn="arn:aws:iam::123456789012:role/judge",
)
JOB_ARN = "arn:aws:bedrock:eu-west-1:123456789012:evaluation-job/abcdefgh1234"


def test_the_judge_job_is_started_on_the_runs_own_answers_and_recorded_beside_the_report(aws):
    bedrock = boto3.client("bedrock", region_name=REGION)
    prefix = f"s3://{BUCKET}/quality-evaluation/runs/run-7/bedrock/"
    expected = {
        "jobName": "customer-retention-quality-run-7",
        "jobDescription": "Journey kit quality evaluation of customer-retention, run run-7",
        "roleArn": JUDGE.role_arn,
        "applicationType": "ModelEvaluation",
        "evaluationConfig": {
            "automated": {
                "datasetMetricConfigs": [
                    {
                        "taskType": "General",
                        "dataset": {"name": task, "datasetLocation": {"s3Uri": f"{prefix}{task}.jsonl"}},
                        "metricNames": ["Builtin.Correctness", "Builtin.Completeness"],
                    }
                    for task in ("answer", "classify")
                ],
                "evaluatorModelConfig": {"bedrockEvaluatorModels": [{"modelIdentifier": JUDGE.evaluator_model_id}]},
            }
        },
        "inferenceConfig": {
            "models": [{"precomputedInferenceSource": {"inferenceSourceIdentifier": INFERENCE_SOURCE}}]
        },
        "outputDataConfig": {"s3Uri": f"{prefix}output/"},
    }
    with Stubber(bedrock) as stub:
        stub.add_response("create_evaluation_job", {"jobArn": JOB_ARN}, expected)
        verdict = run_all(aws, "run-7", settings=evaluation_settings(bedrock_evaluation=JUDGE), bedrock=bedrock)
        stub.assert_no_pending_responses()
    assert verdict["bedrock_evaluation_job"] == JOB_ARN
    dataset = [
        json.loads(line) for line in read(aws, "quality-evaluation/runs/run-7/bedrock/classify.jsonl").splitlines()
    ]
    assert dataset[0] == {
        "prompt": CLASSIFY_CASES[0].variables["notes"],
        "referenceResponse": "billing",
        "modelResponses": [{"response": "Billing.", "modelIdentifier": INFERENCE_SOURCE}],
    }
    document = json.loads(read(aws, verdict["report"]["json"]))
    assert document["bedrock_evaluation"]["job_arn"] == JOB_ARN
    assert document["bedrock_evaluation"]["output"] == f"{prefix}output/"
    assert f"- job: `{JOB_ARN}`" in read(aws, verdict["report"]["markdown"]).decode()


def test_a_judge_job_that_cannot_start_is_recorded_and_never_decides_the_verdict(aws):
    bedrock = boto3.client("bedrock", region_name=REGION)
    with Stubber(bedrock) as stub:
        stub.add_client_error("create_evaluation_job", service_error_code="AccessDeniedException", http_status_code=403)
        verdict = run_all(aws, "run-8", settings=evaluation_settings(bedrock_evaluation=JUDGE), bedrock=bedrock)
    assert verdict["passed"]
    assert verdict["bedrock_evaluation_job"] is None
    judged = json.loads(read(aws, verdict["report"]["json"]))["bedrock_evaluation"]
    assert (judged["job_arn"], judged["error"]) == (None, "AccessDeniedException")


def test_job_names_fit_bedrocks_pattern():
    name = job_name("Customer_Retention", "8f2c-" + "x" * 80)
    assert len(name) <= 63
    assert name.startswith("customer-retention-quality-8f2c-")
    assert not name.endswith("-")
