"""A small stack holding only `QualityEvaluation`, against imported resources (a key, a topic, a guardrail, a
knowledge base), with every nag pack: what the stack test asserts and the end-to-end test runs under moto."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from api.contract import ApiSettings
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from common.safety.policy import SafetySettings

from stacks.api.access import ImportedGuardrail, ImportedKnowledgeBase
from stacks.api.settings import ApiFileSettings
from stacks.api.stack import ApiProps, ApiStack
from stacks.app_builder import cdk_json_context
from stacks.common.nag import add_nag_packs
from stacks.common.stage_policy import StagePolicy
from stacks.config import USECASES_DIR, load_usecase
from stacks.observability.evaluation import (
    JudgeJob,
    QualityEvaluation,
    QualityEvaluationProps,
    ReportsBucket,
    ServingPipeline,
)

ACCOUNT, REGION = "123456789012", "eu-west-1"  # moto's default account, so the e2e test resolves ARNs as-is
ENV = cdk.Environment(account=ACCOUNT, region=REGION)
KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
TOPIC_ARN = f"arn:aws:sns:{REGION}:{ACCOUNT}:platform-alarms"
GUARDRAIL_ARN = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:guardrail/gr1234abcd"
MODEL = "global.anthropic.claude-haiku-4-5-20251001-v1:0"
JUDGE_MODEL = "anthropic.claude-3-5-sonnet-20240620-v1:0"
USECASE = "customer-retention"
PREFIX = "team-dev"
REPORTS = "platform-reports"


@dataclass(frozen=True)
class Built:
    app: cdk.App
    outdir: Path
    construct_path: str
    template: dict[str, Any]
    api_template: dict[str, Any] | None  # the Api stack built on the same resources, when asked for


def api_settings(knowledge_base_id: str) -> ApiSettings:
    return ApiSettings(
        usecase=USECASE,
        architecture="rag",
        per_request=("direct",),
        model_id=MODEL,
        guardrail_id="gr1234abcd",
        guardrail_version="3",
        knowledge_base_id=knowledge_base_id,
        conversations_table="c",
        quotas_table="q",
        telemetry_table="t",
        quotas={"default": {"tokens_per_day": 1000, "requests_per_minute": 10}},
        metrics_namespace="JourneyKit/Api",
    )


def build(
    outdir: Path,
    *,
    judge: bool = True,
    own_bucket: bool = False,
    with_api: bool = False,
    golden_dir: Path = USECASES_DIR / USECASE / "golden",
    architecture: str | None = None,
) -> Built:
    """The construct in stack "Quality"; with ``with_api`` the Api stack too, on the same imported guardrail and
    knowledge base, and the construct is handed that stack's `settings`, as the Observability stack will be."""
    app = cdk.App(outdir=str(outdir), context=cdk_json_context())
    stack = cdk.Stack(app, "Quality", env=ENV)
    key = kms.Key.from_key_arn(stack, "Key", KEY_ARN)
    topic = sns.Topic.from_topic_arn(stack, "Alarms", TOPIC_ARN)
    safety = SafetySettings().model_dump_json(exclude_defaults=True)
    guardrail = ImportedGuardrail(
        guardrail_id="gr1234abcd", guardrail_version="3", guardrail_arn=GUARDRAIL_ARN, safety_settings=safety
    )
    api = None
    if with_api:
        holder = cdk.Stack(cdk.App(), "Ids", env=ENV)  # imported resources, as test_api.py builds them
        knowledge_base = ImportedKnowledgeBase.from_id(holder, "KB12345678")
        api = ApiStack(
            app,
            "Api",
            env=ENV,
            props=ApiProps(
                name_prefix=PREFIX,
                stage=StagePolicy("dev"),
                key=kms.Key.from_key_arn(holder, "Key", KEY_ARN),
                alarm_topic=sns.Topic.from_topic_arn(holder, "Alarms", TOPIC_ARN),
                usecase_id=USECASE,
                architecture="rag",
                model=MODEL,
                guardrail=guardrail,
                settings=ApiFileSettings(per_request=["direct"]),
                knowledge_base=knowledge_base,
            ),
        )
        settings = api.settings
    else:
        # A deploy-time knowledge base id (another stack's token in the kit): it must reach the environment.
        knowledge_base_id = cdk.CfnParameter(stack, "KnowledgeBaseId", default="KB12345678").value_as_string
        knowledge_base = ImportedKnowledgeBase.from_id(stack, knowledge_base_id)
        settings = api_settings(knowledge_base_id)
    usecase = load_usecase(USECASE)
    evaluation = QualityEvaluation(
        stack,
        "QualityEvaluation",
        props=QualityEvaluationProps(
            name_prefix=PREFIX,
            stage=StagePolicy("dev"),
            key=key,
            alarm_topic=topic,
            usecase_id=USECASE,
            thresholds=usecase.evaluation_for("the test"),
            serving=ServingPipeline(
                settings=settings,
                safety_settings=safety,
                model=MODEL,
                guardrail=guardrail,
                knowledge_base=knowledge_base,
            ),
            golden_dir=golden_dir,
            architecture=architecture,
            reports=None if own_bucket else ReportsBucket(s3.Bucket.from_bucket_name(stack, "Reports", REPORTS), key),
            access_logs=s3.Bucket.from_bucket_name(stack, "Logs", "access-logs") if own_bucket else None,
            judge=JudgeJob(evaluator_model=JUDGE_MODEL) if judge else None,
        ),
    )
    add_nag_packs(app)
    assembly = app.synth()

    def template(stack: cdk.Stack) -> dict[str, Any]:
        return dict(json.loads(Path(assembly.get_stack_artifact(stack.artifact_id).template_full_path).read_text()))

    return Built(app, outdir, evaluation.node.path, template(stack), template(api) if api is not None else None)
