"""Write the OpenAPI 3.0 schema of every action group from its code: lambdas/agent/schemas/<group>.openapi.json.

Each action group is a Powertools `BedrockAgentResolver` app with typed routes; its schema is what
`get_openapi_json_schema(openapi_version="3.0.3")` generates (Bedrock agents accept OpenAPI 3.0 only, so
Powertools rewrites pydantic's 3.1 forms, e.g. ``anyOf`` with ``null`` into ``nullable``). The operation
extension ``x-requireConfirmation: ENABLED`` of create_offer comes from the route's ``openapi_extensions``:
no post-processing. The Agent stack reads the checked-in files; the test suite fails when one differs from what
the code generates.

    python -m tools.agent_schemas           # write every schema
    python -m tools.agent_schemas --check   # exit 1 naming each schema that differs from the code
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import warnings
from pathlib import Path
from typing import Any

import stacks  # noqa: F401 - puts lambdas/ on the import path

SCHEMAS_DIR = Path(__file__).resolve().parent.parent / "lambdas" / "agent" / "schemas"
OPENAPI_VERSION = "3.0.3"


# action group -> (module of its resolver app, title, description)
ACTION_GROUPS: dict[str, tuple[str, str, str]] = {
    "retention_analyst": (
        "agent.retention_analyst",
        "Retention analyst tools",
        "Customer profiles, interactions, ranked retention offers and offer creation for the retention analyst.",
    ),
}


def schema_path(group: str) -> Path:
    return SCHEMAS_DIR / f"{group}.openapi.json"


def generate(group: str) -> str:
    """The schema of ``group`` as the checked-in file holds it (indented JSON, newline at the end)."""
    module, title, description = ACTION_GROUPS[group]
    app: Any = importlib.import_module(module).app
    with warnings.catch_warnings():
        # Powertools warns that pydantic v2 emits 3.1 and then converts to 3.0 for Bedrock itself.
        warnings.filterwarnings("ignore", message=".*OpenAPI schema 3.0.*", category=UserWarning)
        text = app.get_openapi_json_schema(
            title=title, version="1.0.0", description=description, openapi_version=OPENAPI_VERSION
        )
    return json.dumps(json.loads(text), indent=2, ensure_ascii=False) + "\n"


def drift() -> list[str]:
    """The action groups whose checked-in schema differs from the generated one (or is missing)."""
    stale = []
    for group in ACTION_GROUPS:
        path = schema_path(group)
        if not path.is_file() or path.read_text(encoding="utf-8") != generate(group):
            stale.append(group)
    return stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate the OpenAPI schema of every agent action group.")
    parser.add_argument("--check", action="store_true", help="exit 1 when a checked-in schema differs")
    args = parser.parse_args(argv)
    if args.check:
        stale = drift()
        for group in stale:
            print(
                f"{schema_path(group)}: differs from the code of {ACTION_GROUPS[group][0]}; "
                "run python -m tools.agent_schemas",
                file=sys.stderr,
            )
        return 1 if stale else 0
    SCHEMAS_DIR.mkdir(parents=True, exist_ok=True)
    for group in ACTION_GROUPS:
        schema_path(group).write_text(generate(group), encoding="utf-8")
        print(f"wrote {schema_path(group)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
