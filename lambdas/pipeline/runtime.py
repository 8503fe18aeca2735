"""What every pipeline handler shares: its environment, settings and AWS clients (one per container)."""

from __future__ import annotations

import os

from aws_lambda_powertools.utilities import parameters
from common.clients import client
from common.settings_file import SETTINGS_FILE_ENV, SETTINGS_SHA256_ENV, deployed_settings

from pipeline.contract import PipelineSettings
from pipeline.ledger import Claims, Ledger
from pipeline.storage import Storage

SALT_MAX_AGE_SECONDS = 3600


def env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(f"environment variable {name} is not set; the Data stack sets it on every function")
    return value


def settings() -> PipelineSettings:
    """This function's slice of data.yaml, from the stack's settings layer (verified against its SHA-256)."""
    return deployed_settings(PipelineSettings, {name: env(name) for name in (SETTINGS_FILE_ENV, SETTINGS_SHA256_ENV)})


def storage() -> Storage:
    return Storage(client("s3"))


def ledger() -> Ledger:
    return Ledger(client("dynamodb"), env("LEDGER_TABLE"))


def claims() -> Claims:
    return Claims(client("dynamodb"), env("CLAIMS_TABLE"))


def hash_salt() -> bytes:
    """The salt for pseudonymous hashes, from Secrets Manager through Powertools' cache (one read per container
    and ``SALT_MAX_AGE_SECONDS``; the salt is never rotated, since that would change every hash)."""
    value = parameters.get_secret(env("HASH_SALT_SECRET_ARN"), max_age=SALT_MAX_AGE_SECONDS)
    return value if isinstance(value, bytes) else str(value).encode()
