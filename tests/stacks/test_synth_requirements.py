"""`make synth` needs only requirements.txt: the app must not import what only the tests or the functions install.

A fresh machine runs `make synth` with the venv requirements.txt builds; the suite runs in the dev venv, which
also has Powertools, moto, Starlette and the rest, so an app import of one of those passes every other test and
fails the README's first command (it did: the Api stack imported `api.store`, whose stores import Powertools).
This test runs app.py as the CDK CLI does, in a child interpreter where every top-level module of a distribution
outside requirements.txt's dependency closure is refused.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[2]

BLOCKER = """
import importlib.abc, json, runpy, sys
BLOCKED = frozenset(json.loads(sys.argv[1]))
class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"{name}: not installed by requirements.txt", name=name)
        return None
sys.meta_path.insert(0, Refuse())
sys.argv = ["app.py"]
runpy.run_path("app.py", run_name="__main__")
"""


def requirements_closure(path: Path) -> set[str]:
    """The distributions requirements.txt installs: its pins and, recursively, what they require here."""
    names = {
        Requirement(line.split("#", 1)[0].strip()).name
        for line in path.read_text().splitlines()
        if line.split("#", 1)[0].strip()
    }
    closure: set[str] = set()
    while names:
        name = _normal(names.pop())
        if name in closure:
            continue
        closure.add(name)
        for text in importlib.metadata.requires(name) or []:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                names.add(requirement.name)
    return closure


def _normal(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def blocked_modules(closure: set[str]) -> set[str]:
    """Top-level modules installed here that no distribution of ``closure`` provides."""
    return {
        module
        for module, distributions in importlib.metadata.packages_distributions().items()
        if not any(_normal(d) in closure for d in distributions) and not module.startswith("_")
    }


def test_the_closure_is_what_a_fresh_venv_gets():
    closure = requirements_closure(REPO / "requirements.txt")
    assert {"aws-cdk-lib", "constructs", "cdk-nag", "pydantic", "pyyaml", "boto3", "botocore", "jsii"} <= closure
    blocked = blocked_modules(closure)
    assert {"aws_lambda_powertools", "moto", "pytest", "starlette", "hypothesis"} <= blocked
    assert not {"aws_cdk", "pydantic", "yaml", "boto3", "constructs"} & blocked


@pytest.mark.synth
def test_make_synth_needs_only_requirements_txt(tmp_path):
    blocked = blocked_modules(requirements_closure(REPO / "requirements.txt"))
    context = json.loads((REPO / "cdk.json").read_text())["context"]
    env = {**os.environ, "CDK_OUTDIR": str(tmp_path / "cdk.out"), "CDK_CONTEXT_JSON": json.dumps(context)}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"  # the venv's Node 24
    env["CDK_VALIDATION"] = "false"  # CDK's own template checks run in Node, imported nothing from Python: save ~2 s
    result = subprocess.run(
        [sys.executable, "-c", BLOCKER, json.dumps(sorted(blocked))],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "cdk.out" / "manifest.json").is_file()
