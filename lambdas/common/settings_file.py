"""A function's static settings, read from the stack's settings layer: /opt/settings/<name>.json.

Lambda caps a function's environment at 4 KB, so settings that grow with the use case (schemas, PII
policy, bias profile) are not environment variables. The stack writes them as JSON files into a layer
(stacks/common/settings_layer.py) and gives each function two small variables: the file's name and its
SHA-256. The digest is checked here, so a function never runs with settings other than the ones it was
deployed with, and it is part of the function's configuration, so changed settings redeploy the function.

``KIT_SETTINGS_DIR`` points the reader at another folder (tests use the synthesized layer asset).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

SETTINGS_DIR_ENV = "KIT_SETTINGS_DIR"
SETTINGS_FILE_ENV = "KIT_SETTINGS_FILE"
SETTINGS_SHA256_ENV = "KIT_SETTINGS_SHA256"
DEFAULT_SETTINGS_DIR = "/opt/settings"  # the layer's settings/ folder, where Lambda extracts it


class SettingsFileError(RuntimeError):
    """The settings file is missing or is not the one the function was deployed with."""


def settings_path(name: str) -> Path:
    """Where the file ``name`` of the settings layer is (``KIT_SETTINGS_DIR`` or /opt/settings)."""
    return Path(os.environ.get(SETTINGS_DIR_ENV) or DEFAULT_SETTINGS_DIR) / name


def read_settings_file(path: Path, sha256: str) -> bytes:
    """The file's bytes, after checking they are the ones the stack deployed (their SHA-256)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise SettingsFileError(f"{path}: no such settings file; is the stack's settings layer attached?") from None
    digest = hashlib.sha256(data).hexdigest()
    if digest != sha256:
        raise SettingsFileError(f"{path}: SHA-256 {digest} differs from the deployed {sha256}")
    return data
