"""Stateful resources keep their logical ids.

Prod retains data (`RemovalPolicy.RETAIN`): CloudFormation replaces a resource whose logical id changes, so a
renamed bucket, table, secret, key, log group, trail, queue, vector store, knowledge base, guardrail, agent, prompt or
Comprehend model is a NEW resource in prod, and the old one is orphaned with its data (or, in dev, deleted).
A logical id derives from the construct path (scope and id of every construct on the way), so moving code
between modules is safe only when each stateful construct keeps its scope and id.

`stateful_logical_ids.json` is the snapshot: per synth, stage and stack part, the sorted logical ids of every
stateful resource. Two synths are covered: the session's (the shipped use case, both stages) and one with every
optional stateful resource switched on (custom Comprehend models trained in both stages, OpenSearch
Serverless as the vector store, Bedrock invocation logging).

Update the snapshot only with a migration note for deployed stages (how the data moves to the new resource,
or why none is needed), never to make this test pass after a refactoring: regenerate it with
``python -m tests.stacks.test_stateful_ids`` and review the diff.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
import yaml

from stacks.app_builder import cdk_json_context, read_context
from stacks.config import USECASES_DIR, kit_config_from_context
from stacks.stage import JourneyStage
from stacks.usecase_files import load_usecase_files

SNAPSHOT = Path(__file__).with_name("stateful_logical_ids.json")

# Resource types that hold data or identity a replacement would lose (or bill to recreate: a Comprehend
# model retrains). A prefix ending in "::" covers every type of that service.
STATEFUL_TYPES = (
    "AWS::S3::Bucket",
    "AWS::DynamoDB::Table",
    "AWS::SecretsManager::Secret",
    "AWS::KMS::Key",
    "AWS::Logs::LogGroup",
    "AWS::S3Vectors::VectorBucket",
    "AWS::S3Vectors::Index",
    "AWS::Bedrock::KnowledgeBase",
    "AWS::CloudTrail::Trail",
    "AWS::SQS::Queue",
    "AWS::Bedrock::Guardrail",
    "AWS::Bedrock::Agent",  # its session-summary memory, and the agent id callers hold
    "AWS::Bedrock::AgentAlias",  # the alias id callers invoke
    "AWS::Bedrock::Prompt",  # retained in prod under a fixed name: a new logical id would collide with the old one
    "AWS::OpenSearchServerless::Collection",
    "AWS::Comprehend::",
    "AWS::Cognito::UserPool",  # its users and their MFA devices: a new logical id would replace the pool
)

SHIPPED = "shipped use case"
EVERY_OPTION = "custom safety models, OpenSearch and invocation logging"
# Custom Comprehend models exist only where CloudFormation has their endpoint types (us-east-1 is one).
EVERY_OPTION_CONTEXT = {
    "stage": "all",
    "features.custom_safety_models": True,
    "features.invocation_logging": True,
    "environments.dev.region": "us-east-1",
    "environments.prod.region": "us-east-1",
}


def is_stateful(resource_type: str) -> bool:
    return any(resource_type.startswith(t) if t.endswith("::") else resource_type == t for t in STATEFUL_TYPES)


def stateful_ids(templates: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, list[str]]]:
    """stage -> stack part -> sorted logical ids of the stateful resources, from stacks named
    ``<prefix>-<stage>-<Part>``."""
    ids: dict[str, dict[str, list[str]]] = {}
    for stack_name, template in templates.items():
        _, stage, part = stack_name.rsplit("-", 2)
        ids.setdefault(stage, {})[part] = sorted(
            logical_id
            for logical_id, resource in template.get("Resources", {}).items()
            if is_stateful(resource["Type"])
        )
    return {stage: dict(sorted(parts.items())) for stage, parts in sorted(ids.items())}


def every_option_usecase(root: Path) -> tuple[Path, str]:
    """A copy of the default use case under ``root`` that trains both custom models in both stages and keeps
    its vectors in OpenSearch Serverless."""
    usecase = cdk_json_context()["usecase"]
    folder = root / usecase
    shutil.copytree(USECASES_DIR / usecase, folder)
    for name, (*parents, leaf), value in (
        ("safety.yaml", ("custom_models", "train"), ["dev", "prod"]),
        ("knowledge.yaml", ("vector_store",), "opensearch"),
    ):
        path = folder / name
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        node = data
        for key in parents:
            node = node[key]
        node[leaf] = value
        path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return root, usecase


def templates_of(outdir: Path, usecases: Path = USECASES_DIR, **context: Any) -> dict[str, dict[str, Any]]:
    """Every stage of the app (cdk.json context plus ``context``), without the nag packs: they add no
    resource, and leaving them out keeps this second synth short."""
    app = cdk.App(outdir=str(outdir), context=cdk_json_context(**context))
    config = kit_config_from_context(read_context(app))
    files = load_usecase_files(config.usecase, usecases)
    for stage in config.selected_stages():
        JourneyStage(app, config=config, files=files, stage=stage, environment=config.environments[stage])
    assembly = app.synth()
    return {
        stack.stack_name: json.loads(Path(stack.template_full_path).read_text(encoding="utf-8"))
        for stack in assembly.stacks_recursively
    }


@pytest.fixture(scope="module")
def snapshot() -> dict[str, Any]:
    return json.loads(SNAPSHOT.read_text(encoding="utf-8"))


def test_the_shipped_use_case_keeps_every_stateful_logical_id(synth, snapshot):
    assert stateful_ids(synth.templates) == snapshot[SHIPPED]


def test_every_optional_stateful_resource_keeps_its_logical_id(tmp_path, snapshot):
    root, _ = every_option_usecase(tmp_path / "usecases")
    ids = stateful_ids(templates_of(tmp_path / "cdk.out", root, **EVERY_OPTION_CONTEXT))
    assert ids == snapshot[EVERY_OPTION]


def test_the_snapshot_covers_every_stateful_kind_the_kit_creates(snapshot):
    """The option synth must really create the optional resources, or its comparison proves nothing."""
    every = snapshot[EVERY_OPTION]
    guardrails = [i for stage in every.values() for i in stage["Guardrails"]]
    knowledge = [i for stage in every.values() for i in stage["Knowledge"]]
    shipped_knowledge = [i for stage in snapshot[SHIPPED].values() for i in stage["Knowledge"]]
    assert any("Classifier" in i for i in guardrails)
    assert any("Recognizer" in i for i in guardrails)
    assert set(knowledge) != set(shipped_knowledge)  # OpenSearch's collection instead of S3 Vectors
    assert set(every) == set(snapshot[SHIPPED]) == {"dev", "prod"}
    assert all(stage["Prompts"] for stage in snapshot[SHIPPED].values())  # prompts.yaml's prompts are covered


def main() -> int:
    """Print the current snapshot (both synths) as JSON; review the diff, then write it with a migration note."""
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        shipped = templates_of(work / "shipped", stage="all")
        root, _ = every_option_usecase(work / "usecases")
        every = templates_of(work / "every", root, **EVERY_OPTION_CONTEXT)
        print(json.dumps({SHIPPED: stateful_ids(shipped), EVERY_OPTION: stateful_ids(every)}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
