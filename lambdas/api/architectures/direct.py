"""direct: the user's turn (and the conversation window) to the model with ConverseStream, guardrail attached.

The prompt is the selected version of the request's task (or the default task) from the Prompts stack, rendered
with `common.prompts.render` (`api.prompts.compose`); its version ARN is reported in the answer. Without any task
the turn goes to the model as the delimited user text. A multi-prompt variant runs as a chain.
"""

from __future__ import annotations

from collections.abc import Iterator

from api.architectures.base import ModelEvent, ModelTurn
from api.architectures.converse import ConverseModel, run_task
from api.prompts import PromptSource


class DirectArchitecture:
    name = "direct"

    def __init__(self, model: ConverseModel, prompts: PromptSource, *, default_task: str | None = None) -> None:
        self._model = model
        self._prompts = prompts
        self._default_task = default_task

    def run(self, turn: ModelTurn) -> Iterator[ModelEvent]:
        yield from run_task(self._model, self._prompts, turn.request.task or self._default_task, turn)
