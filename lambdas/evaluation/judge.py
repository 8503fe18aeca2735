"""The optional Bedrock evaluation job beside the kit's own scores: LLM-as-a-judge on the run's own answers.

There is no CloudFormation resource for an evaluation job, so the score step starts one per run through the SDK
(``bedrock:CreateEvaluationJob``). The job does not call the model again: the answers the serving pipeline gave
are handed over as precomputed inference (Bedrock User Guide, "Create a prompt dataset for a model evaluation
job that uses a model as judge": ``prompt``, ``referenceResponse`` and ``modelResponses`` with one
``modelIdentifier`` that matches the job's ``precomputedInferenceSource``), so the judge scores exactly what the
kit scored. One dataset per task (a job takes at most 5), written beside the run's predictions; the job writes
its results under the run's ``bedrock/output/`` prefix, beside report.json. The job runs for minutes to hours:
the report records its ARN and where its results will be, and the Bedrock console or
``aws bedrock get-evaluation-job`` shows them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from evaluation.contract import INFERENCE_SOURCE, BedrockEvaluation, GoldenCase
from evaluation.runner import Prediction, message_of

MAX_DATASETS = 5  # CreateEvaluationJob: datasetMetricConfigs holds 1 to 5 entries
# The task type LLM-as-a-judge jobs use (the Bedrock User Guide's examples); botocore's enum lists only the task types
# of automatic-metric jobs (Summarization, Classification, ...), and botocore does not validate enums client-side.
TASK_TYPE = "General"


def dataset(cases: Sequence[GoldenCase], predictions: Sequence[Prediction]) -> list[dict[str, Any]]:
    """The judge's prompt dataset of one task: each case's message, reference and the pipeline's answer."""
    by_id = {p.id: p for p in predictions}
    return [
        {
            "prompt": message_of(case),
            "referenceResponse": case.reference,
            "modelResponses": [{"response": by_id[case.id].output, "modelIdentifier": INFERENCE_SOURCE}],
        }
        for case in cases
    ]


def job_name(usecase: str, run_id: str) -> str:
    """A job name Bedrock accepts (``[a-z0-9](-*[a-z0-9]){0,62}``), unique per run."""
    name = re.sub(r"[^a-z0-9]+", "-", f"{usecase}-quality-{run_id}".lower()).strip("-")
    return name[:63].rstrip("-")


def start_job(
    client: Any,
    config: BedrockEvaluation,
    *,
    usecase: str,
    run_id: str,
    datasets: Mapping[str, str],
    output_uri: str,
) -> str:
    """Start the job on ``datasets`` (task -> S3 URI, at most `MAX_DATASETS`); its ARN."""
    if not 1 <= len(datasets) <= MAX_DATASETS:
        raise ValueError(f"a Bedrock evaluation job takes 1 to {MAX_DATASETS} datasets, got {len(datasets)}")
    response = client.create_evaluation_job(
        jobName=job_name(usecase, run_id),
        jobDescription=f"Journey kit quality evaluation of {usecase}, run {run_id}"[:200],
        roleArn=config.role_arn,
        applicationType="ModelEvaluation",
        evaluationConfig={
            "automated": {
                "datasetMetricConfigs": [
                    {
                        "taskType": TASK_TYPE,
                        "dataset": {"name": task, "datasetLocation": {"s3Uri": uri}},
                        "metricNames": list(config.metrics),
                    }
                    for task, uri in datasets.items()
                ],
                "evaluatorModelConfig": {"bedrockEvaluatorModels": [{"modelIdentifier": config.evaluator_model_id}]},
            }
        },
        inferenceConfig={"models": [{"precomputedInferenceSource": {"inferenceSourceIdentifier": INFERENCE_SOURCE}}]},
        outputDataConfig={"s3Uri": output_uri},
    )
    return str(response["jobArn"])
