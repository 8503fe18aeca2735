"""`DependencyLayer`: the functions' third-party packages as one Lambda layer, built by pip without Docker.

Functions get boto3 from the runtime and Powertools (with pydantic and the rest of its extras) from the
AWS-managed layer; every other package they import is pinned, with the sha256 of its wheel, in
``requirements-lambda.txt`` and installed into this layer as wheels for the functions' platform::

    pip install --platform manylinux2014_aarch64 --python-version 3.13 --implementation cp --only-binary=:all:
        --require-hashes --no-deps --no-compile -r requirements-lambda.txt --target <folder>/python

Cross-platform wheels need no Docker and no compiler: pip refuses an sdist, so a package without an aarch64
wheel fails the build instead of compiling for the wrong machine. ``--no-deps`` with ``--require-hashes``
installs exactly the pinned files; tests/lambdas/test_import_closure.py proves that what the handlers import
resolves to the code asset, this layer, the Powertools layer, the Python 3.13 standard library or the
runtime's boto3. ``--no-compile``: bytecode compiled by the building interpreter (3.11 here) is never used by
the 3.13 runtime, and Lambda cannot write bytecode next to a layer's files, so it would be dead weight.

Why a folder keyed by the pins and not CDK bundling: the build is a pure function of the requirements file and
the pip flags, so its output is cached under ``.build/lambda-deps/<key>/`` (gitignored) and reused by every
synth, test session and fresh ``App`` until a pin changes; the asset hash is that key, so an unchanged layer
costs no pip run, no fingerprinting of the folder and no new layer version. ``make layer`` (a prerequisite of
``make synth``, ``make unit`` and ``make bench``) builds it ahead; a synth that finds no folder builds it on
the spot (PyPI must be reachable then, as it is for ``make``), so ``npx cdk synth`` and ``pytest`` work from a
clean clone too. No code path can fall back to Docker: the asset is a plain directory.

Lambda extracts each layer into /opt, and /opt/python is on the runtime's ``sys.path``.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

ROOT = Path(__file__).resolve().parents[2]
REQUIREMENTS = ROOT / "requirements-lambda.txt"
BUILD_ROOT = ROOT / ".build" / "lambda-deps"
# The runtime and architecture of every KitFunction, and pip's names for them.
RUNTIME = lambda_.Runtime.PYTHON_3_13
ARCHITECTURE = lambda_.Architecture.ARM_64
PIP_PLATFORM = "manylinux2014_aarch64"
PIP_PYTHON_VERSION = RUNTIME.name.removeprefix("python")  # "3.13"
PIP_INSTALL_ARGS = (
    "--platform",
    PIP_PLATFORM,
    "--python-version",
    PIP_PYTHON_VERSION,
    "--implementation",
    "cp",
    "--only-binary=:all:",
    "--require-hashes",
    "--no-deps",
    "--no-compile",
)
LAYER_PYTHON_DIR = "python"  # Lambda puts /opt/python on sys.path
# Bumped when the folder's layout or clean-up changes, so cached builds of the old shape are rebuilt.
BUILD_FORMAT = "1"
CONSTRUCT_ID = "DependencyLayer"  # one per stack (like the Powertools layer reference)


class DependencyBuildError(RuntimeError):
    """pip could not build the layer (a pin without an aarch64/3.13 wheel, a wrong hash, no PyPI)."""


def build_key(requirements: bytes) -> str:
    """The identity of a build: the pins and every flag that shapes the output (hex sha256)."""
    digest = hashlib.sha256()
    digest.update(json.dumps([BUILD_FORMAT, *PIP_INSTALL_ARGS]).encode())
    digest.update(b"\0")
    digest.update(requirements)
    return digest.hexdigest()


def layer_folder(requirements: Path = REQUIREMENTS, build_root: Path = BUILD_ROOT) -> Path:
    """Where the build of ``requirements`` lives (whether or not it exists yet)."""
    return build_root / build_key(requirements.read_bytes())[:16]


def build_dependencies(requirements: Path = REQUIREMENTS, build_root: Path = BUILD_ROOT) -> Path:
    """The layer folder of ``requirements`` (its ``python/`` holds the packages), running pip only if missing.

    A build goes into a temporary sibling and is renamed into place when complete, so a folder that exists is
    whole, and two builds at once (a synth beside a test run) both end with the same folder. Folders of other
    pins are removed afterwards: they are a cache, rebuilt from their requirements file when needed.
    """
    if not requirements.is_file():
        raise DependencyBuildError(f"{requirements}: no such requirements file for the dependency layer")
    folder = layer_folder(requirements, build_root)
    if (folder / LAYER_PYTHON_DIR).is_dir():
        return folder
    build_root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".building-", dir=build_root))
    try:
        target = staging / LAYER_PYTHON_DIR
        target.mkdir()
        command = [sys.executable, "-m", "pip", "install", "--quiet", *PIP_INSTALL_ARGS]
        command += ["--requirement", str(requirements), "--target", str(target)]
        result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603 - fixed argv
        if result.returncode != 0:
            raise DependencyBuildError(
                f"pip could not build the dependency layer from {requirements.name} "
                f"(exit {result.returncode}):\n{result.stderr.strip() or result.stdout.strip()}"
            )
        # Console scripts: nothing on a function runs them.
        shutil.rmtree(target / "bin", ignore_errors=True)
        try:
            staging.rename(folder)
        except OSError:
            if not (folder / LAYER_PYTHON_DIR).is_dir():  # not a concurrent build that finished first
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    for other in build_root.iterdir():
        if other.is_dir() and other != folder and not other.name.startswith("."):
            shutil.rmtree(other, ignore_errors=True)
    return folder


class DependencyLayer(Construct):
    """One layer version with the packages of ``requirements`` under /opt/python, for python3.13 on arm64.

    Built (or taken from the cache) when constructed; ``folder`` is the built folder, ``layer`` goes into a
    function's layers. Stacks use `dependency_layer`, which shares one per stack.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        requirements: Path = REQUIREMENTS,
        build_root: Path = BUILD_ROOT,
    ) -> None:
        super().__init__(scope, construct_id)
        self.folder = build_dependencies(requirements, build_root)
        key = build_key(requirements.read_bytes())
        self.layer = lambda_.LayerVersion(
            self,
            "Layer",
            code=lambda_.Code.from_asset(str(self.folder), asset_hash=key, asset_hash_type=cdk.AssetHashType.CUSTOM),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description=f"Third-party packages of the functions from {requirements.name} (build {key[:16]})",
        )


def dependency_layer(scope: Construct) -> lambda_.ILayerVersion:
    """The dependency layer of ``scope``'s stack, created on first use and shared by its functions."""
    stack = cdk.Stack.of(scope)
    existing = stack.node.try_find_child(CONSTRUCT_ID)
    if existing is None:
        existing = DependencyLayer(stack, CONSTRUCT_ID)
    if not isinstance(existing, DependencyLayer):
        raise TypeError(f"{stack.node.path}/{CONSTRUCT_ID} is a {type(existing).__name__}, not a DependencyLayer")
    return existing.layer


def main() -> None:
    """`make layer`: build the layer folder (no-op when the pins' build exists) and print where it is."""
    try:
        folder = build_dependencies()
    except DependencyBuildError as error:
        sys.exit(str(error))
    print(folder.relative_to(ROOT))


if __name__ == "__main__":
    main()
