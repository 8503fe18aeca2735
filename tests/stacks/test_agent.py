"""Agent stack: the agents, their aliases, exact IAM of every role, the tools' tables and loader, forking, agent.yaml.

The shipped use cases cover both shapes: customer-retention (a supervisor with two collaborators, one with the
`retention-tools` action group, one with the knowledge base) in the session synth (both stages, env-agnostic), and
it-helpdesk (one agent) in the pinned synth (us-east-1 dev, eu-west-1 prod). cfn-lint, the IAM check, tags and
acknowledgments run over every template in tests/policy/.
"""

from __future__ import annotations

import hashlib
import json
import textwrap
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import aws_cdk.cx_api as cx_api
import pytest
from agent import contract
from aws_cdk import aws_events as events
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns

from stacks.agent.agents import GuardrailRef, KnowledgeBaseRef
from stacks.agent.settings import SCHEMAS_DIR, load_agent_settings
from stacks.agent.stack import AgentProps, AgentStack
from stacks.app_builder import cdk_json_context
from stacks.common.nag import add_nag_packs
from stacks.common.stage_policy import StagePolicy
from stacks.config import USECASES_DIR, ConfigError
from stacks.synth_gate import report_findings
from tests.conftest import synthesize

DEV = "journey-customer-retention-dev-Agent"
PROD = "journey-customer-retention-prod-Agent"
HELPDESK = "journey-it-helpdesk-dev-Agent"
MODEL = "global.anthropic.claude-haiku-4-5-20251001-v1:0"
FOUNDATION_MODEL = "anthropic.claude-haiku-4-5-20251001-v1:0"
PARTITION = {"Ref": "AWS::Partition"}
REGION = {"Ref": "AWS::Region"}
ACCOUNT = {"Ref": "AWS::AccountId"}


def _output(stack: str, name_start: str) -> dict[str, Any]:
    return {"Fn::GetStackOutput": {"StackName": stack, "Region": REGION, "OutputName": name_start}}


def _resources(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {lid: r for lid, r in template["Resources"].items() if r["Type"] == resource_type}


def _one(template: dict[str, Any], resource_type: str, logical_start: str) -> tuple[str, dict[str, Any]]:
    (found,) = [(lid, r) for lid, r in _resources(template, resource_type).items() if lid.startswith(logical_start)]
    return found


def _statements(template: dict[str, Any], role_start: str) -> list[dict[str, Any]]:
    _, policy = _one(template, "AWS::IAM::Policy", f"{role_start}DefaultPolicy")
    return policy["Properties"]["PolicyDocument"]["Statement"]


def _key(template: dict[str, Any]) -> Any:
    """The stage key as the Agent stack references it (a cross-stack output of Foundation)."""
    (agent,) = list(_resources(template, "AWS::Bedrock::Agent").values())[:1]
    return agent["Properties"]["CustomerEncryptionKeyArn"]


@pytest.fixture(scope="module")
def dev(synth) -> dict[str, Any]:
    return synth.templates[DEV]


# ------------------------------------------------------------------------------------------ agents


def test_supervisor_routes_between_two_collaborators_by_their_aliases(dev):
    _, supervisor = _one(dev, "AWS::Bedrock::Agent", "RetentionSupervisor")
    props = supervisor["Properties"]
    assert props["AgentName"] == "journey-customer-retention-dev-retention-supervisor"
    assert props["AgentCollaboration"] == "SUPERVISOR"
    collaborators = {c["CollaboratorName"]: c for c in props["AgentCollaborators"]}
    assert set(collaborators) == {"retention-analyst", "policy-advisor"}
    assert collaborators["retention-analyst"]["AgentDescriptor"] == {
        "AliasArn": {"Fn::GetAtt": [_one(dev, "AWS::Bedrock::AgentAlias", "RetentionAnalystAlias")[0], "AgentAliasArn"]}
    }
    assert collaborators["policy-advisor"]["RelayConversationHistory"] == "TO_COLLABORATOR"
    assert "ActionGroups" not in props
    assert "KnowledgeBases" not in props
    assert props["MemoryConfiguration"] == {"EnabledMemoryTypes": ["SESSION_SUMMARY"], "StorageDays": 30}


def test_every_agent_is_prepared_encrypted_guarded_and_on_the_use_case_model(dev):
    agents = _resources(dev, "AWS::Bedrock::Agent")
    assert len(agents) == 3
    for agent in agents.values():
        props = agent["Properties"]
        assert props["AutoPrepare"] is True
        assert props["FoundationModel"] == MODEL  # usecase.yaml models.text: a current model (models.yaml)
        assert props["CustomerEncryptionKeyArn"]["Fn::GetStackOutput"]["StackName"].endswith("-Foundation")
        guardrail = props["GuardrailConfiguration"]
        assert guardrail["GuardrailIdentifier"]["Fn::GetStackOutput"]["StackName"].endswith("-Guardrails")
        assert guardrail["GuardrailVersion"]["Fn::GetStackOutput"]["OutputName"].startswith(
            "PublishOutputFnGetAttVersion"
        )  # the published version, never DRAFT
        assert props["IdleSessionTTLInSeconds"] == 600
        assert len(props["Instruction"]) >= 40


def test_the_analyst_has_the_action_group_and_the_advisor_the_knowledge_base(dev):
    _, analyst = _one(dev, "AWS::Bedrock::Agent", "RetentionAnalyst")
    (group,) = analyst["Properties"]["ActionGroups"]
    function_id, _ = _one(dev, "AWS::Lambda::Function", "RetentionAnalystFunction")
    assert group["ActionGroupName"] == "retention-tools"
    assert group["ActionGroupState"] == "ENABLED"
    assert group["ActionGroupExecutor"] == {"Lambda": {"Fn::GetAtt": [function_id, "Arn"]}}
    schema = json.loads((SCHEMAS_DIR / "retention_analyst.openapi.json").read_text())
    assert json.loads(group["ApiSchema"]["Payload"]) == schema
    assert "KnowledgeBases" not in analyst["Properties"]
    _, advisor = _one(dev, "AWS::Bedrock::Agent", "PolicyAdvisor")
    (kb,) = advisor["Properties"]["KnowledgeBases"]
    assert kb["KnowledgeBaseState"] == "ENABLED"
    assert kb["KnowledgeBaseId"]["Fn::GetStackOutput"]["StackName"] == "journey-customer-retention-dev-Knowledge"
    assert "ActionGroups" not in advisor["Properties"]


def test_each_alias_follows_the_latest_prepared_version(dev):
    aliases = _resources(dev, "AWS::Bedrock::AgentAlias")
    assert len(aliases) == 3
    for alias in aliases.values():
        props = alias["Properties"]
        assert props["AgentAliasName"] == "live"
        assert "RoutingConfiguration" not in props  # each update publishes the prepared DRAFT as a new version
        agent_id = props["AgentId"]["Fn::GetAtt"][0]
        _separator, parts = props["Description"]["Fn::Join"]
        assert parts[-1] == {"Fn::GetAtt": [agent_id, "UpdatedAt"]}
        assert " config " in parts[0]


def test_the_alias_description_hash_changes_with_the_agents_configuration(tmp_path):
    def description(instruction: str) -> str:
        settings = load_agent_settings("it-helpdesk")
        assert settings is not None
        changed = settings.model_copy(
            update={"supervisor": settings.supervisor.model_copy(update={"instruction": instruction})}
        )
        app = cdk.App(outdir=str(tmp_path / str(len(instruction))), context=cdk_json_context())
        stack = AgentStack(app, "Agent", props=_props(Imported(), changed))
        return stack.supervisor.config_hash

    first, same, other = description("x" * 50), description("x" * 50), description("y" * 50)
    assert first == same
    assert first != other


@pytest.mark.parametrize("agent", ["RetentionSupervisor", "RetentionAnalyst", "PolicyAdvisor"])
def test_agent_role_trusts_bedrock_for_this_accounts_agents_only(dev, agent):
    _, role = _one(dev, "AWS::IAM::Role", f"{agent}ServiceRole")
    (statement,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "bedrock.amazonaws.com"}
    assert statement["Condition"] == {
        "StringEquals": {"aws:SourceAccount": ACCOUNT},
        "ArnLike": {
            "aws:SourceArn": {"Fn::Join": ["", ["arn:", PARTITION, ":bedrock:", REGION, ":", ACCOUNT, ":agent/*"]]}
        },
    }


def _model_statement() -> dict[str, Any]:
    return {
        "Action": "bedrock:InvokeModel",
        "Effect": "Allow",
        "Resource": [
            {"Fn::Join": ["", ["arn:", PARTITION, ":bedrock:", REGION, ":", ACCOUNT, f":inference-profile/{MODEL}"]]},
            {"Fn::Join": ["", ["arn:", PARTITION, f":bedrock:*::foundation-model/{FOUNDATION_MODEL}"]]},
            {"Fn::Join": ["", ["arn:", PARTITION, f":bedrock:::foundation-model/{FOUNDATION_MODEL}"]]},
        ],
    }


def _guardrail_statement(prefix: str) -> dict[str, Any]:
    return {
        "Action": "bedrock:ApplyGuardrail",
        "Effect": "Allow",
        "Resource": _output(f"{prefix}-Guardrails", "PublishOutputFnGetAttGuardrailGuardrailArn0937A6A1"),
    }


def _bedrock_decrypt(key: Any) -> dict[str, Any]:
    return {
        "Action": "kms:Decrypt",
        "Condition": {"StringEquals": {"kms:ViaService": {"Fn::Join": ["", ["bedrock.", REGION, ".amazonaws.com"]]}}},
        "Effect": "Allow",
        "Resource": key,
    }


def test_agent_roles_are_exact(dev):
    prefix, key = "journey-customer-retention-dev", _key(dev)
    analyst_alias = _one(dev, "AWS::Bedrock::AgentAlias", "RetentionAnalystAlias")[0]
    advisor_alias = _one(dev, "AWS::Bedrock::AgentAlias", "PolicyAdvisorAlias")[0]
    assert _statements(dev, "RetentionSupervisorServiceRole") == [
        _model_statement(),
        _guardrail_statement(prefix),
        {
            "Action": ["bedrock:GetAgentAlias", "bedrock:InvokeAgent"],
            "Effect": "Allow",
            "Resource": [
                {"Fn::GetAtt": [advisor_alias, "AgentAliasArn"]},
                {"Fn::GetAtt": [analyst_alias, "AgentAliasArn"]},
            ],
        },
        _bedrock_decrypt(key),
    ]
    assert _statements(dev, "RetentionAnalystServiceRole") == [
        _model_statement(),
        _guardrail_statement(prefix),
        _bedrock_decrypt(key),
    ]
    assert _statements(dev, "PolicyAdvisorServiceRole") == [
        _model_statement(),
        _guardrail_statement(prefix),
        {
            "Action": "bedrock:Retrieve",
            "Effect": "Allow",
            "Resource": _output(
                f"{prefix}-Knowledge", "PublishOutputFnGetAttKnowledgeBaseB1C941BDKnowledgeBaseArnEA1E4AC7"
            ),
        },
        _bedrock_decrypt(key),
    ]


def test_bedrock_may_invoke_the_tool_function_for_the_analyst_agent_only(dev):
    agent_id, _ = _one(dev, "AWS::Bedrock::Agent", "RetentionAnalyst")
    function_id, _ = _one(dev, "AWS::Lambda::Function", "RetentionAnalystFunction")
    permissions = [
        p["Properties"]
        for p in _resources(dev, "AWS::Lambda::Permission").values()
        if p["Properties"]["Principal"] == "bedrock.amazonaws.com"
    ]
    assert permissions == [
        {
            "Action": "lambda:InvokeFunction",
            "FunctionName": {"Fn::GetAtt": [function_id, "Arn"]},
            "Principal": "bedrock.amazonaws.com",
            "SourceAccount": ACCOUNT,
            "SourceArn": {"Fn::GetAtt": [agent_id, "AgentArn"]},
        }
    ]


@pytest.mark.parametrize("agent", ["RetentionSupervisor", "RetentionAnalyst", "PolicyAdvisor"])
def test_agents_wait_for_their_role_policy_and_the_supervisor_for_its_collaborators(dev, agent):
    _, resource = _one(dev, "AWS::Bedrock::Agent", agent)
    policy_id, _ = _one(dev, "AWS::IAM::Policy", f"{agent}ServiceRoleDefaultPolicy")
    assert policy_id in resource["DependsOn"]
    _, supervisor = _one(dev, "AWS::Bedrock::Agent", "RetentionSupervisor")
    referenced = json.dumps(supervisor["Properties"]["AgentCollaborators"])
    assert "RetentionAnalystAlias" in referenced
    assert "PolicyAdvisorAlias" in referenced


# ------------------------------------------------------------------------------------------ tools


def _table(template: dict[str, Any], name: str) -> dict[str, Any]:
    return _one(template, "AWS::DynamoDB::Table", f"Tables{name}")[1]


@pytest.mark.parametrize(
    ("name", "key", "ttl"),
    [
        ("Customers", contract.CUSTOMERS_KEY, None),
        ("Interactions", contract.INTERACTIONS_KEY, None),
        ("Offers", contract.OFFERS_KEY, None),
        ("Idempotency", contract.IDEMPOTENCY_KEY, contract.IDEMPOTENCY_TTL_ATTRIBUTE),
    ],
)
def test_tables_are_on_demand_cmk_encrypted_with_pitr_and_the_contracts_keys(synth, name, key, ttl):
    for stack, retained in ((DEV, False), (PROD, True)):
        table = _table(synth.templates[stack], name)
        props = table["Properties"]
        partition, sort = key
        expected = [{"AttributeName": partition, "KeyType": "HASH"}]
        if sort:
            expected.append({"AttributeName": sort, "KeyType": "RANGE"})
        assert props["KeySchema"] == expected
        assert props["BillingMode"] == "PAY_PER_REQUEST"
        assert props["SSESpecification"]["SSEEnabled"] is True
        assert props["SSESpecification"]["SSEType"] == "KMS"
        assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        assert props.get("TimeToLiveSpecification") == ({"AttributeName": ttl, "Enabled": True} if ttl else None)
        assert (table["DeletionPolicy"] == "Retain") is retained
        assert props.get("DeletionProtectionEnabled", False) is retained


def _table_arn(template: dict[str, Any], name: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [_one(template, "AWS::DynamoDB::Table", f"Tables{name}")[0], "Arn"]}


def _via(service: str, key: Any, actions: list[str] | str) -> dict[str, Any]:
    return {
        "Action": actions,
        "Condition": {
            "StringEquals": {"kms:ViaService": {"Fn::Join": ["", [f"{service}.", REGION, ".amazonaws.com"]]}}
        },
        "Effect": "Allow",
        "Resource": key,
    }


def _function_basics(template: dict[str, Any], function: str, key: Any) -> list[dict[str, Any]]:
    logs_id, _ = _one(template, "AWS::Logs::LogGroup", f"{function}FunctionLogs")
    return [
        {
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [logs_id, "Arn"]},
        },
        {"Action": ["xray:PutTelemetryRecords", "xray:PutTraceSegments"], "Effect": "Allow", "Resource": "*"},
        {
            "Action": "kms:Decrypt",
            "Condition": {
                "StringLike": {
                    "kms:EncryptionContext:aws:lambda:FunctionArn": {
                        "Fn::Join": ["", ["arn:", PARTITION, ":lambda:", REGION, ":", ACCOUNT, ":function:*"]]
                    }
                }
            },
            "Effect": "Allow",
            "Resource": key,
        },
    ]


def test_analyst_role_reads_and_writes_only_offers_and_idempotency(dev):
    key = _key(dev)
    assert _statements(dev, "RetentionAnalystFunctionRole") == [
        *_function_basics(dev, "RetentionAnalyst", key),
        {"Action": "dynamodb:GetItem", "Effect": "Allow", "Resource": _table_arn(dev, "Customers")},
        {"Action": "dynamodb:Query", "Effect": "Allow", "Resource": _table_arn(dev, "Interactions")},
        {
            "Action": ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"],
            "Effect": "Allow",
            "Resource": _table_arn(dev, "Offers"),
        },
        {
            "Action": ["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
            "Effect": "Allow",
            "Resource": _table_arn(dev, "Idempotency"),
        },
        _via("dynamodb", key, ["kms:Decrypt", "kms:GenerateDataKey"]),
    ]


def test_loader_role_reads_curated_records_and_writes_the_two_tables(dev):
    key = _key(dev)
    curated = _output("journey-customer-retention-dev-Data", "PublishOutputFnGetAttCuratedBucket90F6C1E7Arn3FCA3B8D")
    dead_letters, _ = _one(dev, "AWS::SQS::Queue", "LoaderFunctionDeadLetters")
    assert _statements(dev, "LoaderFunctionRole") == [
        *_function_basics(dev, "Loader", key),
        {"Action": "sqs:SendMessage", "Effect": "Allow", "Resource": {"Fn::GetAtt": [dead_letters, "Arn"]}},
        _via("sqs", key, ["kms:Decrypt", "kms:GenerateDataKey"]),
        {
            "Action": ["dynamodb:BatchWriteItem", "dynamodb:PutItem"],
            "Effect": "Allow",
            "Resource": [_table_arn(dev, "Customers"), _table_arn(dev, "Interactions")],
        },
        _via("dynamodb", key, ["kms:Decrypt", "kms:GenerateDataKey"]),
        {"Action": "s3:GetObject", "Effect": "Allow", "Resource": {"Fn::Join": ["", [curated, "/records/*"]]}},
        {
            "Action": "s3:ListBucket",
            "Condition": {"StringLike": {"s3:prefix": ["records/*"]}},
            "Effect": "Allow",
            "Resource": curated,
        },
        _via("s3", key, "kms:Decrypt"),
    ]


def test_loader_runs_on_dataset_published_from_the_data_stacks_bus_with_a_dead_letter_queue(synth, dev):
    data = json.dumps(synth.templates["journey-customer-retention-dev-Data"])
    _, rule = _one(dev, "AWS::Events::Rule", "LoadOnDatasetPublished")
    props = rule["Properties"]
    assert props["Name"] == "journey-customer-retention-dev-agent-load-published"
    assert props["EventPattern"] == {
        "source": ["journey-customer-retention-dev.data"],
        "detail-type": ["DatasetPublished"],
    }
    assert "journey-customer-retention-dev.data" in data  # the source the Data stack announces with
    (target,) = props["Targets"]
    function_id, _ = _one(dev, "AWS::Lambda::Function", "LoaderFunction")
    queue_id, _ = _one(dev, "AWS::SQS::Queue", "LoaderFunctionDeadLetters")
    assert target["Arn"] == {"Fn::GetAtt": [function_id, "Arn"]}
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [queue_id, "Arn"]}}
    assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 86400, "MaximumRetryAttempts": 20}
    (events_permission,) = [
        p["Properties"]
        for p in _resources(dev, "AWS::Lambda::Permission").values()
        if p["Properties"]["Principal"] == "events.amazonaws.com"
    ]
    assert events_permission["SourceArn"] == {"Fn::GetAtt": [_one(dev, "AWS::Events::Rule", "LoadOn")[0], "Arn"]}


def test_functions_get_their_contracts(synth, dev):
    _, analyst = _one(dev, "AWS::Lambda::Function", "RetentionAnalystFunction")
    env = analyst["Properties"]["Environment"]["Variables"]
    assert analyst["Properties"]["Handler"] == "agent.retention_analyst.handler"
    assert env["KIT_SETTINGS_FILE"] == f"{contract.TOOLS_FUNCTION}.json"
    files = Path(synth.outdir).rglob(f"settings/{contract.TOOLS_FUNCTION}.json")
    (layer,) = ({hashlib.sha256(f.read_bytes()).hexdigest(): f for f in files}[env["KIT_SETTINGS_SHA256"]],)
    assert contract.ToolSettings.model_validate_json(layer.read_bytes()) == contract.ToolSettings(
        customers_table="journey-customer-retention-dev-agent-customers",
        interactions_table="journey-customer-retention-dev-agent-interactions",
        offers_table="journey-customer-retention-dev-agent-offers",
        idempotency_table="journey-customer-retention-dev-agent-idempotency",
    )
    _, loader = _one(dev, "AWS::Lambda::Function", "LoaderFunction")
    assert loader["Properties"]["Handler"] == "agent.loader.handler"
    rendered = json.dumps(loader["Properties"]["Environment"]["Variables"]["LOADER_SETTINGS"])
    for name in ("customers", "interactions", "offers"):
        assert f"journey-customer-retention-dev-agent-{name}" in rendered
    assert "records_prefix" not in rendered  # the default, left for the function to fill in
    assert "CuratedBucket" in rendered


def test_the_key_policy_lets_bedrock_encrypt_this_accounts_agents_and_their_memory(synth):
    (key,) = _resources(synth.templates["journey-customer-retention-dev-Foundation"], "AWS::KMS::Key").values()
    statements = {s.get("Sid", ""): s for s in key["Properties"]["KeyPolicy"]["Statement"]}
    (agents,) = [s for sid, s in statements.items() if sid.startswith("BedrockEncryptsAgentsOf")]
    assert agents["Principal"] == {"Service": "bedrock.amazonaws.com"}
    assert agents["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert agents["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT}
    assert "agent/*" in json.dumps(agents["Condition"]["ArnLike"]["kms:EncryptionContext:aws:bedrock:arn"])
    (memory,) = [s for sid, s in statements.items() if sid.startswith("BedrockEncryptsAgentMemoryOf")]
    assert memory["Action"] == ["kms:GenerateDataKeyWithoutPlaintext", "kms:ReEncryptFrom", "kms:ReEncryptTo"]
    assert "agent-alias/*" in json.dumps(memory["Condition"]["ArnLike"]["aws:SourceArn"])


def test_alarms_watch_tool_errors_loader_errors_and_dead_letters(dev):
    alarms = _resources(dev, "AWS::CloudWatch::Alarm")
    assert {lid.rstrip("0123456789ABCDEF") for lid in alarms} == {"ToolErrors", "LoaderErrors", "LoadsDeadLettered"}


# ------------------------------------------------------------------------------------------ single agent, pinned


def test_a_single_agent_has_no_collaboration_and_pinned_arns(pinned_synth):
    template = pinned_synth.templates[HELPDESK]
    (agent,) = _resources(template, "AWS::Bedrock::Agent").values()
    props = agent["Properties"]
    assert "AgentCollaboration" not in props
    assert "AgentCollaborators" not in props
    assert props["IdleSessionTTLInSeconds"] == 900
    assert len(props["KnowledgeBases"]) == 1
    assert not _resources(template, "AWS::DynamoDB::Table")  # no action group: no tables, no loader
    assert not _resources(template, "AWS::Lambda::Function")
    (statement, *_) = _statements(template, "HelpdeskAssistantServiceRole")
    assert statement["Action"] == "bedrock:InvokeModel"
    assert sorted(statement["Resource"]) == sorted(
        [
            f"arn:aws:bedrock:us-east-1:111122223333:inference-profile/{MODEL}",
            f"arn:aws:bedrock:*::foundation-model/{FOUNDATION_MODEL}",
            f"arn:aws:bedrock:::foundation-model/{FOUNDATION_MODEL}",
        ]
    )


# ------------------------------------------------------------------------------------------ forking

ACCOUNT_ID, REGION_NAME = "111122223333", "us-east-1"
ENV = cdk.Environment(account=ACCOUNT_ID, region=REGION_NAME)
KEY_ARN = f"arn:aws:kms:{REGION_NAME}:{ACCOUNT_ID}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
GUARDRAIL_ARN = f"arn:aws:bedrock:{REGION_NAME}:{ACCOUNT_ID}:guardrail/abcdef123456"
KB_ARN = f"arn:aws:bedrock:{REGION_NAME}:{ACCOUNT_ID}:knowledge-base/KB12345678"


class Imported:
    """A team's own key, topic, curated bucket and bus, imported into a never-synthesized app."""

    def __init__(self) -> None:
        scope = cdk.Stack(cdk.App(), "Existing", env=ENV)
        self.key = kms.Key.from_key_arn(scope, "Key", KEY_ARN)
        self.topic = sns.Topic.from_topic_arn(scope, "Alarms", f"arn:aws:sns:{REGION_NAME}:{ACCOUNT_ID}:alarms")
        self.curated = s3.Bucket.from_bucket_name(scope, "Curated", "platform-curated")
        self.bus = events.EventBus.from_event_bus_arn(
            scope, "Bus", f"arn:aws:events:{REGION_NAME}:{ACCOUNT_ID}:event-bus/platform"
        )


def _props(existing: Imported, settings: Any) -> AgentProps:
    return AgentProps(
        name_prefix="team-dev",
        stage=StagePolicy("dev"),
        key=existing.key,
        alarm_topic=existing.topic,
        settings=settings,
        model=MODEL,
        guardrail=GuardrailRef(guardrail_id="abcdef123456", version="3", arn=GUARDRAIL_ARN),
        knowledge_base=KnowledgeBaseRef(knowledge_base_id="KB12345678", arn=KB_ARN),
        curated_bucket=existing.curated,
        event_bus=existing.bus,
        dataset_published_source="team.data",
    )


def test_agent_stack_synthesizes_alone_against_imported_resources(tmp_path: Path) -> None:
    settings = load_agent_settings("customer-retention")
    app = cdk.App(outdir=str(tmp_path), context=cdk_json_context())
    stack = AgentStack(app, "Agent", env=ENV, props=_props(Imported(), settings))
    add_nag_packs(app)
    assembly = app.synth()
    assert report_findings(tmp_path) == []
    assert report_findings(tmp_path, acknowledged=True)
    artifact = assembly.get_stack_artifact(stack.artifact_id)
    template = artifact.template
    rendered = json.dumps(template)
    assert KEY_ARN in rendered
    assert GUARDRAIL_ARN in rendered
    assert KB_ARN in rendered
    assert ":s3:::platform-curated/records/*" in rendered
    (rule,) = _resources(template, "AWS::Events::Rule").values()
    assert rule["Properties"]["EventBusName"] == "platform"
    assert rule["Properties"]["EventPattern"]["source"] == ["team.data"]
    warnings = [str(m.entry.data) for m in artifact.messages if m.level == cx_api.SynthesisMessageLevel.WARNING]
    sids = {w.split("journey:key-policy:")[1].split()[0] for w in warnings if "journey:key-policy:" in w}
    assert any(s.startswith("BedrockEncryptsAgentsOf") for s in sids)
    assert any(s.startswith("BedrockEncryptsAgentMemoryOf") for s in sids)
    assert any(s.startswith("EventBridgeDeadLettersOf") for s in sids)


# ------------------------------------------------------------------------------------------ agent.yaml

VALID = """
supervisor:
  name: helper
  description: answers questions
  instruction: Answer questions about the service from the knowledge base, briefly.
"""


def _write(tmp_path: Path, text: str) -> Path:
    folder = tmp_path / "uc"
    folder.mkdir(exist_ok=True)
    (folder / "agent.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
    return tmp_path


def test_shipped_agent_files_are_valid():
    retention = load_agent_settings("customer-retention")
    assert retention is not None
    assert [a.name for a in retention.agents] == ["retention-supervisor", "retention-analyst", "policy-advisor"]
    assert retention.functions == ["retention_analyst"]
    helpdesk = load_agent_settings("it-helpdesk")
    assert helpdesk is not None
    assert not helpdesk.collaborators


def test_a_use_case_without_agent_yaml_has_no_agent(tmp_path):
    (tmp_path / "uc").mkdir()
    assert load_agent_settings("uc", tmp_path) is None


def test_a_minimal_file_is_one_agent_with_defaults(tmp_path):
    settings = load_agent_settings("uc", _write(tmp_path, VALID))
    assert settings is not None
    assert settings.supervisor.idle_session_ttl_seconds == 600
    assert settings.supervisor.memory is None
    assert settings.supervisor.collaboration is None


COLLABORATOR = """
collaborators:
  - name: other
    description: another agent
    instruction: Answer questions about the service from the knowledge base, briefly.
    collaboration_instruction: anything else
"""


@pytest.mark.parametrize(
    ("text", "field", "reason"),
    [
        (VALID.replace("name: helper", "name: Helper_1"), "supervisor.name", "must be lowercase letters"),
        (VALID.replace("name: helper", "name: helper-"), "supervisor.name", "not ending with a hyphen"),
        (
            VALID.replace("Answer questions about the service from the knowledge base, briefly.", "Answer briefly."),
            "supervisor.instruction",
            "at least 40 characters",
        ),
        (
            VALID + "  idle_session_ttl_seconds: 30\n",
            "supervisor.idle_session_ttl_seconds",
            "greater than or equal to 60",
        ),
        (VALID + "  collaboration: supervisor\n", "supervisor.collaboration", "only with collaborators"),
        (VALID + COLLABORATOR, "supervisor.collaboration", "required with collaborators"),
        (
            VALID + "  collaboration: supervisor\n" + COLLABORATOR.replace("name: other", "name: helper"),
            "collaborators.0.name",
            "'helper' is also the name of supervisor",
        ),
        (VALID + "  memory: {storage_days: 400}\n", "supervisor.memory.storage_days", "less than or equal to 365"),
        (
            VALID + "  action_groups:\n    - name: tools\n      function: teleport\n",
            "supervisor.action_groups.0.function",
            "'retention_analyst'",
        ),
        (VALID + "  model: gpt-4\n", "supervisor.model", "must look like `provider.model-name-v1:0`"),
        (VALID + "  knowlege_base: true\n", "supervisor.knowlege_base", "did you mean 'knowledge_base'?"),
        (
            VALID.replace("description: answers questions", "description: yes"),
            "supervisor.description",
            "YAML read `yes` as true; quote it",
        ),
    ],
)
def test_bad_agent_yaml_is_one_line_naming_file_field_and_reason(tmp_path, text, field, reason):
    with pytest.raises(ConfigError) as caught:
        load_agent_settings("uc", _write(tmp_path, text))
    (problem,) = caught.value.problems
    assert problem[0] == f"{tmp_path.name}/uc/agent.yaml"
    assert problem[1] == field
    assert reason in problem[2]
    assert "\n" not in str(caught.value)


def test_an_agent_needing_switched_off_stacks_stops_synth(tmp_path):
    with pytest.raises(ConfigError) as caught:
        synthesize(tmp_path, USECASES_DIR, **{"features.knowledge": False})
    assert caught.value.problems == [
        (
            "usecases/customer-retention/agent.yaml",
            "collaborators.1.knowledge_base",
            "needs the Knowledge stack's knowledge base (features.knowledge), which is off",
        )
    ]


def test_the_agent_switch_needs_guardrails(tmp_path):
    with pytest.raises(ConfigError) as caught:
        synthesize(tmp_path, USECASES_DIR, **{"features.guardrails": False})
    assert caught.value.problems == [
        ("cdk.json context", "features", "agent needs guardrails (every agent applies the use case's guardrail)")
    ]
