"""Every file of one use case, loaded and validated together before any stack is built.

A bad file anywhere stops the app with one `ConfigError` line and nothing synthesized, so a stage
never half-builds from a use case whose guardrail policy, say, is broken.

It sits beside stage.py rather than in stacks/config/: it gathers the file model of every stage package, and
stacks/config/ is what those packages build on, so it must not import them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from stacks.agent.settings import AgentSettings, load_agent_settings
from stacks.api.settings import ApiFileSettings, load_api_settings
from stacks.config import USECASES_DIR, UseCase, load_usecase
from stacks.data.settings import DataSettings, load_data_settings
from stacks.guardrails.policy import GuardrailPolicy, load_guardrail_policy
from stacks.guardrails.safety_settings import SafetyConfig, load_safety_config
from stacks.knowledge.settings import KnowledgeSettings, load_knowledge_settings
from stacks.observability.settings import ObservabilitySettings, load_observability_settings
from stacks.prompts.settings import PROMPTS_FILE, PromptsSettings, load_prompts_settings
from stacks.scale.settings import ScaleSettings, load_scale_files

PROMPTS_NEED = f"{PROMPTS_FILE} (each prompt runs on models.text)"


@dataclass(frozen=True)
class UseCaseFiles:
    usecase: UseCase
    data: DataSettings
    knowledge: KnowledgeSettings
    guardrail_policy: GuardrailPolicy
    safety: SafetyConfig
    prompts: PromptsSettings | None = None  # prompts.yaml is optional: without it, no Prompts stack
    agent: AgentSettings | None = None  # agent.yaml is optional: without it, no Agent stack
    api: ApiFileSettings = field(default_factory=ApiFileSettings)  # api.yaml is optional: without it, the defaults
    observability: ObservabilitySettings = field(default_factory=ObservabilitySettings)  # observability.yaml (optional)
    scale: ScaleSettings = field(default_factory=ScaleSettings)  # scale.yaml's Scale-stack sections (optional)
    golden_dir: Path | None = None  # usecases/<id>/golden when it holds a <task>.jsonl golden set (optional)


def load_usecase_files(usecase_id: str, root: Path = USECASES_DIR) -> UseCaseFiles:
    usecase = load_usecase(usecase_id, root)
    prompts = load_prompts_settings(usecase_id, root)
    if prompts is not None:
        usecase.models_for(PROMPTS_NEED)
    return UseCaseFiles(
        usecase=usecase,
        data=load_data_settings(usecase, root),
        knowledge=load_knowledge_settings(usecase_id, root),
        guardrail_policy=load_guardrail_policy(usecase_id, root),
        safety=load_safety_config(usecase_id, root),
        prompts=prompts,
        agent=load_agent_settings(usecase_id, root),
        api=load_api_settings(usecase_id, root),
        observability=load_observability_settings(usecase_id, root),
        scale=load_scale_files(usecase_id, root),
        golden_dir=golden_dir(usecase_id, root),
    )


def golden_dir(usecase_id: str, root: Path = USECASES_DIR) -> Path | None:
    """The use case's golden folder when it holds a golden set (one <task>.jsonl a task), else None: the scheduled
    quality evaluation is built only with one."""
    folder = root / usecase_id / "golden"
    return folder if any(folder.glob("*.jsonl")) else None
