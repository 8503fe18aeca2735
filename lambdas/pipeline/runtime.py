"""What every pipeline handler shares: its environment, settings and AWS clients (one per container)."""

from __future__ import annotations

import os
from functools import cache

from common.clients import client
from common.settings_file import SETTINGS_FILE_ENV, SETTINGS_SHA256_ENV, settings_path

from pipeline.ledger import Claims, Ledger
from pipeline.settings import PipelineSettings, settings_from_file
from pipeline.storage import Storage


def env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(f"environment variable {name} is not set; the Data stack sets it on every function")
    return value


def settings() -> PipelineSettings:
    """This function's slice of data.yaml, from the stack's settings layer (verified against its SHA-256)."""
    return settings_from_file(settings_path(env(SETTINGS_FILE_ENV)), env(SETTINGS_SHA256_ENV))


def storage() -> Storage:
    return Storage(client("s3"))


def ledger() -> Ledger:
    return Ledger(client("dynamodb"), env("LEDGER_TABLE"))


def claims() -> Claims:
    return Claims(client("dynamodb"), env("CLAIMS_TABLE"))


@cache
def _secret(secret_id: str) -> bytes:
    value: str = client("secretsmanager").get_secret_value(SecretId=secret_id)["SecretString"]
    return value.encode()


def hash_salt() -> bytes:
    """The salt for pseudonymous hashes, from Secrets Manager, read once per container."""
    return _secret(env("HASH_SALT_SECRET_ARN"))
