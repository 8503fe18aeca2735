"""A function's static settings, read from the stack's settings layer: /opt/settings/<name>.json.

Lambda caps a function's environment at 4 KB, so settings that grow with the use case (schemas, PII
policy, bias profile) are not environment variables. The stack writes them as JSON files into a layer
(stacks/common/settings_layer.py) and gives each function two small variables: the file's name and its
SHA-256. The digest is checked here, so a function never runs with settings other than the ones it was
deployed with, and it is part of the function's configuration, so changed settings redeploy the function.

Values CloudFormation fills in at deploy time (ids of resources in this or another stack) cannot be written
into a file at synth, so the stack sends those alone as JSON in an environment variable, and
`deployed_settings` lays them over the file's values (stacks/common/deploy_time.py splits them). Every
function with settings reads them through `deployed_settings`: one mechanism, one digest check.

``KIT_SETTINGS_DIR`` points the reader at another folder (tests use the synthesized layer asset).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

if TYPE_CHECKING:
    from pydantic import BaseModel

    Model = TypeVar("Model", bound=BaseModel)

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


def merge(static: Any, deployed: Any) -> Any:
    """``static`` with ``deployed`` laid over it, mapping by mapping (a deployed value replaces a static one)."""
    if isinstance(static, Mapping) and isinstance(deployed, Mapping):
        return {**static, **{key: merge(static.get(key), value) for key, value in deployed.items()}}
    return deployed


def deployed_settings(
    model: type[Model], environ: Mapping[str, str], *, deployed: str | None = None, section: str | None = None
) -> Model:
    """``model`` as deployed: the settings layer's file (``KIT_SETTINGS_FILE``, digest checked), or its ``section``,
    with ``deployed`` (JSON of the same shape: the deploy-time values) laid over it. Without ``KIT_SETTINGS_FILE``
    (a local run, a function whose every value is a deploy-time one) ``deployed`` is the whole. Read once."""
    loaded = _load(model, environ.get(SETTINGS_FILE_ENV), environ.get(SETTINGS_SHA256_ENV), section, deployed or "{}")
    return cast("Model", loaded)  # functools.cache drops the type variable


@cache
def _load(model: type[Model], file_name: str | None, sha256: str | None, section: str | None, deployed: str) -> Model:
    static: Any = {}
    if file_name is not None:
        static = _document(file_name, sha256 or "")
        if section is not None:
            static = static[section]
    return model.model_validate(merge(static, json.loads(deployed)))


@cache
def _document(file_name: str, sha256: str) -> Any:
    """The file's JSON, read and checked once per container (several sections may come from one file)."""
    return json.loads(read_settings_file(settings_path(file_name), sha256))
