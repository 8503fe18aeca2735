"""What the serving pipeline (lambdas/api/pipeline.py) may call, granted to a role in one place.

The chat functions (stacks/api) and the scheduled quality evaluation's RunTask (stacks/observability/evaluation.py)
run the same pipeline, so they must hold the same permissions; both call `grant_serving` (a test compares the two
roles action by action). The protocols name only the grant methods used, which the kit's stacks and the Api stack's
`Imported*` classes provide.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable
from typing import Protocol

import aws_cdk as cdk
from aws_cdk import aws_iam as iam

from stacks.common.nag import acknowledge, iam5_resource_finding
from stacks.common.vector_knowledge_base import model_arns

# Converse and ConverseStream are authorized as these two actions.
MODEL_ACTIONS = ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"]


class GuardrailGrants(Protocol):
    def grant_apply(self, grantee: iam.IGrantable) -> iam.Grant: ...
    def grant_safety_checks(self, grantee: iam.IGrantable) -> iam.Grant: ...


class KnowledgeBaseGrants(Protocol):
    def grant_retrieve(self, grantee: iam.IGrantable) -> iam.Grant: ...


class AgentGrants(Protocol):
    def grant_invoke(self, grantee: iam.IGrantable) -> iam.Grant: ...


class PromptsGrants(Protocol):
    def grant_read(self, grantee: iam.IGrantable, *tasks: str) -> iam.Grant: ...
    def grant_render(self, grantee: iam.IGrantable, *tasks: str) -> iam.Grant: ...


def grant_serving(
    role: iam.IRole,
    *,
    model: str,
    guardrail: GuardrailGrants,
    architectures: Collection[str],
    knowledge_base: KnowledgeBaseGrants | None = None,
    agent: AgentGrants | None = None,
    prompts: PromptsGrants | None = None,
    more_grants: Iterable[Callable[[iam.IGrantable], object]] = (),
) -> None:
    """The model (with the nag acknowledgment a cross-region inference profile's region wildcard needs), the
    guardrail and the safety checks, the knowledge base or the agent where those architectures are offered, any
    further grant (the hosted endpoint), and the selected prompts."""
    models = model_arns(cdk.Stack.of(role), model)
    iam.Grant.add_to_principal(grantee=role, actions=MODEL_ACTIONS, resource_arns=models)
    policy = role.node.find_child("DefaultPolicy").node.default_child
    assert policy is not None
    for arn in models:
        if "*" in json.dumps(cdk.Stack.of(role).resolve(arn)):
            acknowledge(
                policy,
                iam5_resource_finding(policy, arn),
                "A cross-region inference profile sends each request to any region of its geography; "
                "the foundation model is named, only its region is open, as Bedrock documents.",
            )
    guardrail.grant_apply(role)
    guardrail.grant_safety_checks(role)
    if "rag" in architectures and knowledge_base is not None:
        knowledge_base.grant_retrieve(role)
    if "agent" in architectures and agent is not None:
        agent.grant_invoke(role)
    for grant in more_grants:
        grant(role)
    if prompts is not None:
        prompts.grant_read(role)
        prompts.grant_render(role)
