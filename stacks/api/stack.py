"""Api stack: the use case's chat API, from idea to a proof of concept people can sign in to.

- An API Gateway REST API (regional) with a Cognito user-pool authorizer on every method (users.py), JSON-schema
  request models with a body validator (request_models.py), stage throttling, X-Ray, CMK-encrypted JSON access
  logs with the request id and the caller's `sub`, and CORS limited to api.yaml `cors_origins`.
- A WAFv2 web ACL on the stage (firewall.py): IP reputation, a rate per IP, a body-size rule at the configured
  prompt length, the common and known-bad-input rule groups.
- Two functions from the one code asset, both running the Starlette app of lambdas/api/server.py under uvicorn
  behind the Lambda Web Adapter (web_adapter.py): `stream` answers `POST /chat/stream` with server-sent events
  through API Gateway response streaming (integration `ResponseTransferMode.STREAM`, Lambda's
  InvokeWithResponseStream, adapter `AWS_LWA_INVOKE_MODE=response_stream`); `chat` answers the buffered routes.
- The conversations, quotas and telemetry tables (tables.py), and with a curated bucket the daily fine-tuning
  export of thumbs-up exchanges, PII-redacted, to curated `finetune/` (EventBridge schedule, dead-letter queue).

Settings: `API_SETTINGS` holds the JSON of `api.contract.ApiSettings` (deploy-time ids of the guardrail, knowledge
base and agent are tokens CloudFormation fills in; table names are fixed strings); `SAFETY_SETTINGS` is the Guardrails
stack's `safety_settings_json()`. Fields equal to the contract's defaults are left out: the function restores them.

Nothing bills idle but the WAF web ACL and its rules (monthly), stored table bytes and the CMK. Everything it uses
from other stacks is in `ApiProps` (access.py protocols), so it deploys alone against a team's resources.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import aws_cdk as cdk
from api.contract import API_SETTINGS_ENV, ApiSettings, QuotaSpec
from api.deployed_settings import API_SECTION, EXPORT_FILE, SAFETY_SECTION, SETTINGS_FILE
from api.store.export_contract import EXPORT_SETTINGS_ENV, ExportSettings
from api.store.schema import TELEMETRY_UP_INDEX
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from constructs import Construct
from pipeline.contract import PiiPolicy

from stacks.api.access import AgentAccess, GuardrailAccess, HostedModelAccess, KnowledgeBaseAccess, PromptsAccess
from stacks.api.firewall import ApiFirewall
from stacks.api.request_models import chat_schema, events_schema, feedback_schema
from stacks.api.settings import API_FILE, USECASE_ARCHITECTURES, ApiArchitecture, ApiFileSettings
from stacks.api.tables import CONVERSATIONS, QUOTAS, TELEMETRY, ApiTables
from stacks.api.users import ChatUsers
from stacks.api.web_adapter import HANDLER, adapter_environment, web_adapter_layer
from stacks.common.buckets import grant_write_prefix
from stacks.common.deploy_time import split_deploy_time
from stacks.common.kit_function import KitFunction
from stacks.common.kms_key import allow_service_use, grant_key_use_via
from stacks.common.nag import acknowledge_all, acknowledge_object_prefix, each_pack
from stacks.common.serving_grants import grant_serving
from stacks.common.settings_layer import SettingsLayer
from stacks.common.stage_policy import StagePolicy
from stacks.common.threshold_alarm import ThresholdAlarm
from stacks.config import ConfigError

METRICS_NAMESPACE = "JourneyKit/Api"
SAFETY_SETTINGS_ENV = "SAFETY_SETTINGS"  # common.safety.policy.ENVIRONMENT_VARIABLE
# Pydantic looks up plugins among every installed distribution's entry points when it builds its first model, about
# 8 ms of the chat function's cold import (more with the dependency layer's dist-info on the path); the kit uses no
# pydantic plugin. bench/api_bench.py measures the cold import with the same environment.
COLD_START_ENVIRONMENT = {"PYDANTIC_DISABLE_PLUGINS": "__all__"}
CHAT_SERVICE = "api-chat"
STREAM_SERVICE = "api-chat-stream"
EXPORT_SERVICE = "api-finetune-export"
EXPORT_HANDLER = "api.finetune_export.handler"
FINETUNE_PREFIX = "finetune/"
# The streaming route may run for minutes (API Gateway allows 15 for a streamed response, and closes a stream idle
# for 5 on a regional endpoint); the buffered routes end within API Gateway's 29-second integration timeout.
STREAM_TIMEOUT = cdk.Duration.minutes(5)
BUFFERED_TIMEOUT = cdk.Duration.seconds(29)

# Exactly the DynamoDB calls of lambdas/api/store/ (conversations.py, quotas.py, telemetry.py).
CONVERSATION_ACTIONS = ["dynamodb:BatchWriteItem", "dynamodb:GetItem", "dynamodb:Query", "dynamodb:UpdateItem"]
QUOTA_ACTIONS = ["dynamodb:GetItem", "dynamodb:UpdateItem"]
TELEMETRY_ACTIONS = ["dynamodb:PutItem"]
# The export reads one day of the thumbs-up index and the exchanges it names (lambdas/api/finetune_export.py).
EXPORT_INDEX_ACTIONS = ["dynamodb:Query"]
EXPORT_TABLE_ACTIONS = ["dynamodb:BatchGetItem"]

# The JSON access-log line: who (the Cognito `sub`), what, the outcome, and where the time went.
ACCESS_LOG_FIELDS = {
    "requestId": "$context.requestId",
    "extendedRequestId": "$context.extendedRequestId",
    "userSub": "$context.authorizer.claims.sub",
    "sourceIp": "$context.identity.sourceIp",
    "requestTime": "$context.requestTime",
    "httpMethod": "$context.httpMethod",
    "resourcePath": "$context.resourcePath",
    "status": "$context.status",
    "responseLength": "$context.responseLength",
    "responseLatency": "$context.responseLatency",
    "integrationLatency": "$context.integrationLatency",
    "integrationError": "$context.integration.error",
    "authorizerError": "$context.authorizer.error",
    "wafStatus": "$context.waf.status",
    "xrayTraceId": "$context.xrayTraceId",
}


@dataclass(frozen=True)
class FinetuneExportTarget:
    """Where the daily export writes (curated `finetune/<date>/`) and the Data stack's hash salt it redacts with."""

    bucket: s3.IBucket
    salt_secret_arn: str
    pii: PiiPolicy  # the data stage's redaction policy (`DataSettings.contract().pii`), applied the same way
    bucket_key: kms.IKey | None = None  # None: the bucket's own key if it has one, else ``ApiProps.key``
    salt_key: kms.IKey | None = None  # the salt secret's key; None: ``ApiProps.key``
    prefix: str = FINETUNE_PREFIX


@dataclass(frozen=True)
class ApiProps:
    """What the Api stack uses from elsewhere: the kit's stacks or a team's own resources (access.py)."""

    name_prefix: str  # "<prefix>-<stage>"
    stage: StagePolicy
    key: kms.IKey  # encrypts tables, logs, function environments and the dead-letter queue
    alarm_topic: sns.ITopic
    usecase_id: str
    architecture: str  # usecase.yaml `architecture` (direct, rag, agent, multi)
    model: str  # usecase.yaml `models.text`: a model or inference-profile id
    guardrail: GuardrailAccess
    settings: ApiFileSettings = field(default_factory=ApiFileSettings)
    knowledge_base: KnowledgeBaseAccess | None = None  # required when rag is offered
    agent: AgentAccess | None = None  # required when agent is offered
    prompts: PromptsAccess | None = None  # required for multi-task
    finetune_export: FinetuneExportTarget | None = None  # None: no export function
    hosted_model: HostedModelAccess | None = None  # serves `direct` instead of Bedrock (features.hosted_model)
    settings_source: str = API_FILE  # how errors name api.yaml


class ApiStack(cdk.Stack):
    """Exposes `api` (RestApi), `users` (`ChatUsers`), `firewall`, `tables`, `chat` and `stream` (`KitFunction`),
    `export` (`KitFunction` or None), `settings` (`ApiSettings`) and `alarms`.
    Outputs: ApiUrl, UserPoolId, UserPoolClientId."""

    def __init__(self, scope: Construct, construct_id: str, *, props: ApiProps, **kwargs: object) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        self._props = props
        file = props.settings
        self.architectures = _check_props(props)
        self.tables = ApiTables(self, "Tables", name_prefix=props.name_prefix, key=props.key, stage=props.stage)
        self.users = ChatUsers(
            self, "Users", name_prefix=props.name_prefix, stage=props.stage, self_sign_up=file.self_sign_up
        )
        self.settings = self._settings()
        # Static values go into the settings layer, deploy-time ids stay in the environment
        # (lambdas/api/deployed_settings.py merges them; the whole of both passes the environment budget).
        static_api, deployed_api = split_deploy_time(self.settings.model_dump(mode="json", exclude_defaults=True))
        static_safety, deployed_safety = split_deploy_time(json.loads(props.guardrail.safety_settings_json()))
        self.settings_layer = SettingsLayer(
            self,
            "ApiSettings",
            files={
                SETTINGS_FILE.removesuffix(".json"): {API_SECTION: static_api, SAFETY_SECTION: static_safety},
                **self._export_files(),
            },
            description=f"{props.name_prefix}: chat API settings",
        )
        environment = {
            **COLD_START_ENVIRONMENT,
            **self.settings_layer.environment(SETTINGS_FILE.removesuffix(".json")),
            API_SETTINGS_ENV: self.to_json_string(deployed_api or {}),
            SAFETY_SETTINGS_ENV: self.to_json_string(deployed_safety or {}),
        }
        self.chat = self._web_function(
            "ChatFunction",
            "Chat API: POST /chat, /feedback, /events; GET /sessions (buffered)",
            CHAT_SERVICE,
            environment,
            stream=False,
        )
        self.stream = self._web_function(
            "ChatStreamFunction",
            "Chat API: POST /chat/stream, server-sent events (response streaming)",
            STREAM_SERVICE,
            environment,
            stream=True,
        )
        for function in (self.chat, self.stream):
            self._grant_chat(function.role)
        self.api = self._rest_api()
        self.firewall = ApiFirewall(
            self,
            "Firewall",
            name_prefix=props.name_prefix,
            stage_arn=self.api.deployment_stage.stage_arn,
            key=props.key,
            stage=props.stage,
            rate_limit=file.waf.rate_limit,
            max_prompt_chars=file.max_prompt_chars,
            count_body_rules=tuple(file.waf.count_body_rules),
        )
        self.export = self._export(props.finetune_export) if props.finetune_export is not None else None
        self.alarms = self._alarms()
        cdk.CfnOutput(self, "ApiUrl", value=self.api.url, description="Base URL of the chat API (the stage's)")
        cdk.CfnOutput(
            self, "UserPoolId", value=self.users.user_pool.user_pool_id, description="cognito-idp --user-pool-id"
        )
        cdk.CfnOutput(
            self,
            "UserPoolClientId",
            value=self.users.client.user_pool_client_id,
            description="The chat page's app client (SRP, no secret)",
        )

    # ------------------------------------------------------------------ settings

    def _settings(self) -> ApiSettings:
        props, file = self._props, self._props.settings
        offered = self.architectures
        tables = self.tables
        knowledge = props.knowledge_base if "rag" in offered else None
        agent = props.agent if "agent" in offered else None
        return ApiSettings(
            usecase=props.usecase_id,
            architecture=offered[0],
            per_request=tuple(a for a in offered[1:]),
            model_id=props.model,
            guardrail_id=props.guardrail.guardrail_id,
            guardrail_version=props.guardrail.guardrail_version,
            knowledge_base_id=knowledge.knowledge_base_id if knowledge is not None else None,
            retrieve_results=file.retrieve_results,
            agent_id=agent.agent_id if agent is not None else None,
            agent_alias_id=agent.alias_id if agent is not None else None,
            agent_trace=file.agent_trace,
            prompt_parameters=dict(props.prompts.parameter_names) if props.prompts is not None else {},
            default_task=file.default_task,
            max_prompt_chars=file.max_prompt_chars,
            history_tokens=file.history_tokens,
            conversation_days=file.conversation_days,
            conversations_table=tables.table_name(CONVERSATIONS),
            quotas_table=tables.table_name(QUOTAS),
            telemetry_table=tables.table_name(TELEMETRY),
            quotas={
                group: QuotaSpec(tokens_per_day=quota.tokens_per_day, requests_per_minute=quota.requests_per_minute)
                for group, quota in file.quotas.items()
            },
            metrics_namespace=METRICS_NAMESPACE,
            cors_origins=tuple(file.cors_origins),
            hosted_endpoint=props.hosted_model.endpoint_name if props.hosted_model is not None else None,
            hosted_inference_component=(
                props.hosted_model.inference_component_name if props.hosted_model is not None else None
            ),
        )

    # ------------------------------------------------------------------ functions

    def _web_function(
        self, construct_id: str, description: str, service: str, environment: dict[str, str], *, stream: bool
    ) -> KitFunction:
        props = self._props
        return KitFunction(
            self,
            construct_id,
            handler=HANDLER,
            description=description,
            service=service,
            namespace=METRICS_NAMESPACE,
            key=props.key,
            stage=props.stage,
            environment={**adapter_environment(stream=stream), **environment},
            layers=[web_adapter_layer(self), self.settings_layer.layer],
            memory_size=1024,
            timeout=STREAM_TIMEOUT if stream else BUFFERED_TIMEOUT,
        )

    def _grant_chat(self, role: iam.IRole) -> None:
        """What the chat pipeline calls: the model, the guardrail and the safety checks, the knowledge base or the
        agent where those architectures are offered, the selected prompts, and the three tables."""
        props = self._props
        grant_serving(
            role,
            model=props.model,
            guardrail=props.guardrail,
            architectures=self.architectures,
            knowledge_base=props.knowledge_base,
            agent=props.agent,
            more_grants=(props.hosted_model.grant_invoke,) if props.hosted_model is not None else (),
            prompts=props.prompts,
        )
        tables = self.tables
        for table, actions in (
            (tables.conversations, CONVERSATION_ACTIONS),
            (tables.quotas, QUOTA_ACTIONS),
            (tables.telemetry, TELEMETRY_ACTIONS),
        ):
            iam.Grant.add_to_principal(grantee=role, actions=actions, resource_arns=[table.table_arn])
        grant_key_use_via(props.key, role, "dynamodb", encrypt=True)

    # ------------------------------------------------------------------ REST API

    def _rest_api(self) -> apigw.RestApi:
        props, file = self._props, self._props.settings
        access_logs = logs.LogGroup(
            self,
            "AccessLogs",
            encryption_key=props.key,
            retention=props.stage.log_retention,
            removal_policy=props.stage.removal_policy,
        )
        authorizer = apigw.CognitoUserPoolsAuthorizer(
            self, "Authorizer", cognito_user_pools=[self.users.user_pool], results_cache_ttl=cdk.Duration.minutes(5)
        )
        api = apigw.RestApi(
            self,
            "RestApi",
            rest_api_name=f"{props.name_prefix}-api",
            description=f"{props.name_prefix}: chat API (Cognito, WAF, streaming)",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            cloud_watch_role=False,  # the account's API Gateway logging role is a prerequisite (docs/api.md)
            deploy_options=apigw.StageOptions(
                stage_name=props.stage.stage,
                throttling_rate_limit=file.throttling.rate_limit,
                throttling_burst_limit=file.throttling.burst_limit,
                tracing_enabled=True,
                metrics_enabled=True,
                logging_level=apigw.MethodLoggingLevel.ERROR,
                data_trace_enabled=False,  # would log request and response bodies: prompts and answers
                access_log_destination=apigw.LogGroupLogDestination(access_logs),
                access_log_format=apigw.AccessLogFormat.custom(json.dumps(ACCESS_LOG_FIELDS, separators=(",", ":"))),
            ),
            default_cors_preflight_options=apigw.CorsOptions(
                allow_origins=list(file.cors_origins),
                allow_methods=["GET", "POST", "OPTIONS"],
                allow_headers=["Authorization", "Content-Type"],
                max_age=cdk.Duration.hours(1),
            ),
            default_method_options=apigw.MethodOptions(
                authorizer=authorizer, authorization_type=apigw.AuthorizationType.COGNITO
            ),
        )
        self._cors_on_gateway_errors(api, file.cors_origins)
        validator = api.add_request_validator(
            "Validator",
            request_validator_name="body-and-parameters",
            validate_request_body=True,
            validate_request_parameters=True,
        )
        chat_model = self._model(api, "ChatRequest", chat_schema(file.max_prompt_chars))
        buffered = apigw.LambdaIntegration(self.chat.function, allow_test_invoke=False, timeout=BUFFERED_TIMEOUT)
        streaming = apigw.LambdaIntegration(
            self.stream.function,
            allow_test_invoke=False,
            response_transfer_mode=apigw.ResponseTransferMode.STREAM,
            timeout=STREAM_TIMEOUT,
        )

        def post(resource: apigw.IResource, integration: apigw.Integration, model: apigw.IModel) -> None:
            resource.add_method(
                "POST", integration, request_validator=validator, request_models={"application/json": model}
            )

        chat = api.root.add_resource("chat")
        post(chat, buffered, chat_model)
        post(chat.add_resource("stream"), streaming, chat_model)
        post(api.root.add_resource("feedback"), buffered, self._model(api, "FeedbackRequest", feedback_schema()))
        post(api.root.add_resource("events"), buffered, self._model(api, "EventRequest", events_schema()))
        sessions = api.root.add_resource("sessions")
        sessions.add_method("GET", buffered)
        sessions.add_resource("{id}").add_method(
            "GET", buffered, request_validator=validator, request_parameters={"method.request.path.id": True}
        )
        self._acknowledge_api(api, access_logs)
        return api

    def _model(self, api: apigw.RestApi, name: str, schema: dict[str, Any]) -> apigw.IModel:
        """A request model from a plain JSON schema; a changed schema makes a new deployment (models are part of
        what a deployment snapshots)."""
        model = apigw.CfnModel(
            self, f"{name}Model", rest_api_id=api.rest_api_id, content_type="application/json", name=name, schema=schema
        )
        api.latest_deployment.add_to_logical_id(schema)  # type: ignore[union-attr]
        return apigw.Model.from_model_name(self, f"{name}ModelRef", model.ref)

    @staticmethod
    def _cors_on_gateway_errors(api: apigw.RestApi, origins: list[str]) -> None:
        """API Gateway's own 4XX/5XX answers (authorizer, validation, WAF, throttling) carry the CORS origin, so the
        chat page can read the error instead of a CORS failure. A gateway response has one static header value:
        with several origins the app's own responses still carry the matching one, gateway errors none."""
        if len(origins) != 1:
            return
        headers = {"Access-Control-Allow-Origin": f"'{origins[0]}'", "Vary": "'Origin'"}
        for response_id, response_type in (
            ("Default4xx", apigw.ResponseType.DEFAULT_4_XX),
            ("Default5xx", apigw.ResponseType.DEFAULT_5_XX),
        ):
            api.add_gateway_response(response_id, type=response_type, response_headers=headers)

    def _acknowledge_api(self, api: apigw.RestApi, access_logs: logs.LogGroup) -> None:
        stage = api.deployment_stage.node.default_child
        assert stage is not None
        acknowledge_all(
            stage,
            each_pack("APIGWCacheEnabledAndEncrypted"),
            "Response caching is off: every answer is per user and per conversation, and a stage cache cannot serve "
            "a streamed response (API Gateway response streaming does not support caching).",
        )
        acknowledge_all(
            stage,
            each_pack("APIGWSSLEnabled"),
            "The integrations are Lambda proxy integrations called through the Lambda API with IAM, not HTTP "
            "backends, so a client certificate for the backend has nothing to authenticate.",
        )
        for method in api.methods:
            if method.http_method == "OPTIONS":
                acknowledge_all(
                    method.node.default_child,  # type: ignore[arg-type]
                    ["AwsSolutions::AwsSolutions-APIG4", "AwsSolutions::AwsSolutions-COG4"],
                    "CORS preflight: browsers send OPTIONS without credentials, so it cannot carry the Cognito token; "
                    "the mock integration only returns the allowed origins, methods and headers, and calls nothing.",
                )

    # ------------------------------------------------------------------ fine-tuning export

    def _export_settings(self, target: FinetuneExportTarget) -> ExportSettings:
        props = self._props
        return ExportSettings(
            usecase=props.usecase_id,
            telemetry_table=self.tables.table_name(TELEMETRY),
            curated_bucket=target.bucket.bucket_name,
            prefix=target.prefix,
            pii=target.pii,
            hash_salt_secret_arn=target.salt_secret_arn,
        )

    def _export_files(self) -> dict[str, Any]:
        target = self._props.finetune_export
        if target is None:
            return {}
        static, _ = split_deploy_time(self._export_settings(target).model_dump(mode="json", exclude_defaults=True))
        return {EXPORT_FILE.removesuffix(".json"): static}

    def _export(self, target: FinetuneExportTarget) -> KitFunction:
        props, tables = self._props, self.tables
        settings = self._export_settings(target)
        # The PII policy grows with data.yaml: static values in the settings layer, deploy-time names in the
        # environment (lambdas/api/deployed_settings.py merges them).
        _, deployed = split_deploy_time(settings.model_dump(mode="json", exclude_defaults=True))
        export = KitFunction(
            self,
            "FinetuneExportFunction",
            handler=EXPORT_HANDLER,
            description="Daily: thumbs-up exchanges, PII-redacted, to curated finetune/<date>/ (Bedrock format)",
            service=EXPORT_SERVICE,
            namespace=METRICS_NAMESPACE,
            key=props.key,
            stage=props.stage,
            environment={
                **self.settings_layer.environment(EXPORT_FILE.removesuffix(".json")),
                EXPORT_SETTINGS_ENV: self.to_json_string(deployed or {}),
            },
            layers=[self.settings_layer.layer],
            memory_size=1024,
            timeout=cdk.Duration.minutes(15),
            dead_letter_queue=True,
        )
        role = export.role
        telemetry = tables.telemetry
        iam.Grant.add_to_principal(
            grantee=role,
            actions=EXPORT_INDEX_ACTIONS,
            resource_arns=[f"{telemetry.table_arn}/index/{TELEMETRY_UP_INDEX}"],
        )
        iam.Grant.add_to_principal(grantee=role, actions=EXPORT_TABLE_ACTIONS, resource_arns=[telemetry.table_arn])
        grant_key_use_via(props.key, role, "dynamodb", encrypt=False)
        bucket_key = target.bucket_key or target.bucket.encryption_key or props.key
        grant_write_prefix(target.bucket, role, target.prefix, key=bucket_key)
        acknowledge_object_prefix(role, target.bucket.arn_for_objects(f"{target.prefix}*"))
        iam.Grant.add_to_principal(grantee=role, actions=["comprehend:DetectPiiEntities"], resource_arns=["*"])
        iam.Grant.add_to_principal(
            grantee=role, actions=["secretsmanager:GetSecretValue"], resource_arns=[target.salt_secret_arn]
        )
        grant_key_use_via(target.salt_key or props.key, role, "secretsmanager", encrypt=False)
        self._schedule(export)
        return export

    def _schedule(self, export: KitFunction) -> events.Rule:
        props = self._props
        rule_name = f"{props.name_prefix}-api-finetune-export"
        rule = events.Rule(
            self,
            "DailyFinetuneExport",
            rule_name=rule_name,
            description="Daily at 02:30 UTC: export yesterday's thumbs-up exchanges for fine-tuning",
            schedule=events.Schedule.cron(minute="30", hour="2"),
        )
        dead_letters = export.dead_letter_queue
        assert dead_letters is not None
        rule.add_target(
            targets.LambdaFunction(
                export.function, dead_letter_queue=dead_letters, retry_attempts=2, max_event_age=cdk.Duration.hours(6)
            )
        )
        allow_service_use(
            rule,
            props.key,
            f"EventBridgeDeadLettersOf{cdk.Names.unique_id(rule)}"[:128],
            "events.amazonaws.com",
            source_arn=self.format_arn(
                service="events",
                resource="rule",
                resource_name=rule_name,
                arn_format=cdk.ArnFormat.SLASH_RESOURCE_NAME,
            ),
        )
        return rule

    # ------------------------------------------------------------------ alarms

    def _alarms(self) -> list[cloudwatch.Alarm]:
        five_minutes = cdk.Duration.minutes(5)
        checks: list[tuple[str, str, cloudwatch.IMetric]] = [
            (
                "ChatErrors",
                "The buffered chat function failed (5xx to callers).",
                self.chat.metric_errors(period=five_minutes),
            ),
            (
                "StreamErrors",
                "The streaming chat function failed (broken streams).",
                self.stream.metric_errors(period=five_minutes),
            ),
            (
                "Api5xx",
                "The chat API answered with a server error.",
                self.api.metric_server_error(period=five_minutes, statistic="Sum"),
            ),
        ]
        if self.export is not None:
            export_dlq = self.export.dead_letter_queue
            assert export_dlq is not None
            checks += [
                (
                    "ExportErrors",
                    "The daily fine-tuning export failed (EventBridge retries it twice).",
                    self.export.metric_errors(period=five_minutes),
                ),
                (
                    "ExportsDeadLettered",
                    "A daily fine-tuning export could not run; its event waits in the dead-letter queue.",
                    export_dlq.metric_approximate_number_of_messages_visible(period=five_minutes, statistic="Maximum"),
                ),
            ]
        return [
            ThresholdAlarm(self, alarm_id, metric=metric, description=description, topic=self._props.alarm_topic)
            for alarm_id, description, metric in checks
        ]


def offered_architectures(usecase_architecture: str, settings: ApiFileSettings) -> tuple[ApiArchitecture, ...]:
    """The default (usecase.yaml, in the contract's words) first, then api.yaml's `per_request` others."""
    default = USECASE_ARCHITECTURES[usecase_architecture]
    return (default, *(a for a in settings.per_request if a != default))


def api_problems(
    usecase_architecture: str,
    settings: ApiFileSettings,
    source: str,
    *,
    knowledge: bool,
    agent: bool,
    tasks: tuple[str, ...] | None,
) -> list[tuple[str, str, str]]:
    """(file, field, reason) for each offered architecture whose stack is missing, and a default task that is not
    one of prompts.yaml's (``tasks`` None: no Prompts stack)."""
    offered = offered_architectures(usecase_architecture, settings)
    needs = {
        "rag": (knowledge, "needs the Knowledge stack's knowledge base (features.knowledge), which is off"),
        "agent": (agent, "needs the Agent stack (features.agent and an agent.yaml), which is missing"),
        "multi-task": (
            tasks is not None,
            "needs the Prompts stack (features.prompts and a prompts.yaml), which is missing",
        ),
    }
    problems = []
    for index, architecture in enumerate(offered):
        present, reason = needs.get(architecture, (True, ""))
        if present:
            continue
        if index == 0:
            usecase_file = source.rsplit("/", 1)[0] + "/usecase.yaml" if "/" in source else "usecase.yaml"
            problems.append((usecase_file, "architecture", f"'{usecase_architecture}' {reason} (the Api stack)"))
        else:
            problems.append(
                (source, f"per_request.{settings.per_request.index(architecture)}", f"'{architecture}' {reason}")
            )
    if settings.default_task is not None and settings.default_task not in (tasks or ()):
        known = f"prompts.yaml has {', '.join(tasks)}" if tasks else "there is no Prompts stack"
        problems.append((source, "default_task", f"'{settings.default_task}' is not a task: {known}"))
    return problems


def _check_props(props: ApiProps) -> tuple[ApiArchitecture, ...]:
    if props.architecture not in USECASE_ARCHITECTURES:
        raise ConfigError(props.settings_source, "architecture", f"unknown architecture '{props.architecture}'")
    problems = api_problems(
        props.architecture,
        props.settings,
        props.settings_source,
        knowledge=props.knowledge_base is not None,
        agent=props.agent is not None,
        tasks=tuple(props.prompts.parameter_names) if props.prompts is not None else None,
    )
    if problems:
        raise ConfigError.of(problems)
    return offered_architectures(props.architecture, props.settings)
