"""`ObservabilitySettings`: usecases/<id>/observability.yaml, the thresholds the journey's alarms hold the use case to.

The file is optional: without it the defaults below apply. Ratios are fractions (0.25 is 25%); a ratio alarm
waits for `min_samples` feedback or chat events in its period, so three thumbs-down out of four at night do not
page anyone. Every problem is one line naming the file, the field and the reason.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, ValidationError, model_validator

from stacks.config import USECASES_DIR, StrictModel, display_path, read_yaml_mapping, validation_error

OBSERVABILITY_FILE = "observability.yaml"


class Price(StrictModel):
    """USD per 1,000 tokens, for a model the kit's price table (lambdas/common/evaluation/cost.py) lacks."""

    input_per_1k: float = Field(ge=0, description="USD per 1,000 input tokens.")
    output_per_1k: float = Field(0, ge=0, description="USD per 1,000 output tokens (0 for embedding models).")


class ObservabilitySettings(StrictModel):
    """usecases/<id>/observability.yaml; every field is optional."""

    thumbs_down_ratio_max: float = Field(
        0.3, gt=0, le=1, description="Alarm when thumbs-down / all ratings in a period exceeds this fraction."
    )
    regenerate_rate_max: float = Field(
        0.2, gt=0, le=1, description="Alarm when regenerate events / chat answers in a period exceed this fraction."
    )
    min_samples: int = Field(
        10, ge=1, le=100_000, description="Ratings (or chat answers) a period needs before a ratio alarm can fire."
    )
    user_signal_period_minutes: int = Field(
        60, ge=5, le=1440, description="Period of the thumbs-down and regenerate alarms (minutes, a multiple of 5)."
    )
    api_5xx_rate_max: float = Field(
        0.05, gt=0, le=1, description="Alarm when the API's 5xx share of requests in 5 minutes exceeds this fraction."
    )
    api_latency_p90_ms: int = Field(
        20_000,
        ge=100,
        le=900_000,
        description="Alarm when the API's p90 latency in 5 minutes exceeds this (ms; a streamed answer counts whole).",
    )
    bedrock_throttles_max: int = Field(
        5, ge=1, description="Alarm when a model's throttled invocations in 5 minutes reach this many."
    )
    guardrail_band_width: float = Field(
        3, gt=0, le=10, description="Standard deviations of the anomaly band around guardrail interventions."
    )
    prices: dict[str, Price] = Field(
        default_factory=dict,
        description="Per model id: the price to use for the cost section where the kit's price table has none.",
    )

    @model_validator(mode="after")
    def _period(self) -> ObservabilitySettings:
        if self.user_signal_period_minutes % 5:
            raise ValueError("user_signal_period_minutes must be a multiple of 5")
        return self


def load_observability_settings(usecase_id: str, root: Path = USECASES_DIR) -> ObservabilitySettings:
    """Read and validate usecases/<id>/observability.yaml; the defaults when the use case has none."""
    path = root / usecase_id / OBSERVABILITY_FILE
    if not path.is_file():
        return ObservabilitySettings()
    try:
        return ObservabilitySettings.model_validate(read_yaml_mapping(path))
    except ValidationError as exc:
        raise validation_error(display_path(path, root), exc, model=ObservabilitySettings, document=path) from None
