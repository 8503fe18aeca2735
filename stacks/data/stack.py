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
"""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from stacks.common.alarm_topic import AlarmTopic
from stacks.common.audit_trail import AuditTrail
from stacks.common.buckets import SecureBucket
from stacks.common.kit_function import KitFunction
from stacks.common.kms_key import KitKey
from stacks.common.nag import acknowledge, acknowledge_all, acknowledge_role_policy, each_pack, iam5_resource_finding
from stacks.common.object_map import ObjectMap
from stacks.common.settings_layer import SettingsLayer
from stacks.common.stage_policy import StagePolicy
from stacks.data_config import FUNCTION_SECTIONS, DataSettings

DATASET_PUBLISHED = "DatasetPublished"
# Where Step Functions log groups go (see `_state_machine`); the stage's name prefix keeps them unique.
VENDED_LOGS_STATES = "/aws/vendedlogs/states/"
READY_PATTERN = "datasets/*/_READY"
# Prefixes inside the buckets (see lambdas/pipeline/keys.py for the full layout).
DATASETS = "datasets/"
STAGING_VALID = "staging/*/valid/"
STAGING_REDACTED = "staging/*/redacted/"
MAP_RESULTS = "map-runs/"
REPORTS = "reports/"
RECORDS = "records/"  # curated: records in their source's format, for record consumers
DOCUMENTS = "documents/"  # curated: only what a Bedrock knowledge base parses, each with its metadata sidecar
# Errors a step may retry: Lambda's own transient errors and throttling that outlasted the SDK's retries.
RETRYABLE = [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
    "Throttled",
]
TABLE_ACTIONS = {
    "start": ["dynamodb:PutItem"],
    "profile": ["dynamodb:PutItem", "dynamodb:UpdateItem"],
    "assess": ["dynamodb:GetItem"],
    "publish": ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
    "quarantine": ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
    "finalize": ["dynamodb:GetItem"],
}


@dataclass(frozen=True)
class DataProps:
    key: KitKey
    access_logs: s3.IBucket
    alarm_topic: AlarmTopic
    stage: StagePolicy
    name_prefix: str  # "<prefix>-<stage>", e.g. "journey-customer-retention-dev"
    usecase_id: str
    settings: DataSettings


class DataStack(cdk.Stack):
    """Exposes `curated` (SecureBucket) with `records_prefix` and `knowledge_prefix` (the only prefix a knowledge
    base should read), `event_bus`, `event_source`, `event_detail_type`, `state_machine`, and `settings_layer`
    (each pipeline function's slice of data.yaml as /opt/settings/<step>.json)."""

    def __init__(self, scope: Construct, construct_id: str, *, props: DataProps, **kwargs: object) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        self._props = props
        self.event_source = f"{props.name_prefix}.data"
        self.event_detail_type = DATASET_PUBLISHED
        self.event_bus = events.EventBus.from_event_bus_name(self, "DefaultBus", "default")
        self.metrics_namespace = f"{props.name_prefix}/data"

        self.raw = self._bucket(
            "Raw",
            lifecycle_rules=[
                s3.LifecycleRule(id="expire-staging", prefix="staging/", expiration=cdk.Duration.days(7)),
                s3.LifecycleRule(id="expire-map-results", prefix=MAP_RESULTS, expiration=cdk.Duration.days(30)),
            ],
        )
        self._send_events_to_eventbridge(self.raw)
        self.curated = self._bucket("Curated")
        self.records_prefix = RECORDS
        self.knowledge_prefix = DOCUMENTS
        self.quarantine = self._bucket("Quarantine")
        self.reports = self._bucket(
            "Reports",
            lifecycle_rules=[
                s3.LifecycleRule(id="expire-map-results", prefix=MAP_RESULTS, expiration=cdk.Duration.days(30))
            ],
        )
        self.audit = AuditTrail(
            self,
            "Audit",
            key=props.key,
            access_logs=props.access_logs,
            stage=props.stage,
            trail_name=f"{props.name_prefix}-data-audit",
        )
        self.audit.record_data_events(self.raw, self.curated)
        self.ledger = self._table(
            "RunLedger",
            sort_key="sk",
            purpose="holds per-run counters and object markers that a re-run of the dataset rebuilds",
        )
        self.claims = self._table(
            "DuplicateClaims",
            sort_key=None,
            purpose="holds record-digest claims that only speed up duplicate detection; a lost claim lets one "
            "duplicate through once, and a re-run writes them again",
        )
        self.hash_salt = self._hash_salt()
        self.functions = self._functions()
        self._grant()
        self._curated_writable_only_by_publish()
        self._maps: list[ObjectMap] = []
        self.state_machine = self._state_machine()
        self._trigger()
        self._alarms()
        self._outputs()

    def _outputs(self) -> None:
        """What docs/data.md's commands read with `aws cloudformation describe-stacks`."""
        for output_id, value, description in (
            (
                "RawBucketName",
                self.raw.bucket_name,
                "Upload datasets/<dataset>/... here, then datasets/<dataset>/_READY",
            ),
            ("CuratedBucketName", self.curated.bucket_name, "Published records/ and knowledge-base documents/"),
            ("QuarantineBucketName", self.quarantine.bucket_name, "Objects a run could not process, with reasons"),
            ("ReportsBucketName", self.reports.bucket_name, "Run reports: reports/<dataset>/<run>/report.md|json"),
            ("PipelineStateMachineArn", self.state_machine.state_machine_arn, "One execution per dataset run"),
        ):
            cdk.CfnOutput(self, output_id, value=value, description=description)

    # ---------------------------------------------------------------------------------------------
    # Stores
    # ---------------------------------------------------------------------------------------------

    def _bucket(self, name: str, lifecycle_rules: list[s3.LifecycleRule] | None = None) -> SecureBucket:
        return SecureBucket(
            self,
            name,
            key=self._props.key,
            access_logs=self._props.access_logs,
            stage=self._props.stage,
            lifecycle_rules=lifecycle_rules or [],
        )

    @staticmethod
    def _send_events_to_eventbridge(bucket: SecureBucket) -> None:
        # A plain bucket setting: CDK's `event_bridge_enabled` would deploy a custom-resource Lambda for it.
        resource = bucket.bucket.node.default_child
        assert isinstance(resource, s3.CfnBucket)
        resource.notification_configuration = s3.CfnBucket.NotificationConfigurationProperty(
            event_bridge_configuration=s3.CfnBucket.EventBridgeConfigurationProperty(event_bridge_enabled=True)
        )

    def _table(self, name: str, *, sort_key: str | None, purpose: str) -> dynamodb.Table:
        table = dynamodb.Table(
            self,
            name,
            partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name=sort_key, type=dynamodb.AttributeType.STRING) if sort_key else None,
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=self._props.key.key,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            time_to_live_attribute="expires_at",
            removal_policy=self._props.stage.removal_policy,
            deletion_protection=self._props.stage.deletion_protection,
        )
        acknowledge_all(
            table.node.default_child,  # type: ignore[arg-type]
            each_pack("DynamoDBInBackupPlan"),
            f"Point-in-time recovery is on; the table {purpose}, so an AWS Backup plan adds cost without a "
            "restore need.",
        )
        return table

    def _hash_salt(self) -> secretsmanager.CfnSecret:
        # The L1 on purpose: the L2 Secret adds a key-policy statement with `kms:GenerateDataKey*`; the key
        # policy already delegates to IAM, and the redact role gets exactly kms:Decrypt via Secrets Manager.
        secret = secretsmanager.CfnSecret(
            self,
            "HashSalt",
            description=f"{self._props.name_prefix}: salt of the pseudonymous hashes the PII policy keeps as join keys",
            kms_key_id=self._props.key.key_arn,
            generate_secret_string=secretsmanager.CfnSecret.GenerateSecretStringProperty(
                password_length=64, exclude_punctuation=True
            ),
        )
        secret.apply_removal_policy(self._props.stage.removal_policy)
        acknowledge_all(
            secret,
            ["AwsSolutions::AwsSolutions-SMG4", *each_pack("SecretsManagerRotationEnabled")],
            "The salt keys pseudonymous join hashes in curated data; rotating it would silently break every join "
            "with earlier datasets. It is never returned to callers, only used inside the redact function.",
        )
        return secret

    # ---------------------------------------------------------------------------------------------
    # Functions and their least privilege
    # ---------------------------------------------------------------------------------------------

    def _functions(self) -> dict[str, KitFunction]:
        props = self._props
        descriptions = {
            "start": "Data pipeline: start a run from the dataset's _READY marker",
            "validate": "Data pipeline: validate format, encoding, schema, size and duplicates",
            "redact": "Data pipeline: detect PII with Comprehend and apply the use case's policy",
            "profile": "Data pipeline: count groups, outcomes, missing values and PII per object",
            "assess": "Data pipeline: bias profile and PASS/WARN/FAIL verdict of the run",
            "publish": "Data pipeline: publish redacted records and knowledge-base documents to curated",
            "quarantine": "Data pipeline: move an object whose processing failed to quarantine",
            "finalize": "Data pipeline: prove conservation, write the report and metrics",
        }
        environment = {
            "validate": {"QUARANTINE_BUCKET": self.quarantine.bucket_name, "CLAIMS_TABLE": self.claims.table_name},
            "redact": {
                "QUARANTINE_BUCKET": self.quarantine.bucket_name,
                "HASH_SALT_SECRET_ARN": self.hash_salt.ref,
            },
            "publish": {"CURATED_BUCKET": self.curated.bucket_name, "USECASE_ID": props.usecase_id},
            "quarantine": {
                "QUARANTINE_BUCKET": self.quarantine.bucket_name,
                "CURATED_BUCKET": self.curated.bucket_name,
            },
            "finalize": {
                "REPORTS_BUCKET": self.reports.bucket_name,
                "CURATED_BUCKET": self.curated.bucket_name,
                "USECASE_ID": props.usecase_id,
            },
        }
        sizes = {"validate": (1769, 300), "redact": (1024, 600), "profile": (1024, 300), "publish": (1024, 300)}
        # data.yaml grows with the use case (a schema per source, the PII policy, the bias profile): each step's
        # slice travels as /opt/settings/<step>.json in one layer, not in the 4 KB environment.
        self.settings_layer = SettingsLayer(
            self,
            "PipelineSettings",
            files={step: props.settings.runtime(sections) for step, sections in FUNCTION_SECTIONS.items()},
            description=f"{props.name_prefix}: data pipeline settings from data.yaml, one file per step",
        )
        functions: dict[str, KitFunction] = {}
        for step, description in descriptions.items():
            env = dict(environment.get(step, {}))
            if step in TABLE_ACTIONS:
                env["LEDGER_TABLE"] = self.ledger.table_name
            if step in FUNCTION_SECTIONS:
                env.update(self.settings_layer.environment(step))
            memory, timeout = sizes.get(step, (512, 60))
            functions[step] = KitFunction(
                self,
                f"{step.capitalize()}Function",
                handler=f"pipeline.{step}.handler",
                description=description,
                service=f"data-{step}",
                namespace=self.metrics_namespace,
                key=props.key,
                stage=props.stage,
                environment=env,
                memory_size=memory,
                timeout=cdk.Duration.seconds(timeout),
                layers=[self.settings_layer.layer] if step in FUNCTION_SECTIONS else (),
            )
        return functions

    def _grant(self) -> None:
        fn = {step: f.role for step, f in self.functions.items()}
        key = self._props.key
        for step, actions in TABLE_ACTIONS.items():
            fn[step].add_to_principal_policy(iam.PolicyStatement(actions=actions, resources=[self.ledger.table_arn]))
            key.grant_use_via(fn[step], "dynamodb", encrypt=True)
        # validate: claims record digests to find duplicates across objects (and touches no run ledger).
        fn["validate"].add_to_principal_policy(
            iam.PolicyStatement(
                actions=["dynamodb:BatchGetItem", "dynamodb:PutItem"], resources=[self.claims.table_arn]
            )
        )
        key.grant_use_via(fn["validate"], "dynamodb", encrypt=True)
        # validate: read raw uploads, stage valid records, quarantine the rest.
        self.raw.grant_read(fn["validate"], DATASETS)
        self.raw.grant_write(fn["validate"], STAGING_VALID)
        self.quarantine.grant_write(fn["validate"], DATASETS)
        # redact: staged valid records in, redacted records out; Comprehend; the salt.
        self.raw.grant_read(fn["redact"], STAGING_VALID)
        self.raw.grant_write(fn["redact"], STAGING_REDACTED)
        self.quarantine.grant_write(fn["redact"], DATASETS)
        fn["redact"].add_to_principal_policy(
            iam.PolicyStatement(actions=["comprehend:DetectPiiEntities"], resources=["*"])
        )
        fn["redact"].add_to_principal_policy(
            iam.PolicyStatement(actions=["secretsmanager:GetSecretValue"], resources=[self.hash_salt.ref])
        )
        key.grant_use_via(fn["redact"], "secretsmanager", encrypt=False)
        # profile: reads the redacted records it counts.
        self.raw.grant_read(fn["profile"], STAGING_REDACTED)
        # publish: the only writer of curated (the bucket policy denies everyone else), records and documents.
        self.raw.grant_read(fn["publish"], STAGING_REDACTED)
        self.curated.grant_write(fn["publish"], RECORDS)
        self.curated.grant_write(fn["publish"], DOCUMENTS)
        # quarantine: copies the failed object, removes what a failed publish left behind.
        self.raw.grant_read(fn["quarantine"], DATASETS)
        self.raw.grant_read(fn["quarantine"], STAGING_REDACTED)
        self.quarantine.grant_write(fn["quarantine"], DATASETS)
        self.quarantine.grant_delete(fn["quarantine"], DATASETS)
        self.curated.grant_delete(fn["quarantine"], RECORDS)
        self.curated.grant_delete(fn["quarantine"], DOCUMENTS)
        # finalize: writes the run report.
        self.reports.grant_write(fn["finalize"], REPORTS)

    def _curated_writable_only_by_publish(self) -> None:
        publish_role = self.functions["publish"].role
        self.curated.bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="OnlyThePublishStepWritesCurated",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=["s3:PutObject"],
                resources=[self.curated.arn_for()],
                conditions={"ArnNotEquals": {"aws:PrincipalArn": publish_role.role_arn}},
            )
        )

    # ---------------------------------------------------------------------------------------------
    # Orchestration
    # ---------------------------------------------------------------------------------------------

    def _invoke(
        self, state_id: str, step: str, payload: dict[str, object] | None = None, result_path: str | None = None
    ) -> tasks.LambdaInvoke:
        task = tasks.LambdaInvoke(
            self,
            state_id,
            lambda_function=self.functions[step].function,
            payload=sfn.TaskInput.from_object(payload) if payload is not None else None,
            payload_response_only=True,
            retry_on_service_exceptions=False,
            result_path=result_path,
        )
        task.add_retry(
            errors=RETRYABLE,
            interval=cdk.Duration.seconds(2),
            max_attempts=6,
            backoff_rate=2,
            max_delay=cdk.Duration.seconds(60),
            jitter_strategy=sfn.JitterType.FULL,
        )
        return task

    def _distributed_map(
        self, state_id: str, prefix_path: str, item_selector: dict[str, object], processor: sfn.IChainable
    ) -> ObjectMap:
        objects = ObjectMap(
            self,
            state_id,
            items=self.raw,
            prefix_path=prefix_path,
            results=self.reports,
            results_prefix=MAP_RESULTS,
            item_selector=item_selector,
            max_concurrency=self._props.settings.map_concurrency,
        )
        objects.item_processor(processor)
        self._maps.append(objects)
        return objects

    def _state_machine(self) -> sfn.StateMachine:
        start = self._invoke(
            "Start",
            "start",
            payload={"event": sfn.JsonPath.object_at("$"), "execution": sfn.JsonPath.string_at("$$.Execution.Name")},
        )
        # Phase 1: every object of the dataset through validate -> redact -> profile.
        quarantine_processing = self._invoke(
            "QuarantineFailedObject", "quarantine", payload={"phase": "process", "failed": sfn.JsonPath.object_at("$")}
        )
        validate = self._invoke("Validate", "validate")
        redact = self._invoke("Redact", "redact")
        profile = self._invoke("Profile", "profile")
        for task in (validate, redact, profile):
            task.add_catch(quarantine_processing, errors=[sfn.Errors.ALL], result_path="$.error")
        process = self._distributed_map(
            "ProcessObjects",
            "$.run.prefix",
            {
                "key": sfn.JsonPath.string_at("$$.Map.Item.Value.Key"),
                "size": sfn.JsonPath.number_at("$$.Map.Item.Value.Size"),
                "run": sfn.JsonPath.object_at("$.run"),
            },
            validate.next(redact).next(profile),
        )
        assess = self._invoke(
            "Assess", "assess", payload={"run": sfn.JsonPath.object_at("$.run")}, result_path="$.assessment"
        )
        # Phase 2: publish every redacted object, unless the bias gate failed.
        publish = self._invoke("Publish", "publish")
        publish.add_catch(
            self._invoke(
                "QuarantineUnpublishedObject",
                "quarantine",
                payload={"phase": "publish", "failed": sfn.JsonPath.object_at("$")},
            ),
            errors=[sfn.Errors.ALL],
            result_path="$.error",
        )
        publish_all = self._distributed_map(
            "PublishObjects",
            "$.run.redacted_prefix",
            {
                "key": sfn.JsonPath.string_at("$$.Map.Item.Value.Key"),
                "run": sfn.JsonPath.object_at("$.run"),
                "bias_status": sfn.JsonPath.string_at("$.assessment.status"),
            },
            publish,
        )

        def finalize(state_id: str, published: bool) -> tasks.LambdaInvoke:
            return self._invoke(
                state_id,
                "finalize",
                payload={
                    "run": sfn.JsonPath.object_at("$.run"),
                    "assessment": sfn.JsonPath.object_at("$.assessment"),
                    "published": published,
                },
                result_path="$.final",
            )

        announce = tasks.EventBridgePutEvents(
            self,
            "AnnounceDatasetPublished",
            entries=[
                tasks.EventBridgePutEventsEntry(
                    event_bus=self.event_bus,
                    source=self.event_source,
                    detail_type=self.event_detail_type,
                    detail=sfn.TaskInput.from_json_path_at("$.final.summary"),
                )
            ],
            result_path=sfn.JsonPath.DISCARD,
        )
        announce.add_retry(
            errors=["EventBridge.FailedEntry", "EventBridge.EventBridgeException"],
            interval=cdk.Duration.seconds(2),
            max_attempts=5,
            backoff_rate=2,
            max_delay=cdk.Duration.seconds(60),
            jitter_strategy=sfn.JitterType.FULL,
        )
        gate = (
            sfn.Choice(self, "BiasGate")
            .when(
                sfn.Condition.string_equals("$.assessment.status", "FAIL"),
                finalize("FinalizeHeldBack", published=False).next(
                    sfn.Fail(
                        self,
                        "BiasGateFailed",
                        error="BiasGateFailed",
                        cause="Bias profile FAIL: nothing published; see the run report",
                    )
                ),
            )
            .otherwise(
                publish_all.next(finalize("FinalizePublished", published=True))
                .next(announce)
                .next(sfn.Succeed(self, "Published"))
            )
        )
        # Step Functions adds each destination log group to the account's CloudWatch Logs resource policy,
        # which is capped at 5,120 characters; names under /aws/vendedlogs/ are covered without growing it
        # (Step Functions Developer Guide, "Avoiding CloudWatch Logs resource policy size restrictions").
        log_group = logs.LogGroup(
            self,
            "PipelineLogs",
            log_group_name=f"{VENDED_LOGS_STATES}{self._props.name_prefix}-data-pipeline",
            encryption_key=self._props.key.key,
            retention=self._props.stage.log_retention,
            removal_policy=self._props.stage.removal_policy,
        )
        machine = sfn.StateMachine(
            self,
            "Pipeline",
            state_machine_name=f"{self._props.name_prefix}-data-pipeline",
            state_machine_type=sfn.StateMachineType.STANDARD,
            definition_body=sfn.DefinitionBody.from_chainable(start.next(process).next(assess).next(gate)),
            logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=False),
            tracing_enabled=True,
            timeout=cdk.Duration.hours(24),
        )
        # Like KitFunction: CDK orders the state machine after its role (DependsOn) although RoleArn's GetAtt
        # already does; the DependsOn also carries the role's policy, which must stay (cfn-lint W3005).
        machine_resource = machine.node.default_child
        assert isinstance(machine_resource, sfn.CfnStateMachine)
        machine_resource.add_metadata("cfn-lint", {"config": {"ignore_checks": ["W3005"]}})
        for objects in self._maps:
            objects.grant_results(machine.role)
        self._acknowledge_state_machine_policies(machine)
        return machine

    def _acknowledge_state_machine_policies(self, machine: sfn.StateMachine) -> None:
        """The findings CDK's Step Functions integrations raise by construction, each with its evidence."""
        policy = machine.role.node.find_child("DefaultPolicy").node.default_child
        assert policy is not None
        acknowledge_role_policy(policy)
        for function in self.functions.values():
            acknowledge(
                policy,
                iam5_resource_finding(self, f"{function.function_arn}:*"),
                "lambda:InvokeFunction on the function's own versions and aliases (CDK's LambdaInvoke grant); "
                "no other function matches the ARN.",
            )
        distributed = machine.node.find_child("DistributedMapPolicy").node.default_child
        assert distributed is not None
        acknowledge_role_policy(distributed)
        # Built the way CDK builds the DistributedMapPolicy resources (Stack.format_arn), so the finding id
        # holds for environment-agnostic and pinned stacks alike (a pinned region renders as a literal).
        name = cdk.Fn.select(6, cdk.Fn.split(":", machine.state_machine_arn))
        executions = self.format_arn(
            service="states", resource="execution", resource_name=name, arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME
        )
        for resource in (f"{executions}:*", f"{executions}/*:*"):
            acknowledge(
                distributed,
                iam5_resource_finding(self, resource),
                "Distributed Map describes, stops and redrives the child executions of this state machine only; "
                "their names are generated per map run.",
            )

    def _trigger(self) -> None:
        rule_name = f"{self._props.name_prefix}-data-ready"
        dead_letters = sqs.Queue(
            self,
            "TriggerDeadLetters",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=self._props.key.key,
            enforce_ssl=True,
            retention_period=cdk.Duration.days(14),
        )
        acknowledge_all(
            dead_letters.node.default_child,  # type: ignore[arg-type]
            ["AwsSolutions::AwsSolutions-SQS3", "Serverless::Serverless-SQSRedrivePolicy"],
            "This queue is itself the dead-letter queue of the dataset-ready rule; it has no further DLQ.",
        )
        rule = events.Rule(
            self,
            "DatasetReady",
            rule_name=rule_name,
            description="A dataset's _READY marker in the raw bucket starts one pipeline run",
            event_pattern=events.EventPattern(
                source=["aws.s3"],
                detail_type=["Object Created"],
                detail={
                    "bucket": {"name": [self.raw.bucket_name]},
                    "object": {"key": [{"wildcard": READY_PATTERN}]},
                },
            ),
        )
        rule.add_target(
            targets.SfnStateMachine(
                self.state_machine,
                dead_letter_queue=dead_letters,
                retry_attempts=20,
                max_event_age=cdk.Duration.hours(24),
            )
        )
        # EventBridge sends undeliverable events to the CMK-encrypted queue: it may use the key for this rule.
        self._props.key.allow_service(
            f"EventBridgeDeadLettersOf{cdk.Names.unique_id(rule)}"[:128],
            "events.amazonaws.com",
            source_arn=cdk.Stack.of(self._props.key).format_arn(
                service="events", resource="rule", resource_name=rule_name, arn_format=cdk.ArnFormat.SLASH_RESOURCE_NAME
            ),
        )
        events_policy = self.state_machine.node.find_child("EventsRole").node.find_child("DefaultPolicy")
        acknowledge_all(
            events_policy.node.default_child,  # type: ignore[arg-type]
            each_pack("IAMNoInlinePolicy"),
            "EventBridge's role for this rule holds one statement (states:StartExecution on this state machine) "
            "and is created and deleted with it; a managed copy would be attachable elsewhere.",
        )
        self.trigger_dead_letters = dead_letters

    # ---------------------------------------------------------------------------------------------
    # Monitoring
    # ---------------------------------------------------------------------------------------------

    def _run_metric(self, name: str) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace=self.metrics_namespace,
            metric_name=name,
            dimensions_map={"service": "data-finalize"},
            statistic="Maximum",
            period=cdk.Duration.minutes(5),
        )

    def _alarms(self) -> None:
        topic = self._props.alarm_topic
        quarantine_percent = 100 * self._props.settings.monitoring.quarantine_rate_alarm
        alarms = [
            cloudwatch.Alarm(
                self,
                "PipelineExecutionsFailed",
                alarm_description="A data pipeline execution failed (bias gate FAIL, conservation or a step error).",
                metric=self.state_machine.metric_failed(period=cdk.Duration.minutes(5), statistic="Sum"),
                threshold=1,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            ),
            cloudwatch.Alarm(
                self,
                "QuarantineRateHigh",
                alarm_description=f"A run quarantined more than {quarantine_percent:g}% of its records.",
                metric=self._run_metric("QuarantineRate"),
                threshold=quarantine_percent,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            ),
            cloudwatch.Alarm(
                self,
                "BiasStatusFail",
                alarm_description="A run's bias profile is FAIL (BiasStatus 2): the dataset was held back.",
                metric=self._run_metric("BiasStatus"),
                threshold=2,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            ),
            cloudwatch.Alarm(
                self,
                "TriggerUndelivered",
                alarm_description="A dataset-ready event could not start the pipeline (see the dead-letter queue).",
                metric=self.trigger_dead_letters.metric_approximate_number_of_messages_visible(
                    period=cdk.Duration.minutes(5), statistic="Maximum"
                ),
                threshold=1,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            ),
        ]
        for alarm in alarms:
            topic.notify(alarm)
        self.alarms = alarms
