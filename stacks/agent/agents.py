"""`KitAgent`: one Bedrock agent with its service role, its action groups, and an alias on a prepared version.

Why the L1 `aws_bedrock.CfnAgent` / `CfnAgentAlias` and not the `aws-bedrock-alpha` L2 `Agent` / `AgentAlias`:
- the L2 grants its model with `bedrock:InvokeModel*` (and `bedrock:GetFoundationModel`), a wildcard action the
  kit forbids (tools/iam_check.py), and an inference profile the same way;
- the L2 `Agent` has no knowledge-base association (the L1 `KnowledgeBases` property is what associates one),
  so the Retrieve grant and the association would be written by hand beside it anyway;
- its collaboration support (`AgentCollaboration`) renders the same L1 `AgentCollaborators` property this
  construct writes, while its role, alias and Lambda-permission wiring are fixed (no SourceAccount on the
  permission's condition keys beyond its own, no CMK decrypt for the guardrail);
- and one more jsii assembly to load costs synth time the kit's budget does not have (bench/results.md).
Everything the kit needs is a property of `AWS::Bedrock::Agent` (collaboration, collaborators, knowledge
bases, action groups, guardrail, memory, CMK, auto-prepare), so the L1 expresses it exactly.

Prepared versions, and the alias on them (checked against the CloudFormation reference of AWS::Bedrock::Agent and
AWS::Bedrock::AgentAlias and Bedrock's agent deployment guide):
- `AutoPrepare: true` makes CloudFormation prepare the agent's DRAFT after every create and update.
- An alias created or updated without `RoutingConfiguration` makes Bedrock snapshot the prepared DRAFT as a new
  numbered version and point the alias at it (an alias can never point at DRAFT in a way callers should use).
- The alias's `Description` carries a content hash of the agent's configuration as this template renders it and
  the agent's `UpdatedAt` attribute. The hash changes with any setting written here; `UpdatedAt` changes with any
  update of the agent, including those this template cannot hash (a new guardrail version imported from the
  Guardrails stack). Either way CloudFormation updates the alias in place (Description: "Update requires: No
  interruption"), and Bedrock publishes a new version from the freshly prepared DRAFT. The alias's logical id
  stays fixed on purpose: a new logical id would create the replacement alias first, under the same alias name,
  which Bedrock rejects.
- A supervisor names its collaborators' alias ARNs, so CloudFormation creates (and prepares and versions) every
  collaborator before the supervisor.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field

import aws_cdk as cdk
from aws_cdk import aws_bedrock as bedrock
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from stacks.common.kms_key import grant_key_use_via
from stacks.common.nag import acknowledge, acknowledge_all, each_pack, iam5_resource_finding
from stacks.common.vector_knowledge_base import model_arns

ALIAS_NAME = "live"
SESSION_SUMMARY = "SESSION_SUMMARY"
COLLABORATION = {"supervisor": "SUPERVISOR", "supervisor_router": "SUPERVISOR_ROUTER"}


@dataclass(frozen=True)
class GuardrailRef:
    """The guardrail every agent applies: id, the published version, and its ARN (for bedrock:ApplyGuardrail)."""

    guardrail_id: str
    version: str
    arn: str


@dataclass(frozen=True)
class KnowledgeBaseRef:
    """A knowledge base an agent may retrieve from."""

    knowledge_base_id: str
    arn: str


@dataclass(frozen=True)
class Tool:
    """An action group: the function that executes it and its OpenAPI schema (JSON text)."""

    name: str
    function: lambda_.IFunction
    api_schema: str
    description: str | None = None


@dataclass(frozen=True)
class CollaboratorLink:
    """A collaborator as its supervisor names it."""

    agent: KitAgent
    name: str
    instruction: str
    relay_conversation_history: bool = True


@dataclass(frozen=True)
class AgentDefinition:
    """What one agent is: everything `KitAgent` renders into `AWS::Bedrock::Agent`."""

    agent_name: str  # physical name
    description: str
    instruction: str
    model: str  # foundation-model id or inference-profile id
    idle_session_ttl_seconds: int = 600
    memory_days: int | None = None  # session-summary memory kept this many days; None: no memory
    tools: Sequence[Tool] = ()
    knowledge_base: KnowledgeBaseRef | None = None
    knowledge_base_description: str = "Answer from the use case's curated documents"
    collaboration: str | None = None  # "supervisor" | "supervisor_router"
    collaborators: Sequence[CollaboratorLink] = field(default_factory=tuple)


class KitAgent(Construct):
    """One agent, its least-privilege service role and its alias `live` on the latest prepared version.

    Exposes `role`, `resource` (CfnAgent), `alias` (CfnAgentAlias), `agent_id`, `agent_arn`, `alias_id`,
    `alias_arn`, `config_hash`; `grant_invoke` lets a caller invoke the alias.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        definition: AgentDefinition,
        key: kms.IKey,
        guardrail: GuardrailRef,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        self.definition, self._key = definition, key
        self.role = iam.Role(
            self,
            "ServiceRole",
            description=f"Bedrock agent {definition.agent_name} (least privilege)",
            assumed_by=iam.ServicePrincipal(
                "bedrock.amazonaws.com",
                conditions={
                    # Only Bedrock acting for an agent of this account and region (confused deputy). The agent's id
                    # is generated, and the agent needs the role first, so its own ARN cannot be named here.
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnLike": {
                        "aws:SourceArn": stack.format_arn(service="bedrock", resource="agent", resource_name="*")
                    },
                },
            ),
        )
        self._grant_role(definition, guardrail)

        self.resource = bedrock.CfnAgent(
            self,
            "Resource",
            agent_name=definition.agent_name,
            agent_resource_role_arn=self.role.role_arn,
            auto_prepare=True,
            customer_encryption_key_arn=key.key_arn,
            description=definition.description,
            foundation_model=definition.model,
            instruction=definition.instruction,
            idle_session_ttl_in_seconds=definition.idle_session_ttl_seconds,
            guardrail_configuration=bedrock.CfnAgent.GuardrailConfigurationProperty(
                guardrail_identifier=guardrail.guardrail_id, guardrail_version=guardrail.version
            ),
            memory_configuration=(
                bedrock.CfnAgent.MemoryConfigurationProperty(
                    enabled_memory_types=[SESSION_SUMMARY], storage_days=definition.memory_days
                )
                if definition.memory_days is not None
                else None
            ),
            action_groups=[
                bedrock.CfnAgent.AgentActionGroupProperty(
                    action_group_name=tool.name,
                    description=tool.description,
                    action_group_state="ENABLED",
                    action_group_executor=bedrock.CfnAgent.ActionGroupExecutorProperty(
                        lambda_=tool.function.function_arn
                    ),
                    api_schema=bedrock.CfnAgent.APISchemaProperty(payload=tool.api_schema),
                )
                for tool in definition.tools
            ]
            or None,
            # The alpha L2 Agent cannot associate a knowledge base yet: the L1 property does.
            knowledge_bases=(
                [
                    bedrock.CfnAgent.AgentKnowledgeBaseProperty(
                        knowledge_base_id=definition.knowledge_base.knowledge_base_id,
                        description=definition.knowledge_base_description,
                        knowledge_base_state="ENABLED",
                    )
                ]
                if definition.knowledge_base is not None
                else None
            ),
            agent_collaboration=COLLABORATION[definition.collaboration] if definition.collaboration else None,
            agent_collaborators=[
                bedrock.CfnAgent.AgentCollaboratorProperty(
                    collaborator_name=link.name,
                    collaboration_instruction=link.instruction,
                    agent_descriptor=bedrock.CfnAgent.AgentDescriptorProperty(alias_arn=link.agent.alias_arn),
                    relay_conversation_history="TO_COLLABORATOR" if link.relay_conversation_history else "DISABLED",
                )
                for link in definition.collaborators
            ]
            or None,
        )
        # Bedrock checks the role when it prepares the agent: its policy must exist first (and outlive it).
        self.resource.node.add_dependency(self.role.node.find_child("DefaultPolicy"))
        for tool in definition.tools:
            self._allow_invocation(tool)

        self.config_hash = self._config_hash()
        self.alias = bedrock.CfnAgentAlias(
            self,
            "Alias",
            agent_alias_name=ALIAS_NAME,
            agent_id=self.resource.attr_agent_id,
            # No RoutingConfiguration: each create or update of the alias publishes the prepared DRAFT as a new
            # version. The description changes whenever the agent's configuration does (see the module docstring).
            description=cdk.Fn.join(
                "",
                [
                    f"{definition.agent_name[:60]} config {self.config_hash}, agent updated ",
                    self.resource.attr_updated_at,
                ],
            ),
        )

    # ------------------------------------------------------------------ attributes

    @property
    def agent_id(self) -> str:
        return self.resource.attr_agent_id

    @property
    def agent_arn(self) -> str:
        return self.resource.attr_agent_arn

    @property
    def alias_id(self) -> str:
        return self.alias.attr_agent_alias_id

    @property
    def alias_arn(self) -> str:
        return self.alias.attr_agent_alias_arn

    # ------------------------------------------------------------------ grants

    def grant_invoke(self, grantee: iam.IGrantable) -> iam.Grant:
        """bedrock:InvokeAgent on this agent's alias, and the CMK use Bedrock makes for the caller of this agent.

        Bedrock encrypts an agent's resources with the agent's CMK on behalf of the caller (encryption context
        `aws:bedrock:arn` = the agent's ARN), so the caller needs kms:GenerateDataKey and kms:Decrypt for this
        agent only.
        """
        grant = iam.Grant.add_to_principal(
            grantee=grantee, actions=["bedrock:InvokeAgent"], resource_arns=[self.alias_arn]
        )
        return grant.combine(
            iam.Grant.add_to_principal(
                grantee=grantee,
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resource_arns=[self._key.key_arn],
                conditions={"StringEquals": {"kms:EncryptionContext:aws:bedrock:arn": self.agent_arn}},
            )
        )

    # ------------------------------------------------------------------ internals

    def _grant_role(self, definition: AgentDefinition, guardrail: GuardrailRef) -> None:
        """Exactly what the agent does: call its model, apply its guardrail, retrieve from its knowledge base,
        invoke its collaborators' aliases, and decrypt what Bedrock encrypted with the CMK for it."""
        models = model_arns(self, definition.model)
        self._allow(["bedrock:InvokeModel"], models)
        self._allow(["bedrock:ApplyGuardrail"], [guardrail.arn])
        if definition.knowledge_base is not None:
            self._allow(["bedrock:Retrieve"], [definition.knowledge_base.arn])
        if definition.collaborators:
            self._allow(
                ["bedrock:GetAgentAlias", "bedrock:InvokeAgent"],
                [link.agent.alias_arn for link in definition.collaborators],
            )
        # The agent's resources and the guardrail are encrypted with the CMK; Bedrock decrypts them as this role.
        grant_key_use_via(self._key, self.role, "bedrock", encrypt=False)
        policy = self.role.node.find_child("DefaultPolicy").node.default_child
        assert policy is not None
        acknowledge_all(
            policy,
            each_pack("IAMNoInlinePolicy"),
            "The agent role's policy is created, changed and deleted with that one role and lists every "
            "permission it has; a managed copy could be attached elsewhere.",
        )
        for arn in models:
            if "*" in json.dumps(cdk.Stack.of(self).resolve(arn)):
                acknowledge(
                    policy,
                    iam5_resource_finding(policy, arn),
                    "A cross-region inference profile sends each request to any region of its geography; "
                    "the foundation model is named, only its region is open, as Bedrock documents.",
                )

    def _allow(self, actions: list[str], resources: list[str]) -> None:
        iam.Grant.add_to_principal(grantee=self.role, actions=actions, resource_arns=resources)

    def _allow_invocation(self, tool: Tool) -> None:
        """Bedrock may invoke the tool's function for this agent only (SourceArn) in this account."""
        lambda_.CfnPermission(
            self,
            f"Invoke{''.join(part.capitalize() for part in tool.name.replace('_', '-').split('-'))}",
            action="lambda:InvokeFunction",
            function_name=tool.function.function_arn,
            principal="bedrock.amazonaws.com",
            source_account=cdk.Stack.of(self).account,
            source_arn=self.agent_arn,
        )

    def _config_hash(self) -> str:
        """12 hex digits of the agent's configuration: every setting `AgentDefinition` holds, with references
        (the function and knowledge-base ids, collaborators' alias ARNs) as this template renders them."""
        definition = self.definition
        config = {
            "name": definition.agent_name,
            "description": definition.description,
            "instruction": definition.instruction,
            "model": definition.model,
            "idle_session_ttl_seconds": definition.idle_session_ttl_seconds,
            "memory_days": definition.memory_days,
            "tools": [
                {
                    "name": tool.name,
                    "description": tool.description,
                    "function": tool.function.function_arn,
                    "schema": hashlib.sha256(tool.api_schema.encode()).hexdigest(),
                }
                for tool in definition.tools
            ],
            "knowledge_base": definition.knowledge_base.knowledge_base_id if definition.knowledge_base else None,
            "knowledge_base_description": definition.knowledge_base_description,
            "collaboration": definition.collaboration,
            "collaborators": [
                [link.name, link.instruction, link.relay_conversation_history, link.agent.alias_arn]
                for link in definition.collaborators
            ],
        }
        rendered = json.dumps(cdk.Stack.of(self).resolve(config), sort_keys=True)
        return hashlib.sha256(rendered.encode()).hexdigest()[:12]
