"""Shared pieces of the fine-tuning tests: settings as the Scale stack writes them, records, a Lambda context."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from common.settings_file import SETTINGS_DIR_ENV, SETTINGS_FILE_ENV, SETTINGS_SHA256_ENV
from finetune.contract import FinetuneSettings, GoldenCase

CURATED, WORK = "curated-bucket", "work-bucket"
TOPIC_NAME = "alarms"
GOLDEN = (
    GoldenCase(
        id="answer-001",
        variables={"question": "How long can a customer pause?", "context": "[1] Up to three months once a year."},
        reference="Up to three months, once per year [1].",
    ),
    GoldenCase(
        id="answer-002",
        variables={"question": "Can basic plans get a free month?", "context": "[1] Basic plans are not eligible."},
        reference="No, basic plans are not eligible for free months [1].",
    ),
)


def settings(**overrides: Any) -> FinetuneSettings:
    base: dict[str, Any] = {
        "usecase": "customer-retention",
        "name_prefix": "journey-customer-retention-dev",
        "curated_bucket": CURATED,
        "work_bucket": WORK,
        "alarm_topic_arn": f"arn:aws:sns:eu-west-1:123456789012:{TOPIC_NAME}",
        "min_records": 2,
        "max_records": 100,
        "base_model": "amazon.nova-micro-v1:0:128k",
        "base_inference_model": "amazon.nova-micro-v1:0",
        "thresholds": {"BLEU": 20.0, "ROUGEL": 0.35, "WER": 0.6},
        "margin": 0.02,
        "golden": [g.model_dump() for g in GOLDEN],
        "poll_seconds": 0,
    }
    base.update(overrides)
    return FinetuneSettings.model_validate(base)


def install_settings(monkeypatch, tmp_path: Path, value: FinetuneSettings) -> None:
    """The settings file as the settings layer holds it (deploy-time names left empty), and the environment."""
    layer_value = value.model_copy(update={"curated_bucket": "", "work_bucket": "", "alarm_topic_arn": ""})
    data = json.dumps(layer_value.model_dump(mode="json"), separators=(",", ":")).encode()
    (tmp_path / "finetune.json").write_bytes(data)
    monkeypatch.setenv(SETTINGS_DIR_ENV, str(tmp_path))
    monkeypatch.setenv(SETTINGS_FILE_ENV, "finetune.json")
    monkeypatch.setenv(SETTINGS_SHA256_ENV, hashlib.sha256(data).hexdigest())
    monkeypatch.setenv("CURATED_BUCKET", value.curated_bucket)
    monkeypatch.setenv("WORK_BUCKET", value.work_bucket)
    monkeypatch.setenv("ALARM_TOPIC_ARN", value.alarm_topic_arn)


def record(prompt: str, answer: str, system: str | None = None) -> str:
    body: dict[str, Any] = {"schemaVersion": "bedrock-conversation-2024"}
    if system:
        body["system"] = [{"text": system}]
    body["messages"] = [
        {"role": "user", "content": [{"text": prompt}]},
        {"role": "assistant", "content": [{"text": answer}]},
    ]
    return json.dumps(body)


class LambdaContext:
    function_name = "finetune-test"
    function_version = "$LATEST"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:finetune-test"
    aws_request_id = "00000000-0000-0000-0000-000000000000"
    log_group_name = "/aws/lambda/finetune-test"
    log_stream_name = "test"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000
