"""Api stack: authorizer on every method, WAF on the stage, streaming on /chat/stream, request models, CORS, MFA per
stage, exact IAM per role, tables, settings split between the settings layer and the environment, and the stack
alone in a fresh App against a team's imported resources with every nag pack.

The session synth (customer-retention, both stages, env-agnostic) is what most tests read; cfn-lint, the IAM
check, tags and acknowledgments run over every template in tests/policy/.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from api.contract import ApiSettings
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from common.safety.policy import SafetySettings
from common.settings_file import merge

from stacks.api.access import ImportedAgentAlias, ImportedGuardrail, ImportedKnowledgeBase
from stacks.api.firewall import ApiFirewall, body_limit, inspection_limit_kb
from stacks.api.settings import ApiFileSettings, load_api_settings
from stacks.api.stack import ApiProps, ApiStack, FinetuneExportTarget
from stacks.api.web_adapter import LAYER_ACCOUNT, LAYER_NAME, LAYER_VERSION
from stacks.app_builder import cdk_json_context
from stacks.common.deploy_time import split_deploy_time
from stacks.common.nag import add_nag_packs
from stacks.common.stage_policy import StagePolicy
from stacks.synth_gate import report_findings
from stacks.usecase_files import load_usecase_files
from tests.lambdas.pipeline.harness import layer_folder

DEV = "journey-customer-retention-dev-Api"
PROD = "journey-customer-retention-prod-Api"
MODEL = "global.anthropic.claude-haiku-4-5-20251001-v1:0"
FOUNDATION_MODEL = "anthropic.claude-haiku-4-5-20251001-v1:0"
PARTITION, REGION, ACCOUNT = {"Ref": "AWS::Partition"}, {"Ref": "AWS::Region"}, {"Ref": "AWS::AccountId"}


def _resources(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {lid: r for lid, r in template["Resources"].items() if r["Type"] == resource_type}


def _one(template: dict[str, Any], resource_type: str, logical_start: str = "") -> tuple[str, dict[str, Any]]:
    (found,) = [(lid, r) for lid, r in _resources(template, resource_type).items() if lid.startswith(logical_start)]
    return found


def _statements(template: dict[str, Any], role_start: str) -> list[dict[str, Any]]:
    _, policy = _one(template, "AWS::IAM::Policy", f"{role_start}RoleDefaultPolicy")
    return policy["Properties"]["PolicyDocument"]["Statement"]


def _output(stack: str, name_start: str) -> dict[str, Any]:
    return {"Fn::GetStackOutput": {"StackName": stack, "Region": REGION, "OutputName": name_start}}


@pytest.fixture(scope="module")
def dev(synth) -> dict[str, Any]:
    return synth.templates[DEV]


@pytest.fixture(scope="module")
def prod(synth) -> dict[str, Any]:
    return synth.templates[PROD]


# ------------------------------------------------------------------------------------------ REST API


def test_every_method_but_the_cors_preflight_has_the_cognito_authorizer(dev):
    """OPTIONS is the CORS preflight: browsers send it without credentials, so it cannot carry a token; its mock
    integration only answers with the allowed origins, methods and headers."""
    authorizer_id, authorizer = _one(dev, "AWS::ApiGateway::Authorizer")
    assert authorizer["Properties"]["Type"] == "COGNITO_USER_POOLS"
    pool_id, _ = _one(dev, "AWS::Cognito::UserPool")
    assert authorizer["Properties"]["ProviderARNs"] == [{"Fn::GetAtt": [pool_id, "Arn"]}]
    methods = {
        (m["Properties"]["HttpMethod"], lid): m["Properties"]
        for lid, m in _resources(dev, "AWS::ApiGateway::Method").items()
    }
    routes = {method for method, _ in methods}
    assert routes == {"GET", "POST", "OPTIONS"}
    for (verb, lid), props in methods.items():
        if verb == "OPTIONS":
            assert props["AuthorizationType"] == "NONE", lid
            assert props["Integration"]["Type"] == "MOCK", lid
        else:
            assert props["AuthorizationType"] == "COGNITO_USER_POOLS", lid
            assert props["AuthorizerId"] == {"Ref": authorizer_id}, lid
    assert sum(1 for verb, _ in methods if verb != "OPTIONS") == 6


def test_the_stream_route_streams_through_invoke_with_response_stream(dev):
    (stream,) = [
        m["Properties"]
        for lid, m in _resources(dev, "AWS::ApiGateway::Method").items()
        if lid.startswith("RestApichatstreamPOST")
    ]
    integration = stream["Integration"]
    function_id, _ = _one(dev, "AWS::Lambda::Function", "ChatStreamFunction")
    assert integration["Type"] == "AWS_PROXY"
    assert integration["ResponseTransferMode"] == "STREAM"
    assert integration["TimeoutInMillis"] == 300_000
    assert integration["Uri"] == {
        "Fn::Join": [
            "",
            [
                "arn:",
                PARTITION,
                ":apigateway:",
                REGION,
                ":lambda:path/2021-11-15/functions/",
                {"Fn::GetAtt": [function_id, "Arn"]},
                "/response-streaming-invocations",
            ],
        ]
    }
    # The buffered routes keep the classic invocation path and API Gateway's 29 s.
    chat = _one(dev, "AWS::ApiGateway::Method", "RestApichatPOST")[1]["Properties"]["Integration"]
    assert "ResponseTransferMode" not in chat
    assert chat["TimeoutInMillis"] == 29_000
    assert "/invocations" in json.dumps(chat["Uri"])


def test_both_functions_run_the_app_under_the_pinned_web_adapter(dev):
    for start, stream in (("ChatFunction", False), ("ChatStreamFunction", True)):
        _, function = _one(dev, "AWS::Lambda::Function", start)
        props = function["Properties"]
        variables = props["Environment"]["Variables"]
        assert props["Handler"] == "api/run.sh"
        assert variables["AWS_LAMBDA_EXEC_WRAPPER"] == "/opt/bootstrap"
        assert variables.get("AWS_LWA_INVOKE_MODE") == ("response_stream" if stream else None)
        assert f":{LAYER_ACCOUNT}:layer:{LAYER_NAME}:{LAYER_VERSION}" in json.dumps(props["Layers"])
        assert props["Timeout"] == (300 if stream else 29)
        # No pydantic plugin is used, so its entry-point scan is skipped at cold start (bench/api_bench.py).
        assert variables["PYDANTIC_DISABLE_PLUGINS"] == "__all__"
    assert (Path(__file__).resolve().parents[2] / "lambdas/api/run.sh").stat().st_mode & 0o111


def test_request_bodies_are_validated_against_their_models(dev):
    _, validator = _one(dev, "AWS::ApiGateway::RequestValidator")
    assert validator["Properties"]["ValidateRequestBody"] is True
    models = {m["Properties"]["Name"]: m["Properties"] for m in _resources(dev, "AWS::ApiGateway::Model").values()}
    assert set(models) == {"ChatRequest", "FeedbackRequest", "EventRequest"}
    chat = models["ChatRequest"]["Schema"]
    assert chat["properties"]["message"] == {"type": "string", "minLength": 1, "maxLength": 4000}
    assert chat["required"] == ["message"]
    assert chat["additionalProperties"] is False
    posts = {
        lid: m["Properties"]
        for lid, m in _resources(dev, "AWS::ApiGateway::Method").items()
        if m["Properties"]["HttpMethod"] == "POST"
    }
    for lid, props in posts.items():
        assert props["RequestValidatorId"], lid
        (model,) = props["RequestModels"].values()
        assert model["Ref"].startswith(("ChatRequestModel", "FeedbackRequestModel", "EventRequestModel")), lid


def test_cors_allows_only_the_configured_origins(dev):
    preflight = _one(dev, "AWS::ApiGateway::Method", "RestApichatOPTIONS")[1]["Properties"]
    headers = preflight["Integration"]["IntegrationResponses"][0]["ResponseParameters"]
    assert headers["method.response.header.Access-Control-Allow-Origin"] == "'http://localhost:8000'"
    assert "'*'" not in json.dumps(preflight)
    responses = _resources(dev, "AWS::ApiGateway::GatewayResponse")
    assert {r["Properties"]["ResponseType"] for r in responses.values()} == {"DEFAULT_4XX", "DEFAULT_5XX"}
    for response in responses.values():
        assert response["Properties"]["ResponseParameters"]["gatewayresponse.header.Access-Control-Allow-Origin"] == (
            "'http://localhost:8000'"
        )


def test_the_stage_throttles_traces_and_logs_json_with_request_id_and_user_sub_to_a_cmk_group(dev):
    _, stage = _one(dev, "AWS::ApiGateway::Stage")
    props = stage["Properties"]
    assert props["StageName"] == "dev"
    assert props["TracingEnabled"] is True
    (settings,) = props["MethodSettings"]
    assert (settings["ThrottlingRateLimit"], settings["ThrottlingBurstLimit"]) == (20, 40)
    assert settings["LoggingLevel"] == "ERROR"
    assert settings["DataTraceEnabled"] is False
    line = json.loads(props["AccessLogSetting"]["Format"])
    assert line["requestId"] == "$context.requestId"
    assert line["userSub"] == "$context.authorizer.claims.sub"
    (group_id,) = [
        lid for lid in _resources(dev, "AWS::Logs::LogGroup") if lid in json.dumps(props["AccessLogSetting"])
    ]
    assert dev["Resources"][group_id]["Properties"]["KmsKeyId"]["Fn::GetStackOutput"]["StackName"].endswith(
        "-Foundation"
    )


# ------------------------------------------------------------------------------------------ WAF


def test_the_web_acl_is_on_the_stage_with_its_rules_in_order(dev):
    acl_id, acl = _one(dev, "AWS::WAFv2::WebACL")
    _, association = _one(dev, "AWS::WAFv2::WebACLAssociation")
    stage_id, _ = _one(dev, "AWS::ApiGateway::Stage")
    api_id, _ = _one(dev, "AWS::ApiGateway::RestApi")
    assert association["Properties"]["WebACLArn"] == {"Fn::GetAtt": [acl_id, "Arn"]}
    assert association["Properties"]["ResourceArn"] == {
        "Fn::Join": [
            "",
            ["arn:", PARTITION, ":apigateway:", REGION, "::/restapis/", {"Ref": api_id}, "/stages/", {"Ref": stage_id}],
        ]
    }
    props = acl["Properties"]
    assert props["Scope"] == "REGIONAL"
    assert props["DefaultAction"] == {"Allow": {}}
    rules = {r["Name"]: r for r in props["Rules"]}
    assert [r["Name"] for r in sorted(props["Rules"], key=lambda r: r["Priority"])] == [
        "IpReputation",
        "RatePerIp",
        "BodySize",
        "Common",
        "KnownBadInputs",
    ]
    groups = {
        n: r["Statement"]["ManagedRuleGroupStatement"]["Name"]
        for n, r in rules.items()
        if "ManagedRuleGroupStatement" in r["Statement"]
    }
    assert groups == {
        "IpReputation": "AWSManagedRulesAmazonIpReputationList",
        "Common": "AWSManagedRulesCommonRuleSet",
        "KnownBadInputs": "AWSManagedRulesKnownBadInputsRuleSet",
    }
    assert rules["Common"]["Statement"]["ManagedRuleGroupStatement"]["RuleActionOverrides"] == [
        {"Name": "SizeRestrictions_BODY", "ActionToUse": {"Count": {}}}
    ]
    assert rules["RatePerIp"]["Statement"]["RateBasedStatement"] == {
        "AggregateKeyType": "IP",
        "Limit": 300,
        "EvaluationWindowSec": 300,
    }
    size = rules["BodySize"]["Statement"]["SizeConstraintStatement"]
    assert rules["BodySize"]["Action"] == {"Block": {}}
    assert size["ComparisonOperator"] == "GT"
    assert size["Size"] == 4000 * 4 + 1024
    assert size["FieldToMatch"] == {"Body": {"OversizeHandling": "MATCH"}}
    # 17,024 bytes is past WAF's free 16 KB: the inspection limit goes to the next step.
    assert props["AssociationConfig"] == {"RequestBody": {"API_GATEWAY": {"DefaultSizeInspectionLimit": "KB_32"}}}
    _, logging = _one(dev, "AWS::WAFv2::LoggingConfiguration")
    assert "aws-waf-logs-journey-customer-retention-dev-api" in json.dumps(
        logging["Properties"]["LogDestinationConfigs"]
    )
    assert logging["Properties"]["RedactedFields"] == [{"SingleHeader": {"Name": "authorization"}}]


def test_body_rules_a_use_case_counts_are_overridden_after_the_size_rule_and_the_rest_still_block():
    """it-helpdesk counts the cross-site scripting and LFI body rules (tickets quote HTML and paths); the shared
    size override stays first, and nothing else of the group is touched."""
    stack = cdk.Stack(cdk.App(), "FirewallTest")
    firewall = ApiFirewall(
        stack,
        "Firewall",
        name_prefix="demo-dev",
        stage_arn="arn:aws:apigateway:eu-west-1::/restapis/abc/stages/dev",
        key=kms.Key(stack, "Key"),
        stage=StagePolicy("dev"),
        rate_limit=100,
        max_prompt_chars=3000,
        count_body_rules=tuple(load_api_settings("it-helpdesk").waf.count_body_rules),
    )
    template = cdk.assertions.Template.from_stack(stack).to_json()
    (acl,) = (r for r in template["Resources"].values() if r["Type"] == "AWS::WAFv2::WebACL")
    assert firewall.web_acl.name == "demo-dev-api"
    rules = {r["Name"]: r for r in acl["Properties"]["Rules"]}
    assert rules["Common"]["Statement"]["ManagedRuleGroupStatement"]["RuleActionOverrides"] == [
        {"Name": name, "ActionToUse": {"Count": {}}}
        for name in ("SizeRestrictions_BODY", "CrossSiteScripting_BODY", "GenericLFI_BODY")
    ]
    assert "RuleActionOverrides" not in rules["KnownBadInputs"]["Statement"]["ManagedRuleGroupStatement"]


def test_a_body_within_16_kb_needs_no_larger_inspection_limit(pinned_synth):
    (api,) = [t for name, t in pinned_synth.templates.items() if name.endswith("dev-Api")]
    _, acl = _one(api, "AWS::WAFv2::WebACL")
    assert "AssociationConfig" not in acl["Properties"]  # it-helpdesk: 3,000 characters, 13,024 bytes
    assert body_limit(3000) == 13_024
    assert inspection_limit_kb(13_024) == 16
    assert inspection_limit_kb(16 * 1024 + 1) == 32
    with pytest.raises(ValueError, match="64 KB"):
        inspection_limit_kb(64 * 1024 + 1)


# ------------------------------------------------------------------------------------------ Cognito


@pytest.mark.parametrize(("stage", "mfa"), [("dev", "OPTIONAL"), ("prod", "ON")])
def test_mfa_is_required_in_prod_and_optional_in_dev_and_sign_up_is_off(synth, stage, mfa):
    template = synth.templates[f"journey-customer-retention-{stage}-Api"]
    _, pool = _one(template, "AWS::Cognito::UserPool")
    props = pool["Properties"]
    assert props["MfaConfiguration"] == mfa
    assert props["EnabledMfas"] == ["SOFTWARE_TOKEN_MFA"]
    assert props["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    assert props["Policies"]["PasswordPolicy"]["MinimumLength"] == 12
    assert props.get("DeletionProtection") == ("ACTIVE" if stage == "prod" else "INACTIVE")
    groups = {g["Properties"]["GroupName"] for g in _resources(template, "AWS::Cognito::UserPoolGroup").values()}
    assert groups == {"users", "admins"}
    _, client = _one(template, "AWS::Cognito::UserPoolClient")
    assert client["Properties"]["GenerateSecret"] is False
    assert client["Properties"]["ExplicitAuthFlows"] == ["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]


# ------------------------------------------------------------------------------------------ tables


@pytest.mark.parametrize("name", ["conversations", "quotas", "telemetry"])
def test_tables_are_on_demand_cmk_encrypted_with_pitr_and_ttl(dev, prod, name):
    for template, stage in ((dev, "dev"), (prod, "prod")):
        (table,) = [
            t
            for t in _resources(template, "AWS::DynamoDB::Table").values()
            if t["Properties"]["TableName"] == f"journey-customer-retention-{stage}-api-{name}"
        ]
        props = table["Properties"]
        assert props["BillingMode"] == "PAY_PER_REQUEST"
        assert props["SSESpecification"]["SSEEnabled"] is True
        assert props["SSESpecification"]["SSEType"] == "KMS"
        assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        assert props["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
        assert [k["AttributeName"] for k in props["KeySchema"]] == ["pk", "sk"]
        assert table["DeletionPolicy"] == ("Retain" if stage == "prod" else "Delete")
        assert props.get("DeletionProtectionEnabled", False) is (stage == "prod")
    (telemetry,) = [
        t
        for t in _resources(dev, "AWS::DynamoDB::Table").values()
        if t["Properties"]["TableName"].endswith("telemetry")
    ]
    (index,) = telemetry["Properties"]["GlobalSecondaryIndexes"]
    assert index["IndexName"] == "up_by_day"
    assert index["Projection"] == {"ProjectionType": "KEYS_ONLY"}


# ------------------------------------------------------------------------------------------ IAM


def _table_arn(template: dict[str, Any], suffix: str) -> dict[str, Any]:
    (lid,) = [
        lid
        for lid, t in _resources(template, "AWS::DynamoDB::Table").items()
        if t["Properties"]["TableName"].endswith(suffix)
    ]
    return {"Fn::GetAtt": [lid, "Arn"]}


def _shape(statements: list[dict[str, Any]]) -> list[tuple[tuple[str, ...], str | None]]:
    """Each statement as (its actions, the condition key it is bounded by), in order."""
    shapes = []
    for statement in statements:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        condition = statement.get("Condition")
        key = next(iter(next(iter(condition.values())))) if condition else None
        shapes.append((tuple(actions), key))
    return shapes


def _resource(statements: list[dict[str, Any]], action: str) -> Any:
    (found,) = [
        s["Resource"] for s in statements if action in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
    ]
    return found


VIA = "kms:ViaService"
ENVIRONMENT = "kms:EncryptionContext:aws:lambda:FunctionArn"


@pytest.mark.parametrize("role", ["ChatFunction", "ChatStreamFunction"])
def test_chat_roles_are_exact(dev, role):
    statements = _statements(dev, role)
    assert _shape(statements) == [
        (("logs:CreateLogStream", "logs:PutLogEvents"), None),
        # Resource "*": actions without a resource type (tests/policy/resource_star_allowlist.yaml), merged by CDK.
        (
            (
                "comprehend:DetectPiiEntities",
                "comprehend:DetectToxicContent",
                "xray:PutTelemetryRecords",
                "xray:PutTraceSegments",
            ),
            None,
        ),
        (("kms:Decrypt",), ENVIRONMENT),
        (("bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"), None),
        (("bedrock:ApplyGuardrail",), None),
        (("kms:Decrypt",), VIA),  # the guardrail's key, through Bedrock
        (("bedrock:Retrieve",), None),
        (("bedrock:InvokeAgent",), None),
        (("kms:Decrypt", "kms:GenerateDataKey"), "kms:EncryptionContext:aws:bedrock:arn"),  # the agent's own data
        (("ssm:GetParameter",), None),
        (("bedrock:GetPrompt", "bedrock:RenderPrompt"), None),  # the same prompt versions: merged by CDK
        (("dynamodb:BatchWriteItem", "dynamodb:GetItem", "dynamodb:Query", "dynamodb:UpdateItem"), None),
        (("dynamodb:GetItem", "dynamodb:UpdateItem"), None),
        (("dynamodb:PutItem",), None),
        (("kms:Decrypt", "kms:GenerateDataKey"), VIA),  # the tables' key, through DynamoDB
    ]
    assert _resource(statements, "bedrock:InvokeModel") == [
        {"Fn::Join": ["", ["arn:", PARTITION, ":bedrock:", REGION, ":", ACCOUNT, f":inference-profile/{MODEL}"]]},
        {"Fn::Join": ["", ["arn:", PARTITION, f":bedrock:*::foundation-model/{FOUNDATION_MODEL}"]]},
        {"Fn::Join": ["", ["arn:", PARTITION, f":bedrock:::foundation-model/{FOUNDATION_MODEL}"]]},
    ]
    assert _resource(statements, "comprehend:DetectToxicContent") == "*"
    for action, stack in (
        ("bedrock:ApplyGuardrail", "-Guardrails"),
        ("bedrock:Retrieve", "-Knowledge"),
        ("bedrock:InvokeAgent", "-Agent"),
    ):
        assert _resource(statements, action)["Fn::GetStackOutput"]["StackName"].endswith(stack), action
    assert len(_resource(statements, "ssm:GetParameter")) == 3  # answer, summarize, classify
    assert _resource(statements, "dynamodb:BatchWriteItem") == _table_arn(dev, "conversations")
    assert _resource(statements, "dynamodb:PutItem") == _table_arn(dev, "telemetry")
    quotas = [s for s in statements if s["Action"] == ["dynamodb:GetItem", "dynamodb:UpdateItem"]]
    assert quotas[0]["Resource"] == _table_arn(dev, "quotas")


def test_export_role_is_exact(dev):
    statements = _statements(dev, "FinetuneExportFunction")
    assert _shape(statements) == [
        (("logs:CreateLogStream", "logs:PutLogEvents"), None),
        (("comprehend:DetectPiiEntities", "xray:PutTelemetryRecords", "xray:PutTraceSegments"), None),
        (("kms:Decrypt",), ENVIRONMENT),
        (("sqs:SendMessage",), None),  # its dead-letter queue
        (("kms:Decrypt", "kms:GenerateDataKey"), VIA),
        (("dynamodb:Query",), None),
        (("dynamodb:BatchGetItem",), None),
        (("kms:Decrypt",), VIA),
        (("s3:PutObject",), None),
        (("kms:Decrypt", "kms:GenerateDataKey"), VIA),
        (("secretsmanager:GetSecretValue",), None),
        (("kms:Decrypt",), VIA),
    ]
    assert _resource(statements, "dynamodb:Query") == {
        "Fn::Join": ["", [_table_arn(dev, "telemetry"), "/index/up_by_day"]]
    }
    assert _resource(statements, "dynamodb:BatchGetItem") == _table_arn(dev, "telemetry")
    assert _resource(statements, "s3:PutObject")["Fn::Join"][1][-1] == "/finetune/*"
    secret = _resource(statements, "secretsmanager:GetSecretValue")
    assert secret["Fn::GetStackOutput"]["StackName"].endswith("-Data")
    vias = [json.dumps(s["Condition"]) for s in statements if _shape([s])[0][1] == VIA]
    assert [next(svc for svc in ("sqs.", "dynamodb.", "s3.", "secretsmanager.") if svc in v) for v in vias] == [
        "sqs.",
        "dynamodb.",
        "s3.",
        "secretsmanager.",
    ]


# ------------------------------------------------------------------------------------------ settings


def test_static_settings_are_in_the_layer_and_deploy_time_ids_in_the_environment(synth, dev):
    _, function = _one(dev, "AWS::Lambda::Function", "ChatFunction")
    variables = function["Properties"]["Environment"]["Variables"]
    text = json.dumps(variables["API_SETTINGS"])  # an Fn::Join of the deploy-time ids
    for field in (
        "guardrail_id",
        "guardrail_version",
        "knowledge_base_id",
        "agent_id",
        "agent_alias_id",
        "prompt_parameters",
    ):
        assert field in text
    assert "quotas" not in text
    assert "conversations_table" not in text
    layer_ids = [
        layer["Ref"] for layer in function["Properties"]["Layers"] if isinstance(layer, dict) and "Ref" in layer
    ]
    (settings_layer,) = [lid for lid in layer_ids if lid.startswith("ApiSettings")]
    folder = layer_folder(synth.outdir, dev, settings_layer)
    static = json.loads((folder / variables["KIT_SETTINGS_FILE"]).read_text())
    assert static["api"]["quotas"]["admins"] == {"tokens_per_day": 1_000_000, "requests_per_minute": 60}
    assert static["api"]["conversations_table"] == "journey-customer-retention-dev-api-conversations"
    assert static["api"]["architecture"] == "rag"
    assert static["api"]["per_request"] == ["direct", "agent", "multi-task"]
    # Filled with stand-ins for the deploy-time ids, the two parts are a valid ApiSettings and SafetySettings.
    filled = {
        "guardrail_id": "abc123",
        "guardrail_version": "1",
        "knowledge_base_id": "KB12345678",
        "agent_id": "AGENT12345",
        "agent_alias_id": "ALIAS12345",
        "prompt_parameters": {t: f"/p/{t}" for t in ("answer", "summarize", "classify")},
    }
    settings = ApiSettings.model_validate(merge(static["api"], filled))
    assert settings.default_task == "answer"
    assert settings.max_prompt_chars == 4000
    safety = SafetySettings.model_validate(
        merge(static["safety"], {"guardrail": {"identifier": "abc123", "version": "1"}})
    )
    assert safety.guardrail.identifier == "abc123"


def test_split_deploy_time_separates_tokens_mapping_by_mapping():
    token = cdk.Fn.ref("Thing")
    static, deployed = split_deploy_time({"a": 1, "b": {"c": token, "d": "x"}, "e": [token], "f": {}})
    assert static == {"a": 1, "b": {"d": "x"}, "f": {}}
    assert deployed == {"b": {"c": token}, "e": [token]}
    assert split_deploy_time({"a": 1}) == ({"a": 1}, None)


# ------------------------------------------------------------------------------------------ forking

ENV = cdk.Environment(account="111122223333", region="us-east-1")
KEY_ARN = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def test_the_api_stack_synthesizes_alone_against_imported_resources(tmp_path: Path) -> None:
    app = cdk.App(outdir=str(tmp_path), context=cdk_json_context())
    files = load_usecase_files("customer-retention")
    existing = cdk.Stack(cdk.App(), "Existing", env=ENV)
    key = kms.Key.from_key_arn(existing, "Key", KEY_ARN)
    topic = sns.Topic.from_topic_arn(existing, "Alarms", "arn:aws:sns:us-east-1:111122223333:platform-alarms")
    curated = s3.Bucket.from_bucket_name(existing, "Curated", "platform-curated")
    holder = cdk.Stack(cdk.App(), "Ids", env=ENV)
    settings = ApiFileSettings(per_request=["direct", "agent"])
    stack = ApiStack(
        app,
        "Api",
        env=ENV,
        props=ApiProps(
            name_prefix="team-dev",
            stage=StagePolicy("dev"),
            key=key,
            alarm_topic=topic,
            usecase_id="customer-retention",
            architecture="rag",
            model=MODEL,
            guardrail=ImportedGuardrail(
                guardrail_id="gr1234abcd",
                guardrail_version="3",
                guardrail_arn="arn:aws:bedrock:us-east-1:111122223333:guardrail/gr1234abcd",
                safety_settings=SafetySettings().model_dump_json(exclude_defaults=True),
            ),
            settings=settings,
            knowledge_base=ImportedKnowledgeBase.from_id(holder, "KB12345678"),
            agent=ImportedAgentAlias.from_ids(holder, "AGENT12345", "ALIAS12345"),
            finetune_export=FinetuneExportTarget(
                bucket=curated,
                salt_secret_arn="arn:aws:secretsmanager:us-east-1:111122223333:secret:salt-AbCdEf",
                pii=files.data.contract().pii,
            ),
        ),
    )
    add_nag_packs(app)
    assembly = app.synth()
    assert report_findings(tmp_path) == []
    assert report_findings(tmp_path, acknowledged=True)
    template = assembly.get_stack_artifact(stack.artifact_id).template
    text = json.dumps(template)
    assert "KB12345678" in text
    assert "ALIAS12345" in text
    assert KEY_ARN in text
    assert "gr1234abcd" in text
    # No Prompts stack: nothing of SSM or Prompt Management is granted.
    assert "ssm:GetParameter" not in text
    assert "bedrock:GetPrompt" not in text
