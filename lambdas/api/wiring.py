"""The chat pipeline wired to the real AWS clients: one definition for the chat functions (`api.server`) and the
scheduled quality evaluation (lambdas/evaluation), which runs its golden set through the very same pipeline.

Kept apart from `api.server` so the evaluation does not import the web app (Starlette) it never serves.
"""

from __future__ import annotations

from typing import Any

from common.safety.policy import SafetySettings

from api.contract import ApiSettings
from api.pipeline import ChatPipeline, Clients


def real_pipeline(settings: ApiSettings, safety_settings: SafetySettings, *, service: str, logger: Any) -> ChatPipeline:
    """The chat pipeline over the real AWS clients (one per process): what the chat functions serve, and what the
    scheduled quality evaluation (lambdas/evaluation) runs its golden set through, in process."""
    from common.clients import client  # noqa: PLC0415
    from common.safety.chain import PowertoolsMetricsSink, SafetyChain, SafetyClients  # noqa: PLC0415

    from api.metrics import PowertoolsCounter  # noqa: PLC0415
    from api.prompts import ManagedPrompts  # noqa: PLC0415

    namespace = settings.metrics_namespace
    bedrock_runtime = client("bedrock-runtime")
    safety = SafetyChain(
        safety_settings,
        SafetyClients(comprehend=client("comprehend"), bedrock_runtime=bedrock_runtime),
        logger=logger,
        metrics=PowertoolsMetricsSink(namespace, service),
    )
    prompts = ManagedPrompts(settings.prompt_parameters, ssm=client("ssm"), bedrock_agent=client("bedrock-agent"))
    clients = Clients(bedrock_runtime=bedrock_runtime, bedrock_agent_runtime=client("bedrock-agent-runtime"))
    return ChatPipeline(
        settings, safety, clients, prompts, metrics=PowertoolsCounter(namespace, service), logger=logger
    )
