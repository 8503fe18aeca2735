"""`AgentSettings`: usecases/<id>/agent.yaml, the use case's Bedrock agents, validated before anything is synthesized.

A supervisor agent and, optionally, collaborator agents it routes between (Bedrock multi-agent collaboration);
a single agent is the supervisor alone, without `collaboration`. Every limit below is Bedrock's own (CreateAgent,
AssociateAgentCollaborator and CreateAgentActionGroup APIs) or the kit's, said where it is declared. A use case
without agent.yaml has no Agent stack.

An action group names a function of lambdas/agent/ (`function`); its OpenAPI schema is
lambdas/agent/schemas/<function>.openapi.json, read at synth into the action group.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, ValidationError, model_validator

from stacks.config import (
    REPO_ROOT,
    USECASES_DIR,
    StrictModel,
    display_path,
    field_error,
    read_yaml_mapping,
    validation_error,
    worded,
)

AGENT_FILE = "agent.yaml"
AGENT_LAMBDAS_DIR = REPO_ROOT / "lambdas" / "agent"
SCHEMAS_DIR = AGENT_LAMBDAS_DIR / "schemas"

# The functions an action group can name: module lambdas/agent/<function>.py with handler `handler`, and the
# tables and settings the Agent stack builds for it (stacks/agent/tools.py).
TOOL_FUNCTIONS = ("retention_analyst",)

# Bedrock's limits (CreateAgent / AssociateAgentCollaborator / CreateAgentActionGroup).
MIN_INSTRUCTION = 40
MAX_INSTRUCTION = 4000
MAX_DESCRIPTION = 200
MIN_IDLE_TTL, MAX_IDLE_TTL = 60, 3600
MAX_MEMORY_DAYS = 365
# Bedrock's quota "Collaborator agents per supervisor agent" (default 10, adjustable).
MAX_COLLABORATORS = 10
# Bedrock's quota "Action groups per agent" is 20; the kit has one tool function today.
MAX_ACTION_GROUPS = 20

# The agent name ends up in the physical name <prefix>-<stage>-<name> (agent names take at most 100 characters,
# the prefix at most 34 + 5 for the stage) and in the alias name.
MAX_AGENT_NAME = 41
_AGENT_NAME = worded(
    r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$",
    "must be lowercase letters, digits and single hyphens, starting with a letter and not ending with a hyphen",
)
MAX_ACTION_GROUP_NAME = 100
_ACTION_GROUP_NAME = worded(
    r"^[a-z][a-z0-9]*(?:[_-][a-z0-9]+)*$",
    "must be lowercase letters and digits, single underscores or hyphens between them, starting with a letter",
)
_MODEL_ID = worded(
    r"^(?:(?:us|eu|apac|global|jp|au|ca|us-gov)\.)?[a-z0-9-]+\.[a-z0-9.-]+(?::[0-9]+)?(?::[0-9]+k)?$",
    "must look like `provider.model-name-v1:0`, optionally with a profile prefix (`us.`, `eu.`, `global.`)",
)

Instruction = Annotated[
    str,
    Field(
        min_length=MIN_INSTRUCTION,
        max_length=MAX_INSTRUCTION,
        description=f"What the agent does and how ({MIN_INSTRUCTION}-{MAX_INSTRUCTION} characters: Bedrock's limits).",
    ),
]


class Memory(StrictModel):
    """Bedrock session-summary memory: the agent keeps summaries of past sessions per memory id."""

    session_summary: bool = Field(True, description="Keep session summaries (Bedrock's SESSION_SUMMARY memory).")
    storage_days: int = Field(
        30, ge=1, le=MAX_MEMORY_DAYS, description="Days a summary is kept (Bedrock allows 1-365)."
    )


class ActionGroup(StrictModel):
    """Tools the agent may call: an OpenAPI schema and the Lambda function behind it."""

    name: str = Field(
        pattern=_ACTION_GROUP_NAME,
        max_length=MAX_ACTION_GROUP_NAME,
        description="Action group name, unique within the agent.",
    )
    function: Literal["retention_analyst"] = Field(
        description="Function of lambdas/agent/ that executes the actions; its OpenAPI schema is "
        "lambdas/agent/schemas/<function>.openapi.json."
    )
    description: str | None = Field(
        None, min_length=1, max_length=MAX_DESCRIPTION, description="What the tools are for (at most 200 characters)."
    )


class AgentBase(StrictModel):
    name: str = Field(
        pattern=_AGENT_NAME,
        max_length=MAX_AGENT_NAME,
        description="Agent name; the physical name is <prefix>-<stage>-<name> (Bedrock allows 100 characters: the "
        "prefix takes at most 34, the stage 5).",
    )
    description: str = Field(
        min_length=1, max_length=MAX_DESCRIPTION, description="What the agent is for (at most 200 characters)."
    )
    instruction: Instruction
    model: str | None = Field(
        None,
        pattern=_MODEL_ID,
        description="Model or inference-profile id for this agent; default: usecase.yaml `models.text`. Checked "
        "against stacks/config/models.yaml like `models.text`.",
    )
    memory: Memory | None = Field(None, description="Session-summary memory; none when absent.")
    idle_session_ttl_seconds: int = Field(
        600,
        ge=MIN_IDLE_TTL,
        le=MAX_IDLE_TTL,
        description="Seconds of inactivity after which Bedrock ends a session (60-3600).",
    )
    action_groups: list[ActionGroup] = Field(
        default_factory=list, max_length=MAX_ACTION_GROUPS, description="Tools the agent may call."
    )
    knowledge_base: bool = Field(
        False,
        description="Associate the Knowledge stack's knowledge base (an error when the Knowledge stack is off).",
    )


class Supervisor(AgentBase):
    """The agent callers invoke; with collaborators it routes between them."""

    collaboration: Literal["supervisor", "supervisor_router"] | None = Field(
        None,
        description="How the supervisor uses its collaborators: `supervisor` (plans and combines their answers) or "
        "`supervisor_router` (hands each request to one); absent when there are no collaborators.",
    )


class Collaborator(AgentBase):
    """An agent the supervisor hands requests to."""

    collaboration_instruction: str = Field(
        min_length=1, max_length=MAX_INSTRUCTION, description="When the supervisor hands a request to this agent."
    )
    relay_conversation_history: bool = Field(
        True, description="Send the conversation so far to this agent with each request."
    )


class AgentSettings(StrictModel):
    """The use case's agents: a supervisor and the collaborators it routes between."""

    supervisor: Supervisor = Field(description="The agent callers invoke.")
    collaborators: list[Collaborator] = Field(
        default_factory=list,
        max_length=MAX_COLLABORATORS,
        description="Agents the supervisor routes between (at most 10: Bedrock's default quota).",
    )

    @model_validator(mode="after")
    def _consistent(self) -> AgentSettings:
        if self.collaborators and self.supervisor.collaboration is None:
            raise field_error(
                "supervisor.collaboration", "required with collaborators: supervisor or supervisor_router"
            )
        if not self.collaborators and self.supervisor.collaboration is not None:
            raise field_error("supervisor.collaboration", "only with collaborators (a single agent has none)")
        seen: dict[str, str] = {}
        for where, agent in self.agents_with_paths():
            if agent.name in seen:
                raise field_error(f"{where}.name", f"'{agent.name}' is also the name of {seen[agent.name]}")
            seen[agent.name] = where
            groups = [group.name for group in agent.action_groups]
            for index, name in enumerate(groups):
                if name in groups[:index]:
                    raise field_error(f"{where}.action_groups.{index}.name", f"'{name}' appears twice in this agent")
        return self

    def agents_with_paths(self) -> list[tuple[str, AgentBase]]:
        """(dotted path in the file, agent): the supervisor first, then each collaborator."""
        return [("supervisor", self.supervisor)] + [
            (f"collaborators.{index}", agent) for index, agent in enumerate(self.collaborators)
        ]

    @property
    def agents(self) -> list[AgentBase]:
        return [agent for _, agent in self.agents_with_paths()]

    @property
    def functions(self) -> list[str]:
        """Tool functions some action group uses, in file order, each once."""
        return list(dict.fromkeys(group.function for agent in self.agents for group in agent.action_groups))

    @property
    def uses_knowledge_base(self) -> bool:
        return any(agent.knowledge_base for agent in self.agents)


def agent_file(usecase_id: str, root: Path = USECASES_DIR) -> Path:
    return root / usecase_id / AGENT_FILE


def load_agent_settings(usecase_id: str, root: Path = USECASES_DIR) -> AgentSettings | None:
    """Read and validate usecases/<id>/agent.yaml; None when the use case has none (no Agent stack)."""
    path = agent_file(usecase_id, root)
    if not path.is_file():
        return None
    raw = read_yaml_mapping(path)
    try:
        return AgentSettings.model_validate(raw)
    except ValidationError as exc:
        raise validation_error(display_path(path, root), exc, model=AgentSettings, document=path) from None
