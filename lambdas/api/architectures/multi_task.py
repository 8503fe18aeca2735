"""multi-task: one model serves several tasks; the request's explicit ``task`` selects the task's prompt.

A request without a task, or with one the Prompts stack does not export, is refused with UNKNOWN_TASK (400)
before any model call (the pipeline validates it; `run` checks again). With ``prompt_router_arn`` set, the router
ARN is the Converse ``modelId``: Bedrock intelligent prompt routing picks the model of the family per request. A
task whose selected variant is multi-prompt runs through `common.prompts.run_chain`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator

from api.architectures.base import ModelEvent, ModelTurn
from api.architectures.converse import ConverseModel, run_task
from api.chat import ChatError
from api.prompts import PromptSource


class MultiTaskArchitecture:
    name = "multi-task"

    def __init__(
        self,
        model: ConverseModel,
        prompts: PromptSource,
        *,
        tasks: Collection[str],
        prompt_router_arn: str | None = None,
    ) -> None:
        self._model = model
        self._prompts = prompts
        self._tasks = frozenset(tasks)
        self._router = prompt_router_arn

    def run(self, turn: ModelTurn) -> Iterator[ModelEvent]:
        task = turn.request.task
        if task is None or task not in self._tasks:
            raise ChatError("UNKNOWN_TASK", 400, f"multi-task needs a task, one of: {', '.join(sorted(self._tasks))}.")
        yield from run_task(self._model, self._prompts, task, turn, model_id=self._router)
