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

A second layer, `evaluation_layer`, holds the reference metric libraries of lambdas/common/evaluation/
(sacrebleu, rouge-score, jiwer and what they import, from ``requirements-evaluation.txt``): about 80 MB unzipped,
numpy most of it, past the 50 MB budget of this one, so only functions that score model output get it. It is
built the same way into its own cache folder, with one more ``--platform manylinux_2_28_aarch64`` (numpy >= 2.3
and rapidfuzz publish aarch64 wheels for glibc 2.28 only; the python3.13 runtime, Amazon Linux 2023, has 2.34),
and finds rouge-score's wheel in vendor/wheels/ (PyPI has its sdist only; see requirements-evaluation.txt).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

ROOT = Path(__file__).resolve().parents[2]
REQUIREMENTS = ROOT / "requirements-lambda.txt"
BUILD_ROOT = ROOT / ".build" / "lambda-deps"
# The evaluation layer: its own pins, its own cache folder (a build removes the folders of other pins in its root).
EVALUATION_REQUIREMENTS = ROOT / "requirements-evaluation.txt"
EVALUATION_BUILD_ROOT = ROOT / ".build" / "lambda-deps-evaluation"
EVALUATION_PLATFORMS = ("manylinux_2_28_aarch64",)
EVALUATION_CONSTRUCT_ID = "EvaluationLayer"
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


def install_args(extra_platforms: tuple[str, ...] = ()) -> tuple[str, ...]:
    """pip's flags: `PIP_INSTALL_ARGS`, with a ``--platform`` more for each of ``extra_platforms``."""
    extra = tuple(flag for platform in extra_platforms for flag in ("--platform", platform))
    return (*PIP_INSTALL_ARGS[:2], *extra, *PIP_INSTALL_ARGS[2:])


def build_key(requirements: bytes, extra_platforms: tuple[str, ...] = ()) -> str:
    """The identity of a build: the pins and every flag that shapes the output (hex sha256)."""
    digest = hashlib.sha256()
    digest.update(json.dumps([BUILD_FORMAT, *install_args(extra_platforms)]).encode())
    digest.update(b"\0")
    digest.update(requirements)
    return digest.hexdigest()


def layer_folder(
    requirements: Path = REQUIREMENTS, build_root: Path = BUILD_ROOT, extra_platforms: tuple[str, ...] = ()
) -> Path:
    """Where the build of ``requirements`` lives (whether or not it exists yet)."""
    return build_root / build_key(requirements.read_bytes(), extra_platforms)[:16]


def build_dependencies(
    requirements: Path = REQUIREMENTS, build_root: Path = BUILD_ROOT, extra_platforms: tuple[str, ...] = ()
) -> Path:
    """The layer folder of ``requirements`` (its ``python/`` holds the packages), running pip only if missing.

    A build goes into a temporary sibling and is renamed into place when complete, so a folder that exists is
    whole, and two builds at once (a synth beside a test run) both end with the same folder. Folders of other
    pins are removed afterwards: they are a cache, rebuilt from their requirements file when needed.
    """
    if not requirements.is_file():
        raise DependencyBuildError(f"{requirements}: no such requirements file for the dependency layer")
    folder = layer_folder(requirements, build_root, extra_platforms)
    if (folder / LAYER_PYTHON_DIR).is_dir():
        return folder
    build_root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".building-", dir=build_root))
    try:
        target = staging / LAYER_PYTHON_DIR
        target.mkdir()
        command = [sys.executable, "-m", "pip", "install", "--quiet", *install_args(extra_platforms)]
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
        extra_platforms: tuple[str, ...] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        self.folder = build_dependencies(requirements, build_root, extra_platforms)
        key = build_key(requirements.read_bytes(), extra_platforms)
        self.layer = lambda_.LayerVersion(
            self,
            "Layer",
            code=lambda_.Code.from_asset(str(self.folder), asset_hash=key, asset_hash_type=cdk.AssetHashType.CUSTOM),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description=f"Third-party packages of the functions from {requirements.name} (build {key[:16]})",
        )


def _shared_layer(scope: Construct, construct_id: str, **build: Any) -> lambda_.ILayerVersion:
    stack = cdk.Stack.of(scope)
    existing = stack.node.try_find_child(construct_id)
    if existing is None:
        existing = DependencyLayer(stack, construct_id, **build)
    if not isinstance(existing, DependencyLayer):
        raise TypeError(f"{stack.node.path}/{construct_id} is a {type(existing).__name__}, not a DependencyLayer")
    return existing.layer


def dependency_layer(scope: Construct) -> lambda_.ILayerVersion:
    """The dependency layer of ``scope``'s stack, created on first use and shared by its functions."""
    return _shared_layer(scope, CONSTRUCT_ID)


def evaluation_layer(scope: Construct) -> lambda_.ILayerVersion:
    """The evaluation layer of ``scope``'s stack (sacrebleu, rouge-score, jiwer), for functions that import
    lambdas/common/evaluation/text_metrics; created on first use and shared by them."""
    return _shared_layer(
        scope,
        EVALUATION_CONSTRUCT_ID,
        requirements=EVALUATION_REQUIREMENTS,
        build_root=EVALUATION_BUILD_ROOT,
        extra_platforms=EVALUATION_PLATFORMS,
    )


def main() -> None:
    """`make layer`: build both layer folders (no-op when the pins' build exists) and print where they are."""
    try:
        folders = [
            build_dependencies(),
            build_dependencies(EVALUATION_REQUIREMENTS, EVALUATION_BUILD_ROOT, EVALUATION_PLATFORMS),
        ]
    except DependencyBuildError as error:
        sys.exit(str(error))
    for folder in folders:
        print(folder.relative_to(ROOT))


if __name__ == "__main__":
    main()
