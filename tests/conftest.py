"""Suite-wide fixtures: offline AWS credentials. Sockets are blocked in pyproject's addopts."""

from __future__ import annotations

import os

# Fake, non-empty credentials and a region so boto3 never looks for real ones (IMDS, SSO, files).
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_REGION": "eu-west-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "POWERTOOLS_METRICS_NAMESPACE": "JourneyKitTests",
        "POWERTOOLS_SERVICE_NAME": "tests",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }
)


# --------------------------------------------------------------------------------------------
# The whole app, synthesized once per session (both stages, all nag packs), shared by every test.
# --------------------------------------------------------------------------------------------

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest

from stacks.app_builder import build_app, cdk_json_context
from stacks.config import USECASES_DIR


@dataclass(frozen=True)
class Synth:
    app: cdk.App
    outdir: Path
    templates: dict[str, dict[str, Any]]  # stack name -> template

    def resources(self, resource_type: str | None = None) -> list[tuple[str, str, dict[str, Any]]]:
        """(stack name, logical id, resource) for every resource, optionally of one type."""
        return [
            (stack, logical_id, resource)
            for stack, template in self.templates.items()
            for logical_id, resource in template.get("Resources", {}).items()
            if resource_type is None or resource["Type"] == resource_type
        ]

    def template(self, stack_name: str) -> cdk.assertions.Template:
        return cdk.assertions.Template.from_json(self.templates[stack_name])


def synthesize(outdir: Path, root: Path = USECASES_DIR, /, **context: Any) -> Synth:
    """Build the app as `cdk synth` does (cdk.json context plus ``context``, use cases from ``root``) into
    ``outdir``."""
    app = cdk.App(outdir=str(outdir), context=cdk_json_context(**context))
    build_app(app, root)
    assembly = app.synth()
    templates = {
        stack.stack_name: json.loads(Path(stack.template_full_path).read_text())
        for stack in assembly.stacks_recursively
    }
    return Synth(app=app, outdir=outdir, templates=templates)


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    return synthesize(tmp_path_factory.mktemp("cdk.out"), stage="all")


# Pinned environments: dev in us-east-1 and prod in eu-west-1 of one account, so acknowledgments are
# proven on concrete ARNs (a pinned region renders as a literal) in and outside us-east-1.
PINNED = {
    "environments.dev.account": "111122223333",
    "environments.dev.region": "us-east-1",
    "environments.prod.account": "111122223333",
    "environments.prod.region": "eu-west-1",
}


def second_usecase() -> str:
    """A shipped use case other than the default one (the register holds several)."""
    default = cdk_json_context()["usecase"]
    others = sorted(p.name for p in USECASES_DIR.iterdir() if (p / "usecase.yaml").is_file() and p.name != default)
    assert others, "usecases/ must hold a second use case beside the default one"
    return others[0]


@pytest.fixture(scope="session")
def pinned_synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    """The second use case, both stages, pinned to an account and two regions."""
    return synthesize(tmp_path_factory.mktemp("cdk.out.pinned"), stage="all", usecase=second_usecase(), **PINNED)
