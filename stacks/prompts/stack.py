"""Prompts stack: every variant of usecases/<id>/prompts.yaml in Bedrock Prompt Management, versioned.

- One `AWS::Bedrock::Prompt` per variant (CloudFormation and Bedrock allow one variant per prompt version), a
  `multi-prompt` variant one per step, named `<prefix>-<task>-<variant>[-<step>]` and tagged with task, variant,
  technique (and step), encrypted with the given key, on the use case's text model (`models.text`, a model or
  inference-profile id: Prompt Management takes either).
- One `AWS::Bedrock::PromptVersion` per prompt and content: its logical id carries the content fingerprint, so a
  changed template, system text, inference setting or model publishes a new version and nothing else does.
- The selected variant of each task is exported for the serving stage: `selected_version_arns` (task -> version
  ARNs in the order they run), one SSM String parameter per task, `/<prefix>/prompts/<task>`, holding the JSON of
  `common.prompts.contract.TaskPrompts` (read it with Powertools parameters), and one output per task.

Prompts are configuration, not data: prompts.yaml in git is their source. Prompts and versions still follow the
stage's removal policy, like the guardrail: prod retains superseded versions (which prompt produced an answer stays
readable for audit, a caller holding a cached ARN keeps working, rolling back is pointing the parameter at an old
version), dev deletes them. Bedrock caps the versions of one prompt (Service Quotas, "Versions per prompt"), so
prod prunes old versions by hand (docs/prompts.md).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_ssm as ssm
from common.prompts.contract import PARAMETER_PATH, PromptRef, TaskPrompts, Technique
from constructs import Construct

from stacks.common.kms_key import grant_key_use_via
from stacks.common.stage_policy import StagePolicy
from stacks.prompts.prompt import ManagedPrompt, PromptContent, prompt_name
from stacks.prompts.settings import PromptsSettings, Task, Variant

# A well-formed version ARN that validates the parameter's model before the deploy-time ARNs replace it.
_STAND_IN_ARN = "arn:aws:bedrock:us-east-1:111122223333:prompt/PROMPT0000:1"


@dataclass(frozen=True)
class PromptsProps:
    name_prefix: str  # "<prefix>-<stage>": the stage's prefix already names project and use case
    stage: StagePolicy
    key: kms.IKey  # encrypts every prompt (customerEncryptionKeyArn) and its versions
    model_id: str  # models.text of usecase.yaml: a Bedrock model or inference-profile id
    settings: PromptsSettings


@dataclass(frozen=True)
class SelectedPrompts:
    """The selected variant of one task, as the serving stage uses it."""

    task: str
    variant: str
    technique: Technique
    version_arns: tuple[str, ...]  # in the order they run; the last one answers
    parameter: ssm.IStringParameter  # /<prefix>/prompts/<task>: TaskPrompts JSON

    @property
    def parameter_name(self) -> str:
        return self.parameter.parameter_name


class PromptsStack(cdk.Stack):
    """Exposes ``prompts`` (task -> variant -> `ManagedPrompt` list, in step order), ``selected`` (task ->
    `SelectedPrompts`), ``selected_version_arns`` (task -> version ARNs in order) and ``parameter_names`` (task ->
    SSM parameter name); `grant_read` and `grant_render` for a caller. Outputs: one ``Task<Name>`` per task (its
    selected version ARNs, comma-separated) and ``ParameterPath``."""

    def __init__(self, scope: Construct, construct_id: str, *, props: PromptsProps, **kwargs: object) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        self._props = props
        self.prompts: dict[str, dict[str, list[ManagedPrompt]]] = {}
        self.selected: dict[str, SelectedPrompts] = {}
        for task_name, task in props.settings.tasks.items():
            scope_task = Construct(self, task_name)
            self.prompts[task_name] = {
                variant.name: self._variant(Construct(scope_task, variant.name), task_name, task, variant)
                for variant in task.variants
            }
            self.selected[task_name] = self._export(task_name, task, props.settings.selected(task_name))
        cdk.CfnOutput(
            self,
            "ParameterPath",
            value=PARAMETER_PATH.format(prefix=props.name_prefix, task=""),
            description="SSM path of the selected prompts: one String parameter per task (TaskPrompts JSON)",
        )

    # --------------------------------------------------------------- exposed

    @property
    def selected_version_arns(self) -> dict[str, tuple[str, ...]]:
        """Task -> the selected variant's prompt version ARNs, in the order they run."""
        return {task: selected.version_arns for task, selected in self.selected.items()}

    @property
    def parameter_names(self) -> dict[str, str]:
        """Task -> the SSM parameter holding its `TaskPrompts` JSON."""
        return {task: selected.parameter_name for task, selected in self.selected.items()}

    def grant_read(self, grantee: iam.IGrantable, *tasks: str) -> iam.Grant:
        """What the kit's runner needs for ``tasks`` (all when none is named): ssm:GetParameter on their
        parameters, bedrock:GetPrompt on their selected versions, and decrypt with the key through Bedrock only."""
        chosen = self._chosen(tasks)
        grant = iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["ssm:GetParameter"],
            resource_arns=[s.parameter.parameter_arn for s in chosen],
        )
        grant = grant.combine(
            iam.Grant.add_to_principal(
                grantee=grantee,
                actions=["bedrock:GetPrompt"],
                resource_arns=[arn for s in chosen for arn in s.version_arns],
            )
        )
        return grant.combine(grant_key_use_via(self._props.key, grantee, "bedrock", encrypt=False))

    def grant_render(self, grantee: iam.IGrantable, *tasks: str) -> iam.Grant:
        """bedrock:RenderPrompt on the selected versions of ``tasks`` (all when none is named), for a Converse
        call with a prompt version ARN as its model id; the model itself is granted by the caller's stack."""
        grant = iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["bedrock:RenderPrompt"],
            resource_arns=[arn for s in self._chosen(tasks) for arn in s.version_arns],
        )
        return grant.combine(grant_key_use_via(self._props.key, grantee, "bedrock", encrypt=False))

    # --------------------------------------------------------------- internals

    def _chosen(self, tasks: tuple[str, ...]) -> list[SelectedPrompts]:
        unknown = [t for t in tasks if t not in self.selected]
        if unknown:
            raise ValueError(f"unknown task(s) {', '.join(unknown)}; prompts.yaml has {', '.join(self.selected)}")
        return [self.selected[t] for t in (tasks or tuple(self.selected))]

    def _variant(self, scope: Construct, task_name: str, task: Task, variant: Variant) -> list[ManagedPrompt]:
        props = self._props
        tags = {"task": task_name, "variant": variant.name, "technique": variant.technique}
        if variant.steps is None:
            assert variant.template is not None  # checked on load
            return [
                ManagedPrompt(
                    scope,
                    "Prompt",
                    name=prompt_name(props.name_prefix, task_name, variant.name),
                    description=task.description,
                    content=PromptContent(
                        name=variant.name,
                        model_id=props.model_id,
                        template=variant.template,
                        system=variant.system,
                        inference=variant.inference,
                    ),
                    key=props.key,
                    tags=tags,
                    removal_policy=props.stage.removal_policy,
                )
            ]
        return [
            ManagedPrompt(
                scope,
                step.name,
                name=prompt_name(props.name_prefix, task_name, variant.name, step.name),
                description=task.description,
                content=PromptContent(
                    name=variant.name,
                    model_id=props.model_id,
                    template=step.template,
                    system=step.system,
                    inference=variant.inference,
                ),
                key=props.key,
                tags={**tags, "step": step.name},
                removal_policy=props.stage.removal_policy,
            )
            for step in variant.steps
        ]

    def _export(self, task_name: str, task: Task, variant: Variant) -> SelectedPrompts:
        props = self._props
        prompts = self.prompts[task_name][variant.name]
        steps = [None] if variant.steps is None else [step.name for step in variant.steps]
        # Validated whole with stand-in ARNs (a deploy-time ARN is a token its pattern rejects), then the tokens
        # replace them; the function validates the deployed values when it parses the parameter.
        contract = TaskPrompts(
            task=task_name,
            variant=variant.name,
            technique=variant.technique,
            model_id=props.model_id,
            variables=list(dict.fromkeys(task.variables)),
            prompts=[PromptRef(step=step, version_arn=_STAND_IN_ARN) for step in steps],
            inference=variant.inference,
        )
        contract = contract.model_copy(
            update={
                "prompts": [
                    PromptRef.model_construct(step=step, version_arn=prompt.version_arn)
                    for step, prompt in zip(steps, prompts, strict=True)
                ]
            }
        )
        value = json.dumps(contract.model_dump(mode="json", exclude_none=True), separators=(",", ":"), sort_keys=True)
        parameter_name = PARAMETER_PATH.format(prefix=props.name_prefix, task=task_name)
        parameter = ssm.StringParameter(
            self,
            f"{task_name}Parameter",
            parameter_name=parameter_name,
            description=f"Selected prompts of task {task_name} ({variant.name}, {variant.technique})",
            string_value=value,
            tier=ssm.ParameterTier.STANDARD,
        )
        version_arns = tuple(prompt.version_arn for prompt in prompts)
        cdk.CfnOutput(
            self,
            f"Task{_pascal(task_name)}",
            value=cdk.Fn.join(",", list(version_arns)),
            description=f"Selected prompt version ARN(s) of {task_name}, in order ({variant.name}, "
            f"{variant.technique}); also in SSM {parameter_name}",
        )
        return SelectedPrompts(task_name, variant.name, variant.technique, version_arns, parameter)


def _pascal(name: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[_-]", name))
