"""Knowledge stack: a Bedrock knowledge base over the curated data, kept in sync automatically.

`DatasetPublished` events (and a catch-up schedule) put a sync request on an encrypted SQS queue;
the sync Lambda starts an ingestion job with an idempotent client token, re-queues the request with a
delay while another job holds the data source, polls the job through delayed messages and publishes
documents scanned / indexed / failed. Requests it cannot finish land in an alarmed dead-letter queue:
nothing is dropped silently.

Everything it consumes from other stacks is in `KnowledgeProps`, so it deploys alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import aws_cdk as cdk
import jsii
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk.interfaces import aws_events as events_refs
from constructs import Construct
from knowledge import contract

from stacks.common.buckets import grant_read_prefix
from stacks.common.dead_letter_queue import KitDeadLetterQueue
from stacks.common.kit_function import KitFunction
from stacks.common.kms_key import allow_service_use, grant_key_use_via
from stacks.common.nag import acknowledge
from stacks.common.stage_policy import StagePolicy
from stacks.common.threshold_alarm import ThresholdAlarm
from stacks.common.vector_knowledge_base import (
    DEFAULT_EMBEDDING_MODEL,
    Chunking,
    S3DataSource,
    VectorKnowledgeBase,
)
from stacks.knowledge.settings import (
    FixedChunking,
    HierarchicalChunking,
    KnowledgeSettings,
    NoChunking,
    SemanticChunking,
)

METRICS_NAMESPACE = "JourneyKit/Knowledge"
SYNC_SERVICE = "knowledge-sync"
SYNC_TIMEOUT_SECONDS = 30
# A message that fails this often (bad body, access denied, request older than give_up_after_hours)
# moves to the dead-letter queue, which alarms; it is kept 14 days for inspection and redrive.
MAX_RECEIVE_COUNT = 3


@dataclass(frozen=True)
class KnowledgeProps:
    name_prefix: str  # "<prefix>-<stage>", e.g. "journey-customer-retention-dev"
    stage: StagePolicy
    key: kms.IKey  # encrypts the vector store, queues and logs; key-policy statements it cannot add become warnings
    alarm_topic: sns.ITopic
    curated_bucket: s3.IBucket  # the documents the knowledge base ingests
    curated_prefix: str = ""
    # The curated bucket's SSE-KMS key; None: the bucket's own `encryption_key` if it has one, else ``key``.
    curated_bucket_key: kms.IKey | None = None
    event_bus: events.IEventBus | None = None  # None: the account's default bus
    dataset_published_source: str = "journey.data"
    dataset_published_detail_type: str = "DatasetPublished"
    embedding_model_id: str = DEFAULT_EMBEDDING_MODEL
    embedding_dimensions: int = 1024
    settings: KnowledgeSettings = field(default_factory=KnowledgeSettings)


class KnowledgeStack(cdk.Stack):
    """Exposes `knowledge_base` (grant_retrieve, metrics), `data_source`, `sync_queue` and `sync_function`."""

    def __init__(self, scope: Construct, construct_id: str, *, props: KnowledgeProps, **kwargs: object) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        settings = props.settings
        self.knowledge_base = VectorKnowledgeBase(
            self,
            "KnowledgeBase",
            encryption_key=props.key,
            knowledge_base_name=f"{props.name_prefix}-knowledge",
            description=f"{props.name_prefix}: curated use-case data for retrieval-augmented generation",
            embedding_model_id=props.embedding_model_id,
            embedding_dimensions=props.embedding_dimensions,
            vector_store=settings.vector_store,
            opensearch_standby_replicas=props.stage.is_prod,
            removal_policy=props.stage.removal_policy,
            metrics_namespace=METRICS_NAMESPACE,
        )
        self.data_source: S3DataSource = self.knowledge_base.add_s3_data_source(
            "CuratedData",
            bucket=props.curated_bucket,
            prefix=props.curated_prefix,
            chunking=chunking_for(settings),
            grant_read=False,
            name=f"{props.name_prefix}-curated",
        )
        # GetObject on the prefix, ListBucket limited to it, kms:Decrypt only through S3.
        curated_key = props.curated_bucket_key or props.curated_bucket.encryption_key or props.key
        grant_read_prefix(props.curated_bucket, self.knowledge_base.role, props.curated_prefix, key=curated_key)

        self._build_sync(props)
        self._build_alarms(props)
        self._acknowledge()
        cdk.CfnOutput(
            self,
            "KnowledgeBaseId",
            value=self.knowledge_base.knowledge_base_id,
            description="Knowledge base id (bedrock-agent-runtime retrieve --knowledge-base-id)",
        )
        cdk.CfnOutput(
            self,
            "DataSourceId",
            value=self.data_source.data_source_id,
            description="Data source over the curated documents/ prefix (bedrock-agent start-ingestion-job)",
        )

    # ------------------------------------------------------------------ sync

    def _build_sync(self, props: KnowledgeProps) -> None:
        sync = props.settings.sync
        key = props.key
        self.sync_dead_letters = KitDeadLetterQueue(
            self, "SyncDeadLetters", key=key, dead_letters_of="the sync requests and of the rule targets"
        )
        self.sync_queue = sqs.Queue(
            self,
            "SyncRequests",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=key,
            data_key_reuse=cdk.Duration.hours(1),
            enforce_ssl=True,
            # AWS guidance for Lambda event sources: at least six times the function timeout.
            visibility_timeout=cdk.Duration.seconds(SYNC_TIMEOUT_SECONDS * 6),
            retention_period=cdk.Duration.days(4),
            dead_letter_queue=sqs.DeadLetterQueue(queue=self.sync_dead_letters, max_receive_count=MAX_RECEIVE_COUNT),
        )

        self.sync_function = KitFunction(
            self,
            "Sync",
            handler="knowledge.sync.handler",
            description="Starts and follows Bedrock knowledge-base ingestion jobs",
            service=SYNC_SERVICE,
            namespace=METRICS_NAMESPACE,
            key=key,
            stage=props.stage,
            memory_size=256,
            timeout=cdk.Duration.seconds(SYNC_TIMEOUT_SECONDS),
            environment={contract.ENVIRONMENT_VARIABLE: self._sync_settings_json(props)},
        )
        role = self.sync_function.role
        self.knowledge_base.grant_ingestion(role)
        # Consume (event source mapping) and re-queue (delayed retries and polls) on this queue only.
        iam.Grant.add_to_principal(
            grantee=role,
            actions=[
                "sqs:ChangeMessageVisibility",
                "sqs:DeleteMessage",
                "sqs:GetQueueAttributes",
                "sqs:ReceiveMessage",
                "sqs:SendMessage",
            ],
            resource_arns=[self.sync_queue.queue_arn],
        )
        grant_key_use_via(key, role, "sqs", encrypt=True)
        self.sync_trigger = lambda_.EventSourceMapping(
            self,
            "SyncTrigger",
            target=self.sync_function.function,
            event_source_arn=self.sync_queue.queue_arn,
            batch_size=10,
            report_batch_item_failures=True,
            # At most two concurrent batches: a data source runs one ingestion job at a time anyway.
            max_concurrency=2,
        )
        # Lambda checks the role can read the queue when it creates the mapping.
        self.sync_trigger.node.add_dependency(role.node.find_child("DefaultPolicy"))

        # EventBridge encrypts what it sends to the CMK-encrypted queues; the key allows it only for
        # this stage's sync rules (names below), in this account.
        rule_prefix = f"{props.name_prefix}-knowledge-sync"
        allow_service_use(
            self,
            key,
            f"EventBridgeSendsKnowledgeSyncRequests{cdk.Names.unique_id(self)}"[:100],
            "events.amazonaws.com",
            source_arn=self.format_arn(service="events", resource="rule", resource_name=f"*{rule_prefix}-*"),
        )
        published = events.Rule(
            self,
            "OnDatasetPublished",
            rule_name=f"{rule_prefix}-published",
            description="A curated dataset was published: sync the knowledge base",
            event_bus=props.event_bus,
            event_pattern=events.EventPattern(
                source=[props.dataset_published_source], detail_type=[props.dataset_published_detail_type]
            ),
        )
        published.add_target(_SyncRequestTarget(self.sync_queue, self.sync_dead_letters))
        self.rules = [published]
        if sync.schedule:
            scheduled = events.Rule(
                self,
                "OnSchedule",
                rule_name=f"{rule_prefix}-schedule",
                description="Catch-up knowledge-base sync in case a DatasetPublished event was missed",
                schedule=events.Schedule.expression(sync.schedule),
            )
            scheduled.add_target(_SyncRequestTarget(self.sync_queue, self.sync_dead_letters))
            self.rules.append(scheduled)

    def _sync_settings_json(self, props: KnowledgeProps) -> str:
        """The function's `SyncSettings` as JSON, built with the model the handler parses.

        The ids and queue URL are tokens here; `to_json_string` renders them as an Fn::Join that
        CloudFormation fills in, escaped as JSON strings.
        """
        sync = props.settings.sync
        settings = contract.SyncSettings(
            knowledge_base_id=self.knowledge_base.knowledge_base_id,
            data_source_id=self.data_source.data_source_id,
            queue_url=self.sync_queue.queue_url,
            poll_interval_seconds=sync.poll_interval_seconds,
            retry_delay_seconds=sync.retry_delay_seconds,
            give_up_after_seconds=sync.give_up_after_hours * 3600,
        )
        return self.to_json_string(settings.model_dump(mode="json"))

    # ------------------------------------------------------------------ alarms

    def _build_alarms(self, props: KnowledgeProps) -> None:
        kb = self.knowledge_base
        five_minutes = cdk.Duration.minutes(5)
        checks: list[tuple[str, str, cloudwatch.IMetric]] = [
            (
                "IngestionJobFailed",
                "A knowledge-base ingestion job ended FAILED: retrieval serves stale or partial data.",
                kb.metric_ingestion_jobs_failed(period=five_minutes),
            ),
            (
                "DocumentsFailed",
                "An ingestion job could not index some documents (see the job's failure reasons).",
                kb.metric_documents_failed(period=five_minutes),
            ),
            (
                "SyncRequestsDeadLettered",
                "A knowledge-base sync request could not be completed and waits in the dead-letter queue.",
                self.sync_dead_letters.metric_approximate_number_of_messages_visible(
                    period=five_minutes, statistic="Maximum"
                ),
            ),
            (
                "SyncErrors",
                "The knowledge-base sync function failed outside its per-message error handling.",
                self.sync_function.metric_errors(period=five_minutes),
            ),
        ]
        self.alarms: list[cloudwatch.Alarm] = [
            ThresholdAlarm(self, alarm_id, metric=metric, description=description, topic=props.alarm_topic)
            for alarm_id, description, metric in checks
        ]

    # ------------------------------------------------------------------ nag

    def _acknowledge(self) -> None:
        acknowledge(
            self.sync_trigger.node.default_child,  # type: ignore[arg-type]
            "Serverless::Serverless-LambdaEventSourceMappingDestination",
            "Lambda supports on-failure destinations only for stream and Kafka sources; for this SQS "
            f"source the queue's redrive policy moves a message to the alarmed DLQ after {MAX_RECEIVE_COUNT} receives.",
        )


@jsii.implements(events.IRuleTarget)
class _SyncRequestTarget:
    """Deliver the matched event to the sync queue; undeliverable events go to the dead-letter queue.

    The event itself is the sync request (its id becomes the idempotency token, its time the start of
    the deadline). Written out instead of `aws_events_targets.SqsQueue`: for a CMK-encrypted queue
    that target grants EventBridge `kms:GenerateDataKey*` and `kms:ReEncrypt*`. Here the queue
    policies allow exactly sqs:SendMessage from this rule, and the key allows EventBridge through
    `allow_service_use`, for this stage's sync rules only.
    """

    def __init__(self, queue: sqs.Queue, dead_letters: sqs.Queue) -> None:
        self._queue = queue
        self._dead_letters = dead_letters

    def bind(self, rule: events_refs.IRuleRef, id: str | None = None) -> events.RuleTargetConfig:
        for queue in (self._queue, self._dead_letters):
            queue.add_to_resource_policy(
                iam.PolicyStatement(
                    principals=[iam.ServicePrincipal("events.amazonaws.com")],
                    actions=["sqs:SendMessage"],
                    resources=[queue.queue_arn],
                    conditions={"ArnEquals": {"aws:SourceArn": events.CfnRule.arn_for_rule(rule)}},
                )
            )
        return events.RuleTargetConfig(
            arn=self._queue.queue_arn,
            dead_letter_config=events.CfnRule.DeadLetterConfigProperty(arn=self._dead_letters.queue_arn),
            retry_policy=events.CfnRule.RetryPolicyProperty(
                maximum_event_age_in_seconds=24 * 3600, maximum_retry_attempts=185
            ),
        )


def chunking_for(settings: KnowledgeSettings) -> Chunking:
    """The use case's chunking settings as the building block's `Chunking`."""
    chunking = settings.chunking
    if isinstance(chunking, FixedChunking):
        return Chunking.fixed(max_tokens=chunking.max_tokens, overlap_percentage=chunking.overlap_percentage)
    if isinstance(chunking, HierarchicalChunking):
        return Chunking.hierarchical(
            parent_max_tokens=chunking.parent_max_tokens,
            child_max_tokens=chunking.child_max_tokens,
            overlap_tokens=chunking.overlap_tokens,
        )
    if isinstance(chunking, SemanticChunking):
        return Chunking.semantic(
            max_tokens=chunking.max_tokens,
            buffer_size=chunking.buffer_size,
            breakpoint_percentile_threshold=chunking.breakpoint_percentile_threshold,
        )
    assert isinstance(chunking, NoChunking)
    return Chunking.none()
