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

from collections.abc import Mapping

from common.safety.policy import ENVIRONMENT_VARIABLE as SAFETY_SETTINGS_ENV
from common.safety.policy import SafetySettings
from common.settings_file import deployed_settings

from api.contract import API_SETTINGS_ENV, ApiSettings
from api.store.export_contract import EXPORT_SETTINGS_ENV, ExportSettings

SETTINGS_FILE = "chat.json"  # the Api stack's settings layer file of the chat functions
API_SECTION, SAFETY_SECTION = "api", "safety"


def settings_from_deployment(environ: Mapping[str, str]) -> tuple[ApiSettings, SafetySettings]:
    """`ApiSettings` and `SafetySettings` of this function (the server passes ``os.environ``); read once."""
    return (
        deployed_settings(ApiSettings, environ, deployed=environ[API_SETTINGS_ENV], section=API_SECTION),
        deployed_settings(SafetySettings, environ, deployed=environ.get(SAFETY_SETTINGS_ENV), section=SAFETY_SECTION),
    )


EXPORT_FILE = "finetune_export.json"  # the export function's settings layer file (its static `ExportSettings`)


def export_settings_from_deployment(environ: Mapping[str, str]) -> ExportSettings:
    """The fine-tuning export's `ExportSettings`: the static part (the PII policy, the table name) from its settings
    file, the curated bucket and the salt secret's ARN from ``EXPORT_SETTINGS``; read once."""
    return deployed_settings(ExportSettings, environ, deployed=environ[EXPORT_SETTINGS_ENV])
