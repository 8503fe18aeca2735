"""`ManagedPrompt`: one Bedrock Prompt Management prompt holding one variant, and the version of its content.

- `AWS::Bedrock::Prompt` with exactly one variant (a version snapshots one), encrypted with the given key. The
  template is TEXT, or CHAT (one system block and one user message) when the prompt has system text: TEXT has no
  place for it. Input variables are the template's placeholders, in order of use.
- `AWS::Bedrock::PromptVersion` whose construct id and description carry the content fingerprint (template,
  system, variables, inference settings, model), so a new version is published when, and only when, what the
  prompt sends changes; the guardrail's version works the same way.

The `CfnPrompt` is this construct's ``Default`` child (the prompt's logical id is this construct's path) and the
version sits beside it, in this construct.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import aws_cdk as cdk
from aws_cdk import aws_bedrock as bedrock
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from common.prompts.contract import Inference
from common.prompts.template import placeholders
from constructs import Construct

from stacks.common.kms_key import grant_key_use_via
from stacks.prompts.settings import fingerprint

MAX_PROMPT_NAME = 100  # Bedrock: `([0-9a-zA-Z][_-]?){1,100}`; 100 characters always fit


@dataclass(frozen=True)
class PromptContent:
    """What one prompt sends: template, optional system text, model and inference settings."""

    name: str  # the prompt's variant name (Prompt Management shows it; the prompt's default variant)
    model_id: str
    template: str
    system: str | None = None
    inference: Inference = field(default_factory=Inference)

    @property
    def variables(self) -> list[str]:
        """The template's variables (system text first), each once, in order of use."""
        return list(dict.fromkeys(placeholders(self.system or "") + placeholders(self.template)))

    @property
    def template_type(self) -> str:
        return "TEXT" if self.system is None else "CHAT"

    def fingerprint(self) -> str:
        return fingerprint(
            {
                "name": self.name,
                "model_id": self.model_id,
                "template_type": self.template_type,
                "template": self.template,
                "system": self.system,
                "variables": self.variables,
                "inference": self.inference.model_dump(mode="json", exclude_none=True),
            }
        )


def prompt_name(*parts: str) -> str:
    """``parts`` joined with hyphens: Bedrock's name form. Past 100 characters, cut and ended with a digest of the
    whole name, so two long names stay distinct."""
    name = "-".join(parts)
    if len(name) <= MAX_PROMPT_NAME:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[: MAX_PROMPT_NAME - 9].rstrip('-_')}-{digest}"


class ManagedPrompt(Construct):
    """A prompt of one variant and the version published for its current content.

    :param name: the prompt's name (`prompt_name`).
    :param description: the prompt's description (at most 200 characters).
    :param content: what the prompt sends.
    :param key: encrypts the prompt and its versions; readers decrypt through Bedrock only (`grant_get`).
    :param tags: tags of the prompt and of its version (task, variant, technique, step).
    :param removal_policy: of the prompt and its versions (RETAIN in prod keeps superseded versions).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name: str,
        description: str,
        content: PromptContent,
        key: kms.IKey,
        tags: dict[str, str],
        removal_policy: cdk.RemovalPolicy = cdk.RemovalPolicy.RETAIN,
    ) -> None:
        super().__init__(scope, construct_id)
        self._key = key
        self.content = content
        self.content_fingerprint = content.fingerprint()
        self.resource = bedrock.CfnPrompt(
            self,
            "Default",
            name=name,
            description=description,
            customer_encryption_key_arn=key.key_arn,
            default_variant=content.name,
            variants=[render_variant(content)],
        )
        self.resource.apply_removal_policy(removal_policy)
        self.version = bedrock.CfnPromptVersion(
            self,
            f"Version{self.content_fingerprint[:12]}",
            prompt_arn=self.resource.attr_arn,
            description=f"{' '.join(tags.values())} sha256:{self.content_fingerprint[:16]}"[:200],
        )
        self.version.apply_removal_policy(removal_policy)
        for resource in (self.resource, self.version):
            for tag_key, value in tags.items():
                cdk.Tags.of(resource).add(tag_key, value)

    @property
    def prompt_arn(self) -> str:
        return self.resource.attr_arn

    @property
    def version_arn(self) -> str:
        """The version published for the current content (`arn:...:prompt/<id>:<version>`)."""
        return self.version.attr_arn

    def grant_get(self, grantee: iam.IGrantable) -> iam.Grant:
        """bedrock:GetPrompt on the current version, and decrypt with the prompt's key through Bedrock only."""
        grant = iam.Grant.add_to_principal(
            grantee=grantee, actions=["bedrock:GetPrompt"], resource_arns=[self.version_arn]
        )
        return grant.combine(grant_key_use_via(self._key, grantee, "bedrock", encrypt=False))


def render_variant(content: PromptContent) -> bedrock.CfnPrompt.PromptVariantProperty:
    """The one variant of a prompt: TEXT, or CHAT with one system block and one user message."""
    variables = [bedrock.CfnPrompt.PromptInputVariableProperty(name=n) for n in content.variables] or None
    if content.system is None:
        configuration = bedrock.CfnPrompt.PromptTemplateConfigurationProperty(
            text=bedrock.CfnPrompt.TextPromptTemplateConfigurationProperty(
                text=content.template, input_variables=variables
            )
        )
    else:
        configuration = bedrock.CfnPrompt.PromptTemplateConfigurationProperty(
            chat=bedrock.CfnPrompt.ChatPromptTemplateConfigurationProperty(
                system=[bedrock.CfnPrompt.SystemContentBlockProperty(text=content.system)],
                messages=[
                    bedrock.CfnPrompt.MessageProperty(
                        role="user", content=[bedrock.CfnPrompt.ContentBlockProperty(text=content.template)]
                    )
                ],
                input_variables=variables,
            )
        )
    inference = content.inference
    settings = inference.model_dump(exclude_none=True)
    return bedrock.CfnPrompt.PromptVariantProperty(
        name=content.name,
        template_type=content.template_type,
        template_configuration=configuration,
        model_id=content.model_id,
        inference_configuration=bedrock.CfnPrompt.PromptInferenceConfigurationProperty(
            text=bedrock.CfnPrompt.PromptModelInferenceConfigurationProperty(
                temperature=inference.temperature, top_p=inference.top_p, max_tokens=inference.max_tokens
            )
        )
        if settings
        else None,
    )
