"""The fine-tuning export's settings contract: what the Api stack hands `api.finetune_export`, defined once.

The Api stack builds `ExportSettings` and passes its JSON in the ``EXPORT_SETTINGS`` environment variable
(deploy-time names are CloudFormation tokens). ``pii`` is the data stage's own redaction policy,
`pipeline.contract.PiiPolicy`, built from the use case's data.yaml ``pii`` section exactly as the Data stack
builds it (`stacks.data.settings.DataSettings.contract().pii`), and ``hash_salt_secret_arn`` is the Data
stack's hash-salt secret: the export masks, drops and hashes exactly as the data stage does, and a value
hashed here equals the same value hashed in the curated data.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache

from pipeline.contract import PiiPolicy
from pydantic import BaseModel, ConfigDict, Field

EXPORT_SETTINGS_ENV = "EXPORT_SETTINGS"


class ExportSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    usecase: str = Field(min_length=1)
    telemetry_table: str = Field(min_length=1, description="The Api telemetry table (feedback and exchanges).")
    curated_bucket: str = Field(min_length=1, description="The Data stack's curated bucket.")
    prefix: str = Field("finetune/", pattern=r"^[a-z0-9._-]+(/[a-z0-9._-]+)*/$", description="Key prefix, ends in /.")
    pii: PiiPolicy = Field(description="data.yaml's pii section as the Data stack's redact step receives it.")
    hash_salt_secret_arn: str = Field(min_length=1, description="The Data stack's hash-salt secret.")
    system_prompt: str | None = Field(None, min_length=1, description="The record's system turn; None: none.")
    max_record_tokens: int = Field(
        32_000, ge=100, description="A record (system + prompt + answer) estimated larger is left out (too_long)."
    )


@cache
def _parse(value: str) -> ExportSettings:
    return ExportSettings.model_validate_json(value)


def export_settings_from_environment(environ: Mapping[str, str]) -> ExportSettings:
    """Parse ``EXPORT_SETTINGS`` (the handler passes ``os.environ``); parsed once per distinct value."""
    return _parse(environ[EXPORT_SETTINGS_ENV])
