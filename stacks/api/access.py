"""What the Api stack uses of other stacks, as protocols: the kit's stacks satisfy them as they are, a team passes
its own resources through the small `Imported*` classes here.

- `GuardrailAccess`: the Guardrails stack (`GuardrailsStack`) or `ImportedGuardrail`.
- `KnowledgeBaseAccess`: the Knowledge stack's `knowledge_base` (`VectorKnowledgeBase`) or `ImportedKnowledgeBase`.
- `AgentAccess`: the Agent stack's `supervisor` (`KitAgent`) or `ImportedAgentAlias`.
- `PromptsAccess`: the Prompts stack (`PromptsStack`); a team with its own parameters writes the three members.

A stage package imports no other stage package (tests/stacks/test_layout.py), so these are structural types:
mypy checks at stacks/stage.py that each stack fits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms

from stacks.common.kms_key import grant_key_use_via

# The Comprehend calls of the safety chain (lambdas/common/safety): real-time APIs without a resource type.
SAFETY_CHECK_ACTIONS = ["comprehend:DetectPiiEntities", "comprehend:DetectToxicContent"]


class GuardrailAccess(Protocol):
    @property
    def guardrail_id(self) -> str: ...
    @property
    def guardrail_version(self) -> str: ...
    def grant_apply(self, grantee: iam.IGrantable) -> iam.Grant: ...
    def grant_safety_checks(self, grantee: iam.IGrantable) -> iam.Grant: ...
    def safety_settings_json(self) -> str: ...


class KnowledgeBaseAccess(Protocol):
    @property
    def knowledge_base_id(self) -> str: ...
    def grant_retrieve(self, grantee: iam.IGrantable) -> iam.Grant: ...


class AgentAccess(Protocol):
    @property
    def agent_id(self) -> str: ...
    @property
    def alias_id(self) -> str: ...
    def grant_invoke(self, grantee: iam.IGrantable) -> iam.Grant: ...


class HostedModelAccess(Protocol):
    """A SageMaker endpoint that serves `direct` instead of Bedrock (the Scale stack's `HostedModel`)."""

    @property
    def endpoint_name(self) -> str: ...
    @property
    def inference_component_name(self) -> str | None: ...
    def grant_invoke(self, grantee: iam.IGrantable) -> iam.Grant: ...


class PromptsAccess(Protocol):
    @property
    def parameter_names(self) -> dict[str, str]: ...
    def grant_read(self, grantee: iam.IGrantable, *tasks: str) -> iam.Grant: ...
    def grant_render(self, grantee: iam.IGrantable, *tasks: str) -> iam.Grant: ...


@dataclass(frozen=True)
class ImportedGuardrail:
    """A published guardrail version of the team's, with the safety library's settings (`SafetySettings` JSON,
    e.g. `SafetyConfig.runtime_settings(...)` of stacks/guardrails/safety_settings.py) and the guardrail's CMK."""

    guardrail_id: str
    guardrail_version: str
    guardrail_arn: str
    safety_settings: str
    key: kms.IKey | None = None  # the guardrail's CMK, when it has one

    def grant_apply(self, grantee: iam.IGrantable) -> iam.Grant:
        grant = iam.Grant.add_to_principal(
            grantee=grantee, actions=["bedrock:ApplyGuardrail"], resource_arns=[self.guardrail_arn]
        )
        if self.key is None:
            return grant
        return grant.combine(grant_key_use_via(self.key, grantee, "bedrock", encrypt=False))

    def grant_safety_checks(self, grantee: iam.IGrantable) -> iam.Grant:
        return iam.Grant.add_to_principal(grantee=grantee, actions=SAFETY_CHECK_ACTIONS, resource_arns=["*"])

    def safety_settings_json(self) -> str:
        return self.safety_settings


@dataclass(frozen=True)
class ImportedKnowledgeBase:
    knowledge_base_id: str
    knowledge_base_arn: str

    @classmethod
    def from_id(cls, scope: cdk.Stack, knowledge_base_id: str) -> ImportedKnowledgeBase:
        arn = scope.format_arn(service="bedrock", resource="knowledge-base", resource_name=knowledge_base_id)
        return cls(knowledge_base_id, arn)

    def grant_retrieve(self, grantee: iam.IGrantable) -> iam.Grant:
        return iam.Grant.add_to_principal(
            grantee=grantee, actions=["bedrock:Retrieve"], resource_arns=[self.knowledge_base_arn]
        )


@dataclass(frozen=True)
class ImportedAgentAlias:
    """An agent's alias; with the agent's CMK, the caller may use it for this agent only (as `KitAgent` grants)."""

    agent_id: str
    alias_id: str
    alias_arn: str
    agent_arn: str
    key: kms.IKey | None = None

    @classmethod
    def from_ids(
        cls, scope: cdk.Stack, agent_id: str, alias_id: str, key: kms.IKey | None = None
    ) -> ImportedAgentAlias:
        return cls(
            agent_id,
            alias_id,
            scope.format_arn(service="bedrock", resource="agent-alias", resource_name=f"{agent_id}/{alias_id}"),
            scope.format_arn(service="bedrock", resource="agent", resource_name=agent_id),
            key,
        )

    def grant_invoke(self, grantee: iam.IGrantable) -> iam.Grant:
        grant = iam.Grant.add_to_principal(
            grantee=grantee, actions=["bedrock:InvokeAgent"], resource_arns=[self.alias_arn]
        )
        if self.key is None:
            return grant
        return grant.combine(
            iam.Grant.add_to_principal(
                grantee=grantee,
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resource_arns=[self.key.key_arn],
                conditions={"StringEquals": {"kms:EncryptionContext:aws:bedrock:arn": self.agent_arn}},
            )
        )
