"""`Guardrail`: a Bedrock guardrail rendered from a `GuardrailPolicy`, its published version, and `grant_apply`.

- `AWS::Bedrock::Guardrail`, encrypted with the given key. Every setting is rendered explicitly: PII input and
  output actions are never left to a default.
- `AWS::Bedrock::GuardrailVersion` whose construct id and description carry the policy fingerprint, so a new
  version is published when, and only when, the policy changes.

Construct ids keep the logical ids of deployed stacks: the `CfnGuardrail` is this construct's ``Default`` child
(CDK leaves a ``Default`` id out of the logical id, so the guardrail's logical id is this construct's id), and
the version sits next to this construct, in its scope, as it did before the construct existed.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_bedrock as bedrock
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from stacks.common.kms_key import grant_key_use_via
from stacks.guardrails.policy import HARM_CATEGORIES, GuardrailPolicy


class Guardrail(Construct):
    """A guardrail and the version published for its current policy.

    :param name: the guardrail's name (letters, digits and hyphens, at most 50 characters).
    :param policy: what the guardrail blocks and masks (usecases/<id>/guardrail.yaml).
    :param key: encrypts the guardrail; callers decrypt with it through Bedrock only (`grant_apply`).
    :param removal_policy: of the guardrail and its versions (RETAIN in prod keeps superseded versions).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name: str,
        policy: GuardrailPolicy,
        key: kms.IKey,
        removal_policy: cdk.RemovalPolicy = cdk.RemovalPolicy.RETAIN,
    ) -> None:
        super().__init__(scope, construct_id)
        self._key = key
        self.policy_fingerprint = policy.fingerprint()
        self.resource = bedrock.CfnGuardrail(
            self,
            "Default",
            name=name,
            description=policy.description,
            blocked_input_messaging=policy.blocked_messages.input,
            blocked_outputs_messaging=policy.blocked_messages.output,
            kms_key_arn=key.key_arn,
            **render_policy(policy),  # type: ignore[arg-type]
        )
        self.resource.apply_removal_policy(removal_policy)
        self.version = bedrock.CfnGuardrailVersion(
            scope,
            f"Version{self.policy_fingerprint[:12]}",
            guardrail_identifier=self.resource.attr_guardrail_id,
            description=f"policy sha256:{self.policy_fingerprint[:16]}",
        )
        self.version.apply_removal_policy(removal_policy)

    @property
    def guardrail_id(self) -> str:
        return self.resource.attr_guardrail_id

    @property
    def guardrail_arn(self) -> str:
        return self.resource.attr_guardrail_arn

    @property
    def guardrail_version(self) -> str:
        """The version published for the current policy."""
        return self.version.attr_version

    def grant_apply(self, grantee: iam.IGrantable) -> iam.Grant:
        """bedrock:ApplyGuardrail on this guardrail (also what a model call with the guardrail needs),
        and decrypt with the guardrail's key through Bedrock only."""
        grant = iam.Grant.add_to_principal(
            grantee=grantee, actions=["bedrock:ApplyGuardrail"], resource_arns=[self.guardrail_arn]
        )
        return grant.combine(grant_key_use_via(self._key, grantee, "bedrock", encrypt=False))


def render_policy(policy: GuardrailPolicy) -> dict[str, object]:
    """The CfnGuardrail policy properties, every action explicit and every list in a stable order."""
    filters = [
        bedrock.CfnGuardrail.ContentFilterConfigProperty(
            type=category,
            input_strength=getattr(policy.content_filters, category).input,
            output_strength=getattr(policy.content_filters, category).output,
            input_enabled=True,
            output_enabled=True,
            input_action="BLOCK",
            output_action="BLOCK",
        )
        for category in HARM_CATEGORIES
    ]
    filters.append(
        bedrock.CfnGuardrail.ContentFilterConfigProperty(
            type="PROMPT_ATTACK",
            input_strength=policy.content_filters.PROMPT_ATTACK,
            output_strength="NONE",  # Bedrock accepts only NONE on output for prompt attacks
            input_enabled=True,
            input_action="BLOCK",
        )
    )
    rendered: dict[str, object] = {
        "content_policy_config": bedrock.CfnGuardrail.ContentPolicyConfigProperty(filters_config=filters),
    }
    if policy.denied_topics:
        rendered["topic_policy_config"] = bedrock.CfnGuardrail.TopicPolicyConfigProperty(
            topics_config=[
                bedrock.CfnGuardrail.TopicConfigProperty(
                    name=topic.name,
                    definition=topic.definition,
                    examples=topic.examples,
                    type="DENY",
                    input_enabled=True,
                    output_enabled=True,
                    input_action="BLOCK",
                    output_action="BLOCK",
                )
                for topic in policy.denied_topics
            ]
        )
    words = policy.words
    if words.deny or words.managed_profanity:
        rendered["word_policy_config"] = bedrock.CfnGuardrail.WordPolicyConfigProperty(
            words_config=[
                bedrock.CfnGuardrail.WordConfigProperty(
                    text=word, input_enabled=True, output_enabled=True, input_action="BLOCK", output_action="BLOCK"
                )
                for word in words.deny
            ]
            or None,
            managed_word_lists_config=[
                bedrock.CfnGuardrail.ManagedWordsConfigProperty(
                    type="PROFANITY",
                    input_enabled=True,
                    output_enabled=True,
                    input_action="BLOCK",
                    output_action="BLOCK",
                )
            ]
            if words.managed_profanity
            else None,
        )
    sensitive = policy.sensitive_information
    if sensitive.pii or sensitive.regexes:
        rendered["sensitive_information_policy_config"] = bedrock.CfnGuardrail.SensitiveInformationPolicyConfigProperty(
            pii_entities_config=[
                bedrock.CfnGuardrail.PiiEntityConfigProperty(
                    type=pii_type,
                    action=rule.output,  # the legacy single action; input/output below take precedence
                    input_action=rule.input,
                    output_action=rule.output,
                    input_enabled=True,
                    output_enabled=True,
                )
                for pii_type, rule in sorted(sensitive.pii.items())
            ]
            or None,
            regexes_config=[
                bedrock.CfnGuardrail.RegexConfigProperty(
                    name=regex.name,
                    description=regex.description,
                    pattern=regex.pattern,
                    action=regex.output,
                    input_action=regex.input,
                    output_action=regex.output,
                    input_enabled=True,
                    output_enabled=True,
                )
                for regex in sensitive.regexes
            ]
            or None,
        )
    grounding = policy.contextual_grounding
    if grounding is not None:
        rendered["contextual_grounding_policy_config"] = bedrock.CfnGuardrail.ContextualGroundingPolicyConfigProperty(
            filters_config=[
                bedrock.CfnGuardrail.ContextualGroundingFilterConfigProperty(
                    type="GROUNDING", threshold=grounding.grounding, action="BLOCK", enabled=True
                ),
                bedrock.CfnGuardrail.ContextualGroundingFilterConfigProperty(
                    type="RELEVANCE", threshold=grounding.relevance, action="BLOCK", enabled=True
                ),
            ]
        )
    return rendered
