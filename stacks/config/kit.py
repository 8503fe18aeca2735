"""`KitConfig`: the deployment settings, from cdk.json context and `-c key=value` overrides.

app.py is the only caller that reads context (through `kit_config_from_context`); stacks receive typed props.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import Field, TypeAdapter, ValidationError, model_validator

from stacks.config.base import ConfigError, StrictModel, validation_error, worded

Stage = Literal["dev", "prod"]

# The longest physical name the kit derives from the prefix is an EventBridge rule (64 characters at most):
# "<prefix>-prod-knowledge-sync-published" leaves 64 - 30 = 34 characters for the prefix.
MAX_PREFIX = 34
# A use-case id starts the default prefix <project>-<usecase>: with the shortest project (3 characters) and its
# hyphen, 30 are left. A longer id could only ever deploy under an explicit prefix.
MAX_USECASE_ID = MAX_PREFIX - 4

# Commercial regions whose CloudFormation has all four AWS::Comprehend model and endpoint types
# (cfn-lint's provider schemas; eu-west-1, for one, has only DocumentClassifier).
CUSTOM_SAFETY_MODEL_REGIONS = frozenset({"us-east-1", "us-west-2", "eu-central-1", "ap-south-1"})

_ACCOUNT = worded(r"^\d{12}$", "must be 12 digits")
_REGION = worded(r"^[a-z]{2}(-gov)?-[a-z]+-\d$", "must look like an AWS region, e.g. `eu-west-1`")
_EMAIL = worded(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", "must be an email address")
# A use case's id: KitConfig's `usecase` names its folder, UseCase's `id` repeats it.
USECASE_ID_PATTERN = worded(
    r"^[a-z0-9][a-z0-9-]*$", "must be lowercase letters, digits and hyphens, starting with a letter or digit"
)
_PROJECT = worded(
    r"^[a-z][a-z0-9-]{1,18}[a-z0-9]$",
    "must be 3-20 lowercase letters, digits and hyphens, starting with a letter and not ending with a hyphen",
)
_PREFIX = worded(
    r"^[a-z][a-z0-9-]*[a-z0-9]$",
    "must be 2 or more lowercase letters, digits and hyphens, starting with a letter and not ending with a hyphen",
)


_BOOLEAN = TypeAdapter(bool)


def _is_boolean(value: Any) -> bool:
    """What pydantic's lax bool accepts (its docs, "Standard Library Types: bool"): bools, 0 and 1, and those words."""
    try:
        _BOOLEAN.validate_python(value)
    except ValidationError:
        return False
    return True


class Features(StrictModel):
    """Switches for the optional stacks. Foundation (key, access logs, alarm topic) is always deployed."""

    data: bool = Field(True, description="Data stack: evaluation pipeline with PII redaction and bias profile.")
    knowledge: bool = Field(True, description="Knowledge stack: Bedrock knowledge base on the curated data.")
    guardrails: bool = Field(True, description="Guardrails stack: Bedrock guardrail from guardrail.yaml.")
    agent: bool = Field(
        True,
        description="Agent stack: the Bedrock agents of agent.yaml, their tools and tables (built when the use case "
        "has an agent.yaml; every agent applies the guardrail).",
    )
    prompts: bool = Field(
        True,
        description="Prompts stack: Bedrock Prompt Management variants and versions from prompts.yaml (built only "
        "for a use case that has the file).",
    )
    api: bool = Field(
        True,
        description="Api stack: the REST chat API with response streaming, Cognito, WAF, quotas and conversation "
        "memory (needs guardrails; uses the knowledge base, agent and prompts when they are on; its WAF web ACL bills "
        "monthly even idle).",
    )
    web: bool = Field(
        True,
        description="Web stack: the chat page on CloudFront (S3 with origin access control), same-origin with the "
        "Api, and its Cognito managed-login client (needs api; left unset, it follows api).",
    )
    observability: bool = Field(
        True,
        description="Observability stack: one dashboard for the journey, alarms with meaning, investigation queries "
        "(docs/observability.md).",
    )
    invocation_logging: bool = Field(
        False,
        description="Bedrock model invocation logging to a CMK-encrypted log group and S3 prefix (Observability "
        "stack). "
        "Opt-in: the setting is one per account and region; the stack records the setting it finds and restores it "
        "on delete (docs/observability.md).",
    )
    custom_safety_models: bool = Field(
        False,
        description="Comprehend custom toxicity classifier and entity recognizer with endpoints "
        "(Guardrails stack; endpoints bill per hour while they exist).",
    )
    hosted_model: bool = Field(
        False,
        description="Scale stack: an open-weights model (optionally quantized) on a SageMaker endpoint with the LMI "
        "container, from scale.yaml `hosted_model` (bills per instance-hour while an instance runs).",
    )
    fine_tuning: bool = Field(
        False,
        description="Scale stack: the Bedrock fine-tuning workflow on the thumbs-up export, gated on the golden set "
        "and a human approval, from scale.yaml `fine_tuning` (needs data; jobs and promotions bill when they run).",
    )

    @model_validator(mode="before")
    @classmethod
    def _web_follows_api(cls, data: Any) -> Any:
        """Unset, `web` takes api's value: `-c features.api=false` alone keeps building (the page needs the Api).
        Only a value that is a boolean is copied: a bad `api` is one error on `features.api`, not a second on a
        `web` the user never set."""
        if isinstance(data, Mapping) and "web" not in data and "api" in data and _is_boolean(data["api"]):
            return {**data, "web": data["api"]}
        return data

    @model_validator(mode="after")
    def _dependencies(self) -> Features:
        if self.custom_safety_models and not self.guardrails:
            raise ValueError("custom_safety_models needs guardrails")
        if self.knowledge and not self.data:
            raise ValueError("knowledge needs data (it indexes the curated bucket)")
        if self.agent and not self.guardrails:
            raise ValueError("agent needs guardrails (every agent applies the use case's guardrail)")
        if self.fine_tuning and not self.data:
            raise ValueError("fine_tuning needs data (it trains on the curated bucket's fine-tuning export)")
        if self.api and not self.guardrails:
            raise ValueError("api needs guardrails (the chat pipeline applies the use case's guardrail)")
        if self.web and not self.api:
            raise ValueError("web needs api (the chat page calls the Api and signs in with its user pool)")
        if self.invocation_logging and not self.observability:
            raise ValueError("invocation_logging needs observability (its stack holds the logging destinations)")
        return self


class Environment(StrictModel):
    """Where one stage deploys. Leave both empty for an environment-agnostic synth."""

    account: Annotated[str, Field(pattern=_ACCOUNT)] | None = Field(None, description="12-digit AWS account id.")
    region: Annotated[str, Field(pattern=_REGION)] | None = Field(None, description="AWS region, e.g. eu-west-1.")


def _dev_only() -> dict[Stage, Environment]:
    return {"dev": Environment(account=None, region=None)}


class KitConfig(StrictModel):
    """Deployment settings. Keys are cdk.json context keys; `-c features.data=false` sets nested ones."""

    project: str = Field(
        "journey",
        pattern=_PROJECT,
        description="The kit's name: the `project` tag and the start of the default name prefix <project>-<usecase>.",
    )
    stage: Literal["dev", "prod", "all"] = Field(
        "dev", description="Stage to synthesize: dev, prod, or all configured."
    )
    usecase: str = Field(
        "customer-retention",
        pattern=USECASE_ID_PATTERN,
        max_length=MAX_USECASE_ID,
        description="Folder under usecases/ to deploy (the use case's id: at most 30 characters, so that the "
        "default prefix <project>-<usecase> can fit 34).",
    )
    alarm_email: str | None = Field(
        None,
        pattern=_EMAIL,
        description="Optional address subscribed to the alarm topic.",
    )
    environments: dict[Stage, Environment] = Field(
        default_factory=_dev_only,
        description="Stages that exist, each with an optional account and region.",
    )
    prefix: str | None = Field(
        None,
        pattern=_PREFIX,
        max_length=MAX_PREFIX,
        description="Prefix of every stack and physical name: <prefix>-<stage>-<Part>. Defaults to "
        "<project>-<usecase>, so several use cases deploy side by side in one account; set it when that is "
        f"longer than {MAX_PREFIX} characters.",
    )
    features: Features = Field(default_factory=Features, description="Optional stacks on or off.")
    powertools_layer: Literal["ssm", "arn"] = Field(
        "ssm",
        description="Where functions get the Powertools layer: `ssm`, the public SSM parameter of the pinned "
        "release resolved at deploy time (the parameter must exist in the region: `make deploy` checks it), or "
        "`arn`, the published layer ARN of `powertools_layer_version` (docs/deploy.md).",
    )
    powertools_layer_version: int | None = Field(
        None,
        ge=1,
        description="With `powertools_layer=arn`: the layer version of the pinned aws-lambda-powertools release "
        "(the number at the end of the layer ARN the release's SSM parameter holds; docs/deploy.md).",
    )

    @property
    def name_prefix(self) -> str:
        """What stack and physical names start with (before the stage)."""
        return self.prefix or f"{self.project}-{self.usecase}"

    def cross_field_problems(self) -> list[tuple[str, str]]:
        """(field, reason) for settings that are each valid but do not fit together."""
        problems = []
        if self.stage != "all" and self.stage not in self.environments:
            problems.append(("stage", f"'{self.stage}' has no entry under 'environments'"))
        if self.prefix is None and len(self.name_prefix) > MAX_PREFIX:
            problems.append(
                (
                    "prefix",
                    f"the default '{self.name_prefix}' (<project>-<usecase>) is {len(self.name_prefix)} characters, "
                    f"over {MAX_PREFIX}: set a shorter one with -c prefix=...",
                )
            )
        if self.powertools_layer == "arn" and self.powertools_layer_version is None:
            problems.append(
                (
                    "powertools_layer_version",
                    "required with powertools_layer=arn: the layer version of the pinned Powertools release "
                    "(see docs/deploy.md)",
                )
            )
        if self.powertools_layer == "ssm" and self.powertools_layer_version is not None:
            problems.append(
                ("powertools_layer_version", "only used with powertools_layer=arn (the ssm source pins the release)")
            )
        supported = ", ".join(sorted(CUSTOM_SAFETY_MODEL_REGIONS))
        for stage, environment in sorted(self.environments.items()):
            region = environment.region
            if self.features.custom_safety_models and region and region not in CUSTOM_SAFETY_MODEL_REGIONS:
                problems.append(
                    (
                        f"environments.{stage}.region",
                        f"{region} has no CloudFormation resources for Comprehend custom model endpoints, which "
                        f"features.custom_safety_models needs; use one of {supported}",
                    )
                )
        return problems

    def selected_stages(self) -> list[Stage]:
        """The stages to build: the one asked for, or every configured one for `stage=all`."""
        if self.stage == "all":
            return sorted(self.environments)
        return [self.stage]


# Context keys CDK itself sets; they are not kit settings.
_CDK_CONTEXT_PREFIXES = ("@aws-cdk", "aws:cdk", "aws-cdk", "cdk-", "acknowledged-issue-numbers", "@cdklabs")


def kit_config_from_context(context: Mapping[str, Any], source: str = "cdk.json context") -> KitConfig:
    """Build a `KitConfig` from flat CDK context, expanding dotted keys (`features.data`)."""
    data: dict[str, Any] = {}
    # Nested mappings from cdk.json first, then dotted `-c` overrides on top of them.
    kit_items = [(k, v) for k, v in context.items() if not k.startswith(_CDK_CONTEXT_PREFIXES)]
    for key, value in sorted(kit_items, key=lambda kv: "." in kv[0]):
        node = data
        *parents, leaf = key.split(".")
        for part in parents:
            existing = node.get(part)
            node[part] = dict(existing) if isinstance(existing, Mapping) else {}
            node = node[part]
        node[leaf] = value
    try:
        config = KitConfig.model_validate(data)
    except ValidationError as exc:
        raise validation_error(source, exc, model=KitConfig) from None
    problems = config.cross_field_problems()
    if problems:
        raise ConfigError.of([(source, field, reason) for field, reason in problems])
    return config
