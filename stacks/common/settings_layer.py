"""`SettingsLayer`: a stack's static function settings as JSON files in a Lambda layer.

Lambda caps all environment variables of a function at 4 KB together, and settings that grow with the use
case (schemas of every source, the PII policy, the bias profile) pass that with a real dataset. So they
travel as files: at synth the layer writes ``settings/<name>.json`` into a temporary folder and publishes
it as a directory asset; Lambda extracts a layer under /opt, so a function reads /opt/settings/<name>.json
(lambdas/common/settings_file.py). The environment keeps only the file's name and its SHA-256: a change
of settings changes the digest in the function's configuration, so CloudFormation updates exactly the
functions whose settings changed (and the layer, a new version per content), and the function refuses a
file whose digest differs.

Why a layer and not AppConfig: the settings are known at synth and change only with a deployment, so the
layer keeps them immutable with the stack (a rollback rolls them back), needs no runtime call, no extra
IAM, no cold-start latency and no cost, and tests read the very files that deploy. AppConfig pays off for
settings changed without a deployment, which these are not.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aws_cdk import aws_lambda as lambda_
from constructs import Construct

# The names lambdas/common/settings_file.py reads (tests/stacks/test_settings_layer.py keeps them equal).
SETTINGS_FOLDER = "settings"  # inside the layer; Lambda extracts layers to /opt
SETTINGS_FILE_ENV = "KIT_SETTINGS_FILE"
SETTINGS_SHA256_ENV = "KIT_SETTINGS_SHA256"
# The runtime and architecture of every KitFunction.
RUNTIME = lambda_.Runtime.PYTHON_3_13
ARCHITECTURE = lambda_.Architecture.ARM_64
# CDK context the SAM CLI sets: assets are read from where they are instead of copied into the assembly.
DISABLE_ASSET_STAGING = "aws:cdk:disable-asset-staging"


def settings_bytes(settings: Any) -> bytes:
    """The file content for ``settings``: compact JSON, keys in their given order (CSV column order)."""
    return json.dumps(settings, separators=(",", ":"), ensure_ascii=False).encode()


def write_settings_files(folder: Path, files: Mapping[str, Any]) -> dict[str, str]:
    """Write ``<folder>/<name>.json`` for each entry; returns the SHA-256 of each file by name."""
    folder.mkdir(parents=True, exist_ok=True)
    digests = {}
    for name, settings in files.items():
        data = settings_bytes(settings)
        (folder / f"{name}.json").write_bytes(data)
        digests[name] = hashlib.sha256(data).hexdigest()
    return digests


class SettingsLayer(Construct):
    """One layer version holding ``files`` (name -> JSON-serializable settings) as /opt/settings/<name>.json.

    ``layer`` goes into a function's layers and ``environment(name)`` into its environment.
    """

    def __init__(self, scope: Construct, construct_id: str, *, files: Mapping[str, Any], description: str) -> None:
        super().__init__(scope, construct_id)
        folder = Path(tempfile.mkdtemp(prefix="kit-settings-"))
        self.digests = write_settings_files(folder / SETTINGS_FOLDER, files)
        self.layer = lambda_.LayerVersion(
            self,
            "Layer",
            code=lambda_.Code.from_asset(str(folder)),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description=description,
        )
        # The asset is copied into the cloud assembly as it is created; the folder is not needed after that
        # (unless staging is off, as under the SAM CLI, where the asset is read from the folder itself).
        if not self.node.try_get_context(DISABLE_ASSET_STAGING):
            shutil.rmtree(folder, ignore_errors=True)

    def environment(self, name: str) -> dict[str, str]:
        """The variables that point a function at its file ``name`` and pin its content."""
        if name not in self.digests:
            raise KeyError(f"the settings layer holds no '{name}' (it holds {', '.join(sorted(self.digests))})")
        return {SETTINGS_FILE_ENV: f"{name}.json", SETTINGS_SHA256_ENV: self.digests[name]}
