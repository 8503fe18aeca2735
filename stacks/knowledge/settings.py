"""Knowledge-base settings of a use case, from usecases/<id>/knowledge.yaml.

`UseCase` (stacks/config/usecase.py) names the embedding model and its dimensions; this file adds what only
the knowledge stage needs: how documents are chunked, which vector store holds the embeddings and
when the ingestion sync runs. A use case without knowledge.yaml gets the defaults below.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from stacks.config import USECASES_DIR, StrictModel, display_path, read_yaml_mapping, validation_error

KNOWLEDGE_FILE = "knowledge.yaml"

# EventBridge schedule expressions: rate(1 day), rate(6 hours), cron(0 3 * * ? *).
_RATE = re.compile(r"^rate\((?:1 (?:minute|hour|day)|(?:[2-9]|[1-9]\d+) (?:minutes|hours|days))\)$")
_CRON = re.compile(r"^cron\(\S+ \S+ \S+ \S+ \S+ \S+\)$")

# Titan Text Embeddings v2 accepts up to 8,192 tokens per input; Bedrock caps chunk sizes there too.
_MAX_CHUNK_TOKENS = 8192


# Discriminator values pydantic adds to error locations inside `chunking` (not fields a person wrote).
CHUNKING_TAGS = frozenset({"fixed", "hierarchical", "semantic", "none"})


class FixedChunking(StrictModel):
    """Split into chunks of about ``max_tokens`` tokens that overlap by ``overlap_percentage``."""

    strategy: Literal["fixed"]
    max_tokens: int = Field(300, ge=1, le=_MAX_CHUNK_TOKENS, description="Chunk size in tokens.")
    overlap_percentage: int = Field(20, ge=1, le=99, description="Share of a chunk repeated in the next one.")


class HierarchicalChunking(StrictModel):
    """Search small child chunks, return their larger parent chunk as context."""

    strategy: Literal["hierarchical"]
    parent_max_tokens: int = Field(
        1500, ge=1, le=_MAX_CHUNK_TOKENS, description="Size of the parent chunk returned as context."
    )
    child_max_tokens: int = Field(
        300, ge=1, le=_MAX_CHUNK_TOKENS, description="Size of the child chunks searched; below parent_max_tokens."
    )
    overlap_tokens: int = Field(60, ge=1, description="Tokens shared by neighbouring chunks; below child_max_tokens.")

    @model_validator(mode="after")
    def _child_fits_in_parent(self) -> HierarchicalChunking:
        if self.child_max_tokens >= self.parent_max_tokens:
            raise ValueError("child_max_tokens must be smaller than parent_max_tokens")
        if self.overlap_tokens >= self.child_max_tokens:
            raise ValueError("overlap_tokens must be smaller than child_max_tokens")
        return self


class SemanticChunking(StrictModel):
    """Split where the meaning of neighbouring sentences diverges (costs embedding calls at ingestion)."""

    strategy: Literal["semantic"]
    max_tokens: int = Field(300, ge=1, le=_MAX_CHUNK_TOKENS, description="Chunk size in tokens.")
    buffer_size: Literal[0, 1] = Field(0, description="Sentences on each side compared with the current one.")
    breakpoint_percentile_threshold: int = Field(
        95, ge=50, le=99, description="Dissimilarity percentile at which a new chunk starts (higher: fewer chunks)."
    )


class NoChunking(StrictModel):
    """Each file is one chunk: for documents that are already short and self-contained."""

    strategy: Literal["none"]


Chunking = Annotated[
    FixedChunking | HierarchicalChunking | SemanticChunking | NoChunking, Field(discriminator="strategy")
]


class SyncSettings(StrictModel):
    """When the ingestion sync runs and how it waits for a busy data source."""

    schedule: str | None = Field(
        "rate(1 day)",
        description="EventBridge rate() or cron() expression for a catch-up sync; null disables it.",
    )
    poll_interval_seconds: int = Field(60, ge=10, le=900, description="Delay between GetIngestionJob polls.")
    retry_delay_seconds: int = Field(
        300,
        ge=30,
        le=900,
        description="Delay before retrying while another ingestion job holds the data source (at most 900: SQS's "
        "longest message delay).",
    )
    give_up_after_hours: int = Field(
        24, ge=1, le=336, description="After this, an unfinished request goes to the dead-letter queue (alarmed)."
    )

    @field_validator("schedule")
    @classmethod
    def _is_schedule_expression(cls, value: str | None) -> str | None:
        if value is not None and not (_RATE.match(value) or _CRON.match(value)):
            raise ValueError("must be an EventBridge expression like 'rate(1 day)' or 'cron(0 3 * * ? *)'")
        return value


class KnowledgeSettings(StrictModel):
    """How the use case's curated data becomes a knowledge base."""

    vector_store: Literal["s3vectors", "opensearch"] = Field(
        "s3vectors",
        description="s3vectors (near-zero idle cost) or opensearch (hybrid search, billed per OCU-hour even idle).",
    )
    chunking: Chunking = Field(
        default_factory=lambda: FixedChunking(strategy="fixed"),
        description="How documents are split before embedding (semantic chunking calls the embedding model "
        "during ingestion).",
    )
    sync: SyncSettings = Field(
        default_factory=SyncSettings,
        description="When the ingestion sync runs and how it waits for a busy data source.",
    )


def load_knowledge_settings(usecase_id: str, root: Path = USECASES_DIR) -> KnowledgeSettings:
    """Read usecases/<id>/knowledge.yaml; defaults when the use case has none."""
    path = root / usecase_id / KNOWLEDGE_FILE
    if not path.is_file():
        return KnowledgeSettings()
    raw = read_yaml_mapping(path)
    try:
        return KnowledgeSettings.model_validate(raw)
    except ValidationError as exc:
        raise validation_error(
            display_path(path, root), exc, union_tags=CHUNKING_TAGS, model=KnowledgeSettings
        ) from None
