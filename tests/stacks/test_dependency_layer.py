"""The dependency layer: hashed pins, a Docker-free cross-platform build cached by its pins, one layer version
per stack for python3.13 on arm64, within its size budget."""

from __future__ import annotations

import hashlib
import importlib.metadata
import re
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from packaging import tags

from stacks.common import dependency_layer as module
from stacks.common.dependency_layer import (
    CONSTRUCT_ID,
    EVALUATION_BUILD_ROOT,
    EVALUATION_CONSTRUCT_ID,
    EVALUATION_PLATFORMS,
    EVALUATION_REQUIREMENTS,
    LAYER_PYTHON_DIR,
    REQUIREMENTS,
    DependencyBuildError,
    DependencyLayer,
    build_dependencies,
    build_key,
    dependency_layer,
    evaluation_layer,
)
from tools.iam_check import FRAMEWORK_PROVIDERS

ROOT = Path(__file__).resolve().parents[2]
BUDGET_BYTES = 50 * 1024 * 1024  # DESIGN.md: dependency layer <= 50 MB unzipped (bench/layer_size.py reports it)
# The evaluation layer (numpy is 52 MB of it on aarch64) has its own ceiling: with the code, the dependency and the
# Powertools layers, a function stays far below Lambda's 250 MB for code plus layers.
EVALUATION_BUDGET_BYTES = 100 * 1024 * 1024
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def lambda_pins(path: Path = REQUIREMENTS) -> dict[str, tuple[str, list[str]]]:
    """name -> (version, hashes) of each requirement (continuation lines joined)."""
    text = path.read_text().replace("\\\n", " ")
    pins = {}
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line or line.startswith("--find-links"):
            continue
        match = _PIN.match(line)
        assert match, f"{path.name}: '{line}' is not pinned with =="
        pins[_normalize(match[1])] = (match[2], re.findall(r"--hash=sha256:([0-9a-f]+)", line))
    return pins


@pytest.mark.parametrize("requirements", [REQUIREMENTS, EVALUATION_REQUIREMENTS], ids=lambda p: p.name)
def test_every_requirement_is_pinned_with_its_wheel_hash_and_tested_at_that_version(requirements):
    pins = lambda_pins(requirements)
    assert {"confusable-homoglyphs", "sacrebleu"} & set(pins)
    dev = {
        _normalize(m[1]): m[2]
        for line in (ROOT / "requirements-dev.txt").read_text().splitlines()
        if (m := _PIN.match(line.strip()))
    }
    for name, (version, hashes) in pins.items():
        assert hashes, f"{name} has no --hash (pip --require-hashes refuses it)"
        assert all(len(h) == 64 for h in hashes), name
        assert dev.get(name) == version, f"requirements-dev.txt must pin {name}=={version}: the tests run on it"


@pytest.fixture(scope="module")
def built() -> Path:
    """The real build (`make layer` ran it already; otherwise pip builds it here, from PyPI)."""
    return build_dependencies()


def _files(folder: Path) -> dict[str, int]:
    return {p.relative_to(folder).as_posix(): p.stat().st_size for p in folder.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def built_evaluation() -> Path:
    return build_dependencies(EVALUATION_REQUIREMENTS, EVALUATION_BUILD_ROOT, EVALUATION_PLATFORMS)


@pytest.mark.parametrize(
    ("layer", "requirements", "platforms", "budget"),
    [
        ("built", REQUIREMENTS, (), BUDGET_BYTES),
        ("built_evaluation", EVALUATION_REQUIREMENTS, EVALUATION_PLATFORMS, EVALUATION_BUDGET_BYTES),
    ],
)
def test_the_build_holds_exactly_the_pinned_wheels_for_python313_on_arm64(
    layer, requirements, platforms, budget, request
):
    built = request.getfixturevalue(layer)
    packages = built / LAYER_PYTHON_DIR
    installed = {}
    names = ["manylinux2014_aarch64", "manylinux_2_17_aarch64", *platforms]
    target = [*tags.cpython_tags((3, 13), platforms=names), *tags.compatible_tags((3, 13), platforms=names)]
    for dist_info in packages.glob("*.dist-info"):
        metadata = (dist_info / "METADATA").read_text()
        name = re.search(r"^Name: (.+)$", metadata, re.M)
        version = re.search(r"^Version: (.+)$", metadata, re.M)
        assert name
        assert version
        installed[_normalize(name[1].strip())] = version[1].strip()
        wheel_tags = re.findall(r"^Tag: (.+)$", (dist_info / "WHEEL").read_text(), re.M)
        assert any(set(tags.parse_tag(tag)) & set(target) for tag in wheel_tags), (dist_info.name, wheel_tags)
    assert installed == {name: version for name, (version, _) in lambda_pins(requirements).items()}
    files = _files(built)
    assert not [f for f in files if f.endswith((".pyc", ".pyo")) or "__pycache__" in f]  # --no-compile
    assert not (packages / "bin").exists()
    assert 0 < sum(files.values()) <= budget


def test_the_main_layer_has_no_evaluation_library_and_would_break_its_budget_with_them(built, built_evaluation):
    """Why the evaluation libraries are a second layer: together the two are past the 50 MB budget."""
    assert not {"sacrebleu", "numpy", "rouge_score"} & {p.name for p in (built / LAYER_PYTHON_DIR).iterdir()}
    assert sum(_files(built).values()) + sum(_files(built_evaluation).values()) > BUDGET_BYTES


def test_the_vendored_rouge_score_wheel_is_the_sdists_code_the_tests_run():
    """PyPI has rouge-score's sdist only: the wheel in vendor/wheels/ was built from it. Its modules must be, byte
    for byte, those installed here from the pinned sdist (requirements-dev.txt), which the tests score with."""
    pins = lambda_pins(EVALUATION_REQUIREMENTS)
    version, (digest,) = pins["rouge-score"]
    (wheel,) = (ROOT / "vendor" / "wheels").glob("rouge_score-*.whl")
    assert wheel.name == f"rouge_score-{version}-py3-none-any.whl"
    assert hashlib.sha256(wheel.read_bytes()).hexdigest() == digest
    assert importlib.metadata.version("rouge-score") == version
    installed = {
        str(f): Path(str(f.locate())).read_bytes()
        for f in importlib.metadata.files("rouge-score") or []
        if f.suffix == ".py" and f.parts[0] == "rouge_score"
    }
    with zipfile.ZipFile(wheel) as archive:
        vendored = {
            n: archive.read(n) for n in archive.namelist() if n.startswith("rouge_score/") and n.endswith(".py")
        }
    assert vendored
    assert vendored == installed


def test_the_evaluation_layer_is_its_own_layer_version_shared_per_stack():
    app = cdk.App()
    stack = cdk.Stack(app, "S")
    first = evaluation_layer(stack)
    assert evaluation_layer(stack) is first
    assert dependency_layer(stack) is not first
    template = app.synth().get_stack_by_name("S").template
    layers = {logical_id: r["Properties"] for logical_id, r in template["Resources"].items()}
    assert len(layers) == 2
    (evaluation,) = [props for logical_id, props in layers.items() if logical_id.startswith(EVALUATION_CONSTRUCT_ID)]
    assert evaluation["Description"].startswith(
        "Third-party packages of the functions from requirements-evaluation.txt"
    )
    assert evaluation["CompatibleArchitectures"] == ["arm64"]


@pytest.mark.synth
def test_each_stack_with_functions_has_one_layer_for_python313_on_arm64_holding_the_build(synth, built):
    layers = {
        stack: (logical_id, resource["Properties"])
        for stack, logical_id, resource in synth.resources("AWS::Lambda::LayerVersion")
        if logical_id.startswith(CONSTRUCT_ID)
    }
    with_functions = {
        stack
        for stack, function_id, resource in synth.resources("AWS::Lambda::Function")
        if resource["Properties"]["Runtime"].startswith("python") and not function_id.startswith(FRAMEWORK_PROVIDERS)
    }
    assert with_functions
    assert set(layers) == with_functions
    assert len({props["Content"]["S3Key"] for _, props in layers.values()}) == 1  # one asset, uploaded once
    for _logical_id, props in layers.values():
        assert props["CompatibleRuntimes"] == ["python3.13"]
        assert props["CompatibleArchitectures"] == ["arm64"]
        assert len(props["Description"]) <= 256
    for stack, function_id, resource in synth.resources("AWS::Lambda::Function"):
        # CDK's own providers (the Web stack's bucket deployment) run CDK's code, not the kit's.
        if resource["Properties"]["Runtime"].startswith("python") and not function_id.startswith(FRAMEWORK_PROVIDERS):
            assert {"Ref": layers[stack][0]} in resource["Properties"]["Layers"], f"{stack}/{function_id}"
    # What deploys is the build: the staged asset holds the very files.
    ((_, props), *_) = layers.values()
    (staged,) = Path(synth.outdir).rglob(f"asset.{props['Content']['S3Key'].removesuffix('.zip')}")
    assert _files(staged) == _files(built)


def test_functions_of_a_stack_share_its_one_layer():
    app = cdk.App()
    stack = cdk.Stack(app, "S")
    first, second = dependency_layer(stack), dependency_layer(cdk.Stack(app, "T"))
    assert dependency_layer(stack) is first
    assert first is not second
    template = app.synth().get_stack_by_name("S").template
    assert [r["Type"] for r in template["Resources"].values()] == ["AWS::Lambda::LayerVersion"]
    clash = cdk.Stack(app, "U")
    cdk.CfnWaitConditionHandle(clash, CONSTRUCT_ID)
    with pytest.raises(TypeError, match="not a DependencyLayer"):
        dependency_layer(clash)
    assert isinstance(stack.node.find_child(CONSTRUCT_ID), DependencyLayer)


# --------------------------------------------------------------------------- the build, with pip stood in for


class FakePip:
    def __init__(self, returncode: int = 0, stderr: str = "") -> None:
        self.calls: list[list[str]] = []
        self.returncode, self.stderr = returncode, stderr

    def __call__(self, command: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        self.calls.append(command)
        target = Path(command[command.index("--target") + 1])
        (target / "pkg").mkdir(parents=True)
        (target / "pkg" / "__init__.py").write_text("")
        (target / "bin").mkdir()
        (target / "bin" / "pkg-cli").write_text("#!/bin/sh\n")
        return subprocess.CompletedProcess(command, self.returncode, "", self.stderr)


def test_pip_runs_once_per_pins_for_the_functions_platform_and_old_builds_go(tmp_path, monkeypatch):
    requirements, root = tmp_path / "requirements-lambda.txt", tmp_path / "build"
    requirements.write_text("pkg==1.0 --hash=sha256:" + "0" * 64 + "\n")
    pip = FakePip()
    monkeypatch.setattr(subprocess, "run", pip)

    folder = build_dependencies(requirements, root)
    assert folder == root / build_key(requirements.read_bytes())[:16]
    assert (folder / "python" / "pkg" / "__init__.py").is_file()
    assert not (folder / "python" / "bin").exists()
    ((_, _, _, install, *flags),) = pip.calls
    assert install == "install"
    assert " ".join(flags).startswith(
        "--quiet --platform manylinux2014_aarch64 --python-version 3.13 --implementation cp --only-binary=:all: "
        f"--require-hashes --no-deps --no-compile --requirement {requirements} --target "
    )
    assert build_dependencies(requirements, root) == folder
    assert len(pip.calls) == 1

    requirements.write_text("pkg==1.1 --hash=sha256:" + "1" * 64 + "\n")
    changed = build_dependencies(requirements, root)
    assert changed != folder
    assert len(pip.calls) == 2
    assert [p.name for p in root.iterdir()] == [changed.name]  # the old build is gone, no staging left


def test_the_key_covers_the_pins_and_the_flags(monkeypatch):
    pins = b"pkg==1.0\n"
    key = build_key(pins)
    assert build_key(pins) == key
    assert build_key(b"pkg==1.1\n") != key
    monkeypatch.setattr(module, "PIP_INSTALL_ARGS", (*module.PIP_INSTALL_ARGS[:1], "manylinux2014_x86_64"))
    assert build_key(pins) != key


def test_an_extra_platform_is_a_flag_and_a_different_key(tmp_path, monkeypatch):
    requirements, root = tmp_path / "requirements-evaluation.txt", tmp_path / "build"
    requirements.write_text("pkg==1.0 --hash=sha256:" + "0" * 64 + "\n")
    pip = FakePip()
    monkeypatch.setattr(subprocess, "run", pip)
    folder = build_dependencies(requirements, root, ("manylinux_2_28_aarch64",))
    assert folder.name == build_key(requirements.read_bytes(), ("manylinux_2_28_aarch64",))[:16]
    assert build_key(requirements.read_bytes(), ("manylinux_2_28_aarch64",)) != build_key(requirements.read_bytes())
    assert " ".join(pip.calls[0]).count("--platform ") == 2
    assert "--platform manylinux2014_aarch64 --platform manylinux_2_28_aarch64 --python-version 3.13" in " ".join(
        pip.calls[0]
    )


def test_a_failed_build_says_what_pip_said_and_leaves_nothing(tmp_path, monkeypatch):
    requirements, root = tmp_path / "requirements-lambda.txt", tmp_path / "build"
    requirements.write_text("pkg==1.0 --hash=sha256:" + "0" * 64 + "\n")
    monkeypatch.setattr(subprocess, "run", FakePip(1, "ERROR: THESE PACKAGES DO NOT MATCH THE HASHES"))
    with pytest.raises(DependencyBuildError, match="DO NOT MATCH THE HASHES"):
        build_dependencies(requirements, root)
    assert list(root.iterdir()) == []
    with pytest.raises(DependencyBuildError, match="no such requirements file"):
        build_dependencies(tmp_path / "missing.txt", root)
