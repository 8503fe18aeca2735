"""The four architectures behind one protocol (`base.ChatArchitecture`): direct, rag, agent, multi-task.

`build` constructs only the architectures the settings allow (the default plus ``per_request``), importing each
module on first use: a function that serves only ``direct`` never imports the rag or agent code.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from common.safety.passages import PassagePolicy

from api.architectures.base import ChatArchitecture
from api.architectures.converse import ConverseModel, Guardrail
from api.contract import ApiSettings, Architecture
from api.metrics import Counter
from api.prompts import PromptSource


def build(
    settings: ApiSettings,
    *,
    bedrock_runtime: Any,
    bedrock_agent_runtime: Any,
    prompts: PromptSource,
    metrics: Counter,
    logger: Any,
    passages: PassagePolicy | None = None,
    sagemaker_runtime: Any = None,
) -> dict[Architecture, ChatArchitecture]:
    guardrail = (
        Guardrail(settings.guardrail_id, settings.guardrail_version)
        if settings.guardrail_id and settings.guardrail_version
        else None
    )
    model = ConverseModel(bedrock_runtime, settings.model_id, guardrail)

    def direct() -> ChatArchitecture:
        if settings.hosted_endpoint:  # the Scale stack's hosted model serves direct (features.hosted_model)
            hosted = importlib.import_module("api.architectures.hosted")
            runtime = sagemaker_runtime or importlib.import_module("common.clients").client("sagemaker-runtime")
            return hosted.HostedArchitecture(  # type: ignore[no-any-return]
                runtime,
                settings.hosted_endpoint,
                prompts,
                inference_component=settings.hosted_inference_component,
                default_task=settings.default_task,
            )
        module = importlib.import_module("api.architectures.direct")
        return module.DirectArchitecture(model, prompts, default_task=settings.default_task)  # type: ignore[no-any-return]

    def rag() -> ChatArchitecture:
        module = importlib.import_module("api.architectures.rag")
        return module.RagArchitecture(  # type: ignore[no-any-return]
            agent_runtime=bedrock_agent_runtime,
            knowledge_base_id=str(settings.knowledge_base_id),
            model=model,
            prompts=prompts,
            metrics=metrics,
            logger=logger,
            retrieve_results=settings.retrieve_results,
            default_task=settings.default_task,
            policy=passages,
        )

    def agent() -> ChatArchitecture:
        module = importlib.import_module("api.architectures.agent")
        return module.AgentArchitecture(  # type: ignore[no-any-return]
            bedrock_agent_runtime,
            agent_id=str(settings.agent_id),
            agent_alias_id=str(settings.agent_alias_id),
            trace=settings.agent_trace,
            logger=logger,
        )

    def multi_task() -> ChatArchitecture:
        module = importlib.import_module("api.architectures.multi_task")
        return module.MultiTaskArchitecture(  # type: ignore[no-any-return]
            model, prompts, tasks=settings.tasks, prompt_router_arn=settings.prompt_router_arn
        )

    builders: dict[Architecture, Callable[[], ChatArchitecture]] = {
        "direct": direct,
        "rag": rag,
        "agent": agent,
        "multi-task": multi_task,
    }
    return {name: builders[name]() for name in settings.architectures}
