"""The settings contract of the knowledge-base sync function: what the Knowledge stack hands it, defined once.

The Knowledge stack builds `SyncSettings` from usecases/<id>/knowledge.yaml (stacks/knowledge/settings.py,
whose `sync` section is the authors' model with descriptions and limits) and the resources it creates, and
writes its JSON into the one environment variable ``SYNC_SETTINGS``. The handler parses the same model with
`model_validate_json` (`SyncSettings.from_environment`), so the two sides cannot drift: a field renamed on
one side fails mypy at the stack and validation at the function.

The ids and the queue URL are CloudFormation values at synth (CDK tokens such as ``${Token[TOKEN.42]}``), so
they carry no format pattern the stack could not satisfy: they are checked to be present, and AWS answers a
wrong one at the first call.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field

from knowledge.ingestion import MAX_SQS_DELAY_SECONDS, SyncTarget, SyncTiming

ENVIRONMENT_VARIABLE = "SYNC_SETTINGS"


class SyncSettings(BaseModel):
    """Which data source to sync, the queue its follow-ups go to, and how long it waits between steps."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    knowledge_base_id: str = Field(min_length=1)
    data_source_id: str = Field(min_length=1)
    queue_url: str = Field(min_length=1, description="The sync queue: deferred retries and polls are sent here.")
    poll_interval_seconds: int = Field(ge=1, le=MAX_SQS_DELAY_SECONDS)
    retry_delay_seconds: int = Field(ge=1, le=MAX_SQS_DELAY_SECONDS)
    give_up_after_seconds: int = Field(ge=1, description="A request older than this goes to the dead-letter queue.")

    @property
    def target(self) -> SyncTarget:
        return SyncTarget(knowledge_base_id=self.knowledge_base_id, data_source_id=self.data_source_id)

    @property
    def timing(self) -> SyncTiming:
        return SyncTiming(
            poll_interval_seconds=self.poll_interval_seconds,
            retry_delay_seconds=self.retry_delay_seconds,
            give_up_after=timedelta(seconds=self.give_up_after_seconds),
        )

    @classmethod
    def from_environment(cls, environment: Mapping[str, str]) -> SyncSettings:
        """Parse the JSON the stack put in ``SYNC_SETTINGS`` (the handler passes ``os.environ``)."""
        return cls.model_validate_json(environment[ENVIRONMENT_VARIABLE])
