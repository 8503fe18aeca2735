"""What the state machine passes between the evaluation steps: names, counts and keys, never answers."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class RunTaskRequest(_Model):
    run_id: str = Field(min_length=1, max_length=80)  # the execution's name
    task: str = Field(min_length=1)


class TaskRun(_Model):
    """`run_task`'s answer: the task, its case counts and where its predictions are."""

    task: str
    cases: int
    blocked: int
    errors: int
    predictions_key: str


class ScoreRequest(_Model):
    run_id: str = Field(min_length=1, max_length=80)
    results: list[TaskRun] = Field(default_factory=list)
