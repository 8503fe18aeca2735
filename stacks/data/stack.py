"""Data stack: the journey's data-evaluation stage.

Uploading `datasets/<dataset>/_READY` to the raw bucket starts one Step Functions execution for the
dataset. A Distributed Map runs validate -> redact -> profile over every object of the dataset (child
workflows, MaxConcurrency from data.yaml); counts go to a DynamoDB run ledger, never into the Map's
result array (which goes to S3). Assess turns the summed counts into the bias verdict; unless it is FAIL, a second
Distributed Map publishes each object to curated (records/ in its format for record consumers, documents/
with only what a Bedrock knowledge base parses); finalize proves `records_in = curated + quarantined`,
writes the report and metrics, and a direct EventBridge integration announces `DatasetPublished`.
Every Lambda task retries throttling with exponential backoff and full jitter; inside the maps, any
other failure is caught and routes the object to quarantine.

The stack composes four modules, each by what it holds: `stores` (buckets and their layout, audit trail, run
tables, hash salt), `functions` (the step functions, their settings layer and grants), `orchestration` (the
state machine and its trigger) and `monitoring` (alarms).
"""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_events as events
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from constructs import Construct

from stacks.common.stage_policy import StagePolicy
from stacks.data.functions import PipelineFunctions
from stacks.data.monitoring import pipeline_alarms
from stacks.data.orchestration import PipelineWorkflow
from stacks.data.settings import DataSettings
from stacks.data.stores import DOCUMENTS, RECORDS, DataStores

DATASET_PUBLISHED = "DatasetPublished"


@dataclass(frozen=True)
class DataProps:
    """What the Data stack uses from elsewhere, as CDK interfaces: the kit's Foundation stack or a team's own
    resources (`kms.Key.from_key_arn`, `s3.Bucket.from_bucket_name`, `sns.Topic.from_topic_arn`)."""

    key: kms.IKey  # encrypts every store, queue, log group; key-policy statements it cannot add become warnings
    access_logs: s3.IBucket  # server access log target (SSE-S3)
    alarm_topic: sns.ITopic  # every alarm notifies it (ALARM and OK)
    stage: StagePolicy
    name_prefix: str  # "<prefix>-<stage>", e.g. "journey-customer-retention-dev"
    usecase_id: str
    settings: DataSettings
    event_bus: events.IEventBus | None = None  # where DatasetPublished goes; None: the account's default bus


class DataStack(cdk.Stack):
    """Exposes `curated` (SecureBucket) with `records_prefix` and `knowledge_prefix` (the only prefix a knowledge
    base should read), `event_bus`, `event_source`, `event_detail_type`, `state_machine`, `settings_layer`
    (each pipeline function's slice of data.yaml as /opt/settings/<step>.json), `functions` (step -> function),
    `stores` (every bucket, table, trail and secret) and `alarms`."""

    def __init__(self, scope: Construct, construct_id: str, *, props: DataProps, **kwargs: object) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        self.event_source = f"{props.name_prefix}.data"
        self.event_detail_type = DATASET_PUBLISHED
        self.event_bus = props.event_bus or events.EventBus.from_event_bus_name(self, "DefaultBus", "default")
        self.metrics_namespace = f"{props.name_prefix}/data"

        # Every construct below is created in this stack's scope under its historical id: the stateful ones keep
        # their logical ids (tests/stacks/test_stateful_ids.py).
        self.stores = DataStores(self, props)
        self.curated = self.stores.curated
        self.records_prefix = RECORDS
        self.knowledge_prefix = DOCUMENTS

        pipeline = PipelineFunctions(self, props, self.stores, namespace=self.metrics_namespace)
        self.functions = pipeline.by_step
        self.settings_layer = pipeline.settings_layer

        workflow = PipelineWorkflow(
            self,
            props,
            self.stores,
            self.functions,
            event_bus=self.event_bus,
            event_source=self.event_source,
            event_detail_type=self.event_detail_type,
        )
        self.state_machine = workflow.state_machine
        self.trigger_dead_letters = workflow.trigger_dead_letters

        self.alarms = pipeline_alarms(
            self,
            props,
            namespace=self.metrics_namespace,
            state_machine=self.state_machine,
            trigger_dead_letters=self.trigger_dead_letters,
        )
        self._outputs()

    def _outputs(self) -> None:
        """What docs/data.md's commands read with `aws cloudformation describe-stacks`."""
        for output_id, value, description in (
            (
                "RawBucketName",
                self.stores.raw.bucket_name,
                "Upload datasets/<dataset>/... here, then datasets/<dataset>/_READY",
            ),
            ("CuratedBucketName", self.curated.bucket_name, "Published records/ and knowledge-base documents/"),
            (
                "QuarantineBucketName",
                self.stores.quarantine.bucket_name,
                "Objects a run could not process, with reasons",
            ),
            (
                "ReportsBucketName",
                self.stores.reports.bucket_name,
                "Run reports: reports/<dataset>/<run>/report.md|json",
            ),
            ("PipelineStateMachineArn", self.state_machine.state_machine_arn, "One execution per dataset run"),
        ):
            cdk.CfnOutput(self, output_id, value=value, description=description)
