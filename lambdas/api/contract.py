"""The Api functions' settings contract: what the Api stack hands the chat app, defined once.

The Api stack builds `ApiSettings` from usecases/<id>/usecase.yaml and the resources it creates (tables,
knowledge base, agent alias, guardrail, prompt parameters) and writes its JSON in the `API_SETTINGS`
environment variable (deploy-time values are CloudFormation tokens, so they cannot live in a file written at
synth). The app parses the same model (`settings_from_environment`), so the two sides cannot drift.
The safety library's settings travel beside it in `SAFETY_SETTINGS` (`common.safety.policy.SafetySettings`).

Quotas are per Cognito group: a caller in several listed groups gets the largest allowance of each kind
(`ApiSettings.quota_for`); a caller in none of them gets the `"default"` entry when there is one, and no
quota at all (the app refuses with 403 NO_QUOTA) when there is not.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

Architecture = Literal["direct", "rag", "agent", "multi-task"]
ARCHITECTURES: tuple[Architecture, ...] = get_args(Architecture)

API_SETTINGS_ENV = "API_SETTINGS"
DEFAULT_QUOTA_GROUP = "default"  # the quota of a caller in none of the listed groups


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class QuotaSpec(_Frozen):
    """What one caller may use: requests per minute (burst control) and model tokens per UTC day (cost)."""

    tokens_per_day: int = Field(ge=1)
    requests_per_minute: int = Field(ge=1)


class ApiSettings(_Frozen):
    """Every deploy-time value the chat app needs."""

    usecase: str = Field(min_length=1)
    architecture: Architecture = Field(description="The use case's default architecture.")
    per_request: tuple[Architecture, ...] = Field((), description="Other architectures a request may ask for.")
    model_id: str = Field(min_length=1, description="usecase.yaml models.text (may be an inference profile id).")
    guardrail_id: str | None = None
    guardrail_version: str | None = None
    knowledge_base_id: str | None = None
    retrieve_results: int = Field(5, ge=1, le=100)
    agent_id: str | None = None
    agent_alias_id: str | None = None
    agent_trace: bool = False
    prompt_parameters: dict[str, str] = Field(
        default_factory=dict,
        description="Task -> SSM parameter name of the Prompts stack (JSON `common.prompts.contract.TaskPrompts`).",
    )
    default_task: str | None = None
    prompt_router_arn: str | None = Field(None, description="multi-task: Bedrock intelligent prompt routing.")
    hosted_endpoint: str | None = Field(
        None, description="direct on the Scale stack's SageMaker endpoint instead of Bedrock (features.hosted_model)."
    )
    hosted_inference_component: str | None = Field(None, description="The endpoint's inference component, if any.")
    max_prompt_chars: int = Field(4000, ge=1, le=100_000)
    history_tokens: int = Field(2000, ge=0, description="The conversation window, in estimated tokens.")
    conversation_days: int = Field(30, ge=1, description="TTL of a conversation.")
    conversations_table: str = Field(min_length=1)
    quotas_table: str = Field(min_length=1)
    telemetry_table: str = Field(min_length=1)
    quotas: dict[str, QuotaSpec] = Field(description="Per Cognito group; see the module docstring.")
    metrics_namespace: str = Field(min_length=1)
    cors_origins: tuple[str, ...] = Field(
        (), description="Origins a browser may call from (api.yaml): proxy integrations answer CORS themselves."
    )

    @model_validator(mode="after")
    def _consistent(self) -> ApiSettings:
        allowed = self.architectures
        if "rag" in allowed and not self.knowledge_base_id:
            raise ValueError("the rag architecture needs knowledge_base_id")
        if "agent" in allowed and not (self.agent_id and self.agent_alias_id):
            raise ValueError("the agent architecture needs agent_id and agent_alias_id")
        if self.default_task is not None and self.default_task not in self.prompt_parameters:
            raise ValueError(f"default_task {self.default_task!r} is not a key of prompt_parameters")
        if (self.guardrail_id is None) != (self.guardrail_version is None):
            raise ValueError("guardrail_id and guardrail_version go together")
        return self

    @property
    def architectures(self) -> tuple[Architecture, ...]:
        """The architectures a request may name: the default first, then the per-request ones."""
        return (self.architecture, *(a for a in self.per_request if a != self.architecture))

    @property
    def tasks(self) -> tuple[str, ...]:
        """The tasks a request may name (the Prompts stack's parameters), sorted."""
        return tuple(sorted(self.prompt_parameters))

    def quota_for(self, groups: Iterable[str]) -> QuotaSpec | None:
        """The caller's allowance: the largest of each kind over its listed groups, else the default, else None."""
        specs = [self.quotas[group] for group in groups if group in self.quotas and group != DEFAULT_QUOTA_GROUP]
        if not specs:
            return self.quotas.get(DEFAULT_QUOTA_GROUP)
        return QuotaSpec(
            tokens_per_day=max(spec.tokens_per_day for spec in specs),
            requests_per_minute=max(spec.requests_per_minute for spec in specs),
        )


@cache
def _parse(value: str) -> ApiSettings:
    return ApiSettings.model_validate_json(value)


def settings_from_environment(environ: Mapping[str, str]) -> ApiSettings:
    """Parse the `API_SETTINGS` JSON (the server passes ``os.environ``); parsed once per distinct value."""
    return _parse(environ[API_SETTINGS_ENV])
