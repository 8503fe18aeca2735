"""The Api functions' settings as deployed: static values from the settings layer, deploy-time ids from the
environment, merged into `ApiSettings` and the safety library's `SafetySettings`.

Lambda caps a function's environment at 4 KB, and the kit keeps each function's within a 1,280-byte budget at the
longest values its references can resolve to (tests/stacks/test_wide_usecase.py). The whole of `ApiSettings` and
`SafetySettings` as JSON passes that (about 2.4 KB at worst for the shipped use cases), so the Api stack splits
both: every value known at synth (quotas, limits, table names, model id, the safety policy) goes into
/opt/settings/chat.json of its settings layer, ``{"api": {...}, "safety": {...}}``, pinned by the SHA-256 in
``KIT_SETTINGS_SHA256``; only the values CloudFormation fills in at deploy time (guardrail id and version,
knowledge base id, agent and alias ids, prompt parameter names, custom Comprehend endpoint ARNs) stay in
``API_SETTINGS`` and ``SAFETY_SETTINGS``, as JSON of the same shape. The environment's values win on a merge.

Without ``KIT_SETTINGS_FILE`` (a local run) ``API_SETTINGS`` and ``SAFETY_SETTINGS`` are the whole settings, as
before, so `make local` and tests set them alone.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from typing import Any

from common.safety.policy import ENVIRONMENT_VARIABLE as SAFETY_SETTINGS_ENV
from common.safety.policy import SafetySettings
from common.settings_file import SETTINGS_FILE_ENV, SETTINGS_SHA256_ENV, read_settings_file, settings_path

from api.contract import API_SETTINGS_ENV, ApiSettings
from api.store.export_contract import EXPORT_SETTINGS_ENV, ExportSettings

SETTINGS_FILE = "chat.json"  # the Api stack's settings layer file of the chat functions
API_SECTION, SAFETY_SECTION = "api", "safety"


def merge(static: Any, deployed: Any) -> Any:
    """``static`` with ``deployed`` laid over it, mapping by mapping (a deployed value replaces a static one)."""
    if isinstance(static, Mapping) and isinstance(deployed, Mapping):
        return {**static, **{key: merge(static.get(key), value) for key, value in deployed.items()}}
    return deployed


@cache
def _load(file_name: str | None, sha256: str | None, api: str, safety: str) -> tuple[ApiSettings, SafetySettings]:
    static: dict[str, Any] = {API_SECTION: {}, SAFETY_SECTION: {}}
    if file_name is not None:
        static = json.loads(read_settings_file(settings_path(file_name), sha256 or ""))
    return (
        ApiSettings.model_validate(merge(static[API_SECTION], json.loads(api))),
        SafetySettings.model_validate(merge(static[SAFETY_SECTION], json.loads(safety))),
    )


def settings_from_deployment(environ: Mapping[str, str]) -> tuple[ApiSettings, SafetySettings]:
    """`ApiSettings` and `SafetySettings` of this function (the server passes ``os.environ``); read once."""
    return _load(
        environ.get(SETTINGS_FILE_ENV),
        environ.get(SETTINGS_SHA256_ENV),
        environ[API_SETTINGS_ENV],
        environ.get(SAFETY_SETTINGS_ENV, "{}"),
    )


EXPORT_FILE = "finetune_export.json"  # the export function's settings layer file (its static `ExportSettings`)


@cache
def _load_export(file_name: str | None, sha256: str | None, deployed: str) -> ExportSettings:
    static: dict[str, Any] = {}
    if file_name is not None:
        static = json.loads(read_settings_file(settings_path(file_name), sha256 or ""))
    return ExportSettings.model_validate(merge(static, json.loads(deployed)))


def export_settings_from_deployment(environ: Mapping[str, str]) -> ExportSettings:
    """The fine-tuning export's `ExportSettings`: the static part (the PII policy, the table name) from its settings
    file, the curated bucket and the salt secret's ARN from ``EXPORT_SETTINGS``; read once."""
    return _load_export(environ.get(SETTINGS_FILE_ENV), environ.get(SETTINGS_SHA256_ENV), environ[EXPORT_SETTINGS_ENV])
