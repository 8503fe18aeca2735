"""Scale stack: the journey's last stage, two opt-ins that bill while they exist.

- ``features.hosted_model`` (`HostedModel`): an open-weights model, optionally quantized, on a SageMaker endpoint
  with AWS's LMI container, scaling to zero through inference components. It bills per instance-hour while an
  instance runs. The chat API may serve it as its ``direct`` backend (lambdas/api/architectures/hosted.py).
- ``features.fine_tuning`` (`FineTuningWorkflow`): Bedrock model customization on the Api stack's thumbs-up export
  and curated records, gated on the golden set against the base model, promoted only after a human approves.

The stack exists only when one of them is on (stacks/stage.py). Its settings are scale.yaml's `hosted_model` and
`fine_tuning` sections (stacks/scale/settings.py); everything it uses from other stacks is in `ScaleProps`.
"""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from constructs import Construct
from finetune.contract import GoldenCase

from stacks.common.stage_policy import StagePolicy
from stacks.config.usecase import EvaluationThresholds
from stacks.scale.fine_tuning import FineTuningProps, FineTuningWorkflow
from stacks.scale.hosted_model import HostedModel, HostedModelProps
from stacks.scale.settings import FineTuningSettings, HostedModelSettings

# usecase.yaml `evaluation` field -> the gate's metric name (`common.evaluation.gate.DIRECTIONS`).
GATE_METRICS = {
    "bleu_min": "BLEU",
    "rouge_l_min": "ROUGEL",
    "wer_max": "WER",
    "perplexity_max": "Perplexity",
    "rouge1_min": "ROUGE1",
    "rouge2_min": "ROUGE2",
    "exact_match_min": "ExactMatch",
    "f1_min": "F1",
}


def gate_thresholds(evaluation: EvaluationThresholds) -> dict[str, float]:
    """The thresholds usecase.yaml sets, by gate metric name (unset optional ones left out). Latency is not
    gated here: the golden runs call Bedrock directly, not through the serving pipeline the latency bound is for."""
    values = {metric: getattr(evaluation, field, None) for field, metric in GATE_METRICS.items()}
    return {metric: float(value) for metric, value in values.items() if value is not None}


@dataclass(frozen=True)
class FineTuningSource:
    """What the fine-tuning workflow trains and is gated on."""

    curated_bucket: s3.IBucket  # the Data stack's curated bucket (the export writes under ``export_prefix``)
    settings: FineTuningSettings
    thresholds: dict[str, float]  # usecase.yaml `evaluation` by gate metric name
    golden: tuple[GoldenCase, ...]  # the golden task's cases (usecases/<id>/golden/<task>.jsonl)
    export_prefix: str = "finetune/"
    curated_bucket_key: kms.IKey | None = None


@dataclass(frozen=True)
class ScaleProps:
    name_prefix: str
    stage: StagePolicy
    key: kms.IKey
    alarm_topic: sns.ITopic
    access_logs: s3.IBucket
    usecase_id: str
    hosted_model: HostedModelSettings | None = None  # None: no endpoint
    fine_tuning: FineTuningSource | None = None  # None: no workflow


class ScaleStack(cdk.Stack):
    """Exposes ``hosted_model`` (`HostedModel` or None) and ``fine_tuning`` (`FineTuningWorkflow` or None)."""

    def __init__(self, scope: Construct, construct_id: str, *, props: ScaleProps, **kwargs: object) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        self.hosted_model = (
            HostedModel(
                self,
                "HostedModel",
                props=HostedModelProps(name_prefix=props.name_prefix, key=props.key, settings=props.hosted_model),
            )
            if props.hosted_model is not None
            else None
        )
        self.fine_tuning = None
        if props.fine_tuning is not None:
            source = props.fine_tuning
            self.fine_tuning = FineTuningWorkflow(
                self,
                "FineTuning",
                props=FineTuningProps(
                    name_prefix=props.name_prefix,
                    stage=props.stage,
                    key=props.key,
                    alarm_topic=props.alarm_topic,
                    access_logs=props.access_logs,
                    curated_bucket=source.curated_bucket,
                    usecase_id=props.usecase_id,
                    settings=source.settings,
                    thresholds=source.thresholds,
                    golden=source.golden,
                    export_prefix=source.export_prefix,
                    curated_bucket_key=source.curated_bucket_key,
                ),
            )
        if self.hosted_model is not None:
            cdk.CfnOutput(self, "EndpointName", value=self.hosted_model.endpoint_name)
        if self.fine_tuning is not None:
            cdk.CfnOutput(self, "FineTuningStateMachine", value=self.fine_tuning.state_machine.state_machine_arn)
            cdk.CfnOutput(self, "FineTuningBucket", value=self.fine_tuning.bucket.bucket.bucket_name)
