"""Every file of one use case, loaded and validated together before any stack is built.

A bad file anywhere stops the app with one `ConfigError` line and nothing synthesized, so a stage
never half-builds from a use case whose guardrail policy, say, is broken.

It sits beside stage.py rather than in stacks/config/: it gathers the file model of every stage package, and
stacks/config/ is what those packages build on, so it must not import them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from stacks.config import USECASES_DIR, UseCase, load_usecase
from stacks.data.settings import DataSettings, load_data_settings
from stacks.guardrails.policy import GuardrailPolicy, load_guardrail_policy
from stacks.guardrails.safety_settings import SafetyConfig, load_safety_config
from stacks.knowledge.settings import KnowledgeSettings, load_knowledge_settings


@dataclass(frozen=True)
class UseCaseFiles:
    usecase: UseCase
    data: DataSettings
    knowledge: KnowledgeSettings
    guardrail_policy: GuardrailPolicy
    safety: SafetyConfig


def load_usecase_files(usecase_id: str, root: Path = USECASES_DIR) -> UseCaseFiles:
    usecase = load_usecase(usecase_id, root)
    return UseCaseFiles(
        usecase=usecase,
        data=load_data_settings(usecase, root),
        knowledge=load_knowledge_settings(usecase_id, root),
        guardrail_policy=load_guardrail_policy(usecase_id, root),
        safety=load_safety_config(usecase_id, root),
    )
