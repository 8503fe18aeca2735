"""cdk.json's context for an app built outside the CDK CLI (a test, a forked stack run with plain `python`).

Kept in the building blocks, with no import of the kit's config, so a team that copies `stacks/common/` and one
stage package gets it too. Without cdk.json's feature flags CDK falls back to legacy defaults (ACL-based log
delivery, wider policies), and the templates would not be what `cdk synth` produces.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

# The project root: stacks/common/ sits two levels below it, beside cdk.json, lambdas/ and requirements-lambda.txt.
PROJECT_ROOT = Path(__file__).resolve().parents[2]
CDK_JSON = PROJECT_ROOT / "cdk.json"


def load_cdk_json_context(cdk_json: Path = CDK_JSON, **overrides: Any) -> dict[str, Any]:
    """The ``context`` of ``cdk_json`` (the project's by default) with ``overrides`` on top."""
    context: dict[str, Any] = json.loads(cdk_json.read_text(encoding="utf-8"))["context"]
    return {**context, **overrides}
