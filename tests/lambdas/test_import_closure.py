"""Every import of every deployed handler resolves to what the function has at run time.

The handlers are read from the synthesized templates (every python3.13 function's ``Handler``), and each is
walked over the sources *that function* has: its code asset and the layers it references, as staged in the
cloud assembly (what deploys), the Powertools layer of the pinned release, the Python 3.13 standard library
and the runtime's boto3/botocore. tests/lambdas/import_closure.py says where each source of truth comes from
(the Powertools layer's contents: its build, layer_v3/ of powertools-lambda-python, since the docs list none).
"""

from __future__ import annotations

import importlib.metadata
import json
import re
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from stacks.api.web_adapter import LAYER_ACCOUNT as ADAPTER_LAYER_ACCOUNT
from stacks.api.web_adapter import LAYER_NAME as ADAPTER_LAYER_NAME
from stacks.common.dependency_layer import (
    EVALUATION_BUILD_ROOT,
    EVALUATION_CONSTRUCT_ID,
    EVALUATION_PLATFORMS,
    EVALUATION_REQUIREMENTS,
    LAYER_PYTHON_DIR,
    REQUIREMENTS,
    ROOT,
    build_dependencies,
)
from stacks.common.powertools import LAYER_NAME, POWERTOOLS_VERSION, powertools_parameter_name
from tests.lambdas.import_closure import (
    LAMBDA_MARKERS,
    POWERTOOLS_DIRECT,
    POWERTOOLS_DISTRIBUTION,
    POWERTOOLS_LAYER,
    POWERTOOLS_REMOVED,
    POWERTOOLS_TRANSITIVE,
    RUNTIME_SDK,
    STDLIB,
    Closure,
    Source,
    code_source,
    defines,
    powertools_sources,
    requirements_on_lambda,
    runtime_sources,
    top_levels,
    walk,
)
from tests.stacks.test_dependency_layer import lambda_pins
from tools.iam_check import FRAMEWORK_PROVIDERS

LAMBDAS = ROOT / "lambdas"
# Handlers the kit deploys today: the test must not pass by finding no function.
KNOWN_HANDLERS = {
    "pipeline.validate.handler",
    "pipeline.redact.handler",
    "pipeline.split.handler",
    "knowledge.sync.handler",
    "agent.retention_analyst.handler",
    "agent.loader.handler",
    "api/run.sh",
    "api.finetune_export.handler",
}
# Functions run by the Lambda Web Adapter have a start script as their handler: the module:attribute it serves.
ADAPTER_ENTRIES = {"api/run.sh": "api.server.app"}
WEB_ADAPTER_LAYER = f":{ADAPTER_LAYER_ACCOUNT}:layer:{ADAPTER_LAYER_NAME}:"
# What those scripts run besides the entry: `python -m uvicorn` (from the dependency layer), which loads its HTTP
# protocol by name: h11's, as httptools is not in the layer (uvicorn.protocols.http.auto).
ADAPTER_SERVER = ("uvicorn", "uvicorn.protocols.http.h11_impl")


class Assembly:
    """The synthesized functions and the staged folders of their assets."""

    def __init__(self, synth: Any) -> None:
        self.synth = synth
        self.assets = {p.name.removeprefix("asset."): p for p in Path(synth.outdir).rglob("asset.*") if p.is_dir()}

    def folder(self, s3_key: str) -> Path:
        return self.assets[s3_key.removesuffix(".zip")]

    def functions(self) -> list[tuple[str, str, dict[str, Any]]]:
        """(stack, logical id, properties) of every Python function (CDK's own providers run Node.js)."""
        return [
            (stack, logical_id, resource["Properties"])
            for stack, logical_id, resource in self.synth.resources("AWS::Lambda::Function")
            if str(resource["Properties"].get("Runtime", "")).startswith("python")
            and not logical_id.startswith(FRAMEWORK_PROVIDERS)  # CDK's bucket deployment: its own zip, not kit code
        ]

    def sources(self, stack: str, props: dict[str, Any]) -> list[Source]:
        """What this function imports from, in the order of its ``sys.path`` (/var/task, /opt/python, runtime)."""
        sources = [code_source(self.folder(props["Code"]["S3Key"]), "the code asset")]
        powertools = False
        for layer in props.get("Layers", []):
            if isinstance(layer, dict) and "Ref" in layer:
                resource = self.synth.templates[stack]["Resources"][layer["Ref"]]
                packages = self.folder(resource["Properties"]["Content"]["S3Key"]) / LAYER_PYTHON_DIR
                if packages.is_dir() and layer["Ref"].startswith(EVALUATION_CONSTRUCT_ID):
                    # A published unit, as `evaluation_sources` walks it: names must exist in it, its own modules'
                    # optional extras (nltk's matplotlib, numpy's distutils) are not walked; its requirements are
                    # proven by `test_every_requirement_of_the_evaluation_layer_is_in_it`.
                    sources.append(Source(f"the layer {layer['Ref']}", top_levels(packages), packages))
                elif packages.is_dir():
                    sources.append(code_source(packages, f"the layer {layer['Ref']}"))
            else:
                text = json.dumps(layer)
                if WEB_ADAPTER_LAYER in text:  # the Lambda Web Adapter: an extension, no Python packages
                    continue
                assert powertools_parameter_name() in text or LAYER_NAME in text, f"unknown layer {text}"
                powertools = True
        return [*sources, *(powertools_sources() if powertools else []), *runtime_sources()]


@pytest.fixture(scope="module")
def assembly(synth) -> Assembly:
    return Assembly(synth)


def _report(closure: Closure) -> str:
    return "\n".join(sorted({str(problem) for problem in closure.problems}))


@pytest.mark.synth
def test_every_import_of_every_deployed_handler_resolves(assembly):
    functions = assembly.functions()
    assert {props["Handler"] for _, _, props in functions} >= KNOWN_HANDLERS
    problems: list[str] = []
    for stack, logical_id, props in functions:
        entry = ADAPTER_ENTRIES.get(props["Handler"], props["Handler"])
        if entry != props["Handler"]:  # the script exists in the asset and runs the entry's app with uvicorn
            script = assembly.folder(props["Code"]["S3Key"]) / props["Handler"]
            assert script.stat().st_mode & 0o111, f"{script} is not executable"
            assert entry.replace(".app", ":app") in script.read_text()
        module, _, attribute = entry.rpartition(".")
        sources = assembly.sources(stack, props)
        entries = [(module, f"{stack}/{logical_id} (Handler {props['Handler']})")]
        if entry != props["Handler"]:
            entries += [
                (m, f"{stack}/{logical_id} ({props['Handler']} runs python -m uvicorn)") for m in ADAPTER_SERVER
            ]
        closure = walk(entries, sources)
        if closure.problems:
            problems.append(_report(closure))
            continue
        located = closure.modules[module]
        assert located.source is sources[0], f"{module} is not in the code asset"
        assert located.path is not None
        assert defines(located.path, attribute), f"{module} defines no {attribute} ({stack}/{logical_id})"
        # What resolved is what the function has: Powertools and a package layer were both used.
        used = {located.source.label for located in closure.modules.values()}
        assert f"the Powertools layer {POWERTOOLS_VERSION}" in used, props["Handler"]
    assert not problems, "\n".join(problems)


# Modules that run only with the evaluation layer (sacrebleu, rouge-score, jiwer): walked with it, below. The
# scheduled quality evaluation's package (lambdas/evaluation) scores with it: its functions carry the layer.
EVALUATION_PACKAGE = "common.evaluation"
# The fine-tuning workflow's evaluate step scores with it too: the Scale stack gives that function the layer
# (tests/stacks/test_scale.py walks each Scale function with exactly its own layers).
EVALUATION_PACKAGES = (EVALUATION_PACKAGE, "evaluation", "finetune.evaluate")


def _every_module(asset: Source, *, evaluation: bool = False) -> list[tuple[str, str]]:
    """Every module of the asset outside `EVALUATION_PACKAGES`, or (``evaluation``) every module inside them."""
    assert asset.root is not None
    entries = []
    for path in sorted(asset.root.rglob("*.py")):
        parts = path.relative_to(asset.root).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        inside = any(name == package or name.startswith(f"{package}.") for package in EVALUATION_PACKAGES)
        if inside == evaluation:
            entries.append((name, f"{path.relative_to(asset.root)} (every module of the asset)"))
    return entries


@pytest.fixture(scope="module")
def kit_sources(assembly) -> list[Source]:
    """The sources of the Data stack's validate function: the code asset and the dependency layer as staged."""
    ((stack, _, props),) = [
        f for f in assembly.functions() if f[2]["Handler"] == "pipeline.validate.handler" and "dev" in f[0]
    ]
    return assembly.sources(stack, props)


@pytest.mark.synth
def test_every_module_of_the_code_asset_resolves_and_the_dependency_layer_is_what_provides_its_packages(
    kit_sources,
):
    """Not only today's handlers: any module of lambdas/ (the safety library, for one) may be a handler's
    tomorrow. confusable_homoglyphs, which common.safety.validation imports, comes from the dependency layer;
    without that layer the same walk names the importer. (common.evaluation runs with the evaluation layer:
    `test_the_evaluation_library_resolves_with_the_evaluation_layer`.)"""
    asset, layer = kit_sources[0], kit_sources[1]
    assert layer.label.startswith("the layer DependencyLayer")
    server = [(module, "api/run.sh (python -m uvicorn)") for module in ADAPTER_SERVER]
    closure = walk(_every_module(asset) + server, kit_sources)
    assert not closure.problems, _report(closure)
    assert closure.modules["confusable_homoglyphs"].source is layer
    assert closure.modules["confusable_homoglyphs.confusables"].source is layer
    assert closure.modules["charset_normalizer"].source is layer  # validate's `encoding: auto`
    # Every package of the layer is imported by some module of the asset: the layer carries no dead weight.
    unused = layer.top_levels - {name.partition(".")[0] for name in closure.from_source(layer)}
    assert not unused, f"no module of the asset imports {sorted(unused)}: drop them from requirements-lambda.txt"

    without_layer = walk(_every_module(asset) + server, [source for source in kit_sources if source is not layer])
    assert without_layer.problems
    missing = {p.module.partition(".")[0] for p in without_layer.problems}
    assert missing == {"confusable_homoglyphs", "charset_normalizer", "starlette", "anyio", "uvicorn"}
    importers = {p.importer.partition(":")[0] for p in without_layer.problems}
    assert "common.safety.validation" in importers or any(i.startswith("common.safety.") for i in importers)
    assert "pipeline.validation" in importers


REPLACES_POWERTOOLS = frozenset({"typing_extensions"})


@pytest.mark.synth
def test_no_source_shadows_another(kit_sources):
    """Lambda searches /var/task, then /opt/python, then the runtime, and CDK orders a function's layers by
    construct path: a name in two places would depend on that order. Each top-level name has one source, except
    the one the dependency layer replaces on purpose: typing_extensions, newer than the Powertools layer's, for
    anyio (requirements-lambda.txt), with the layer order that makes it win checked in test_deploy_traps."""
    asset, layer = kit_sources[0], kit_sources[1]
    assert layer.top_levels & POWERTOOLS_LAYER == REPLACES_POWERTOOLS
    others = {
        "dependency layer": layer.top_levels,
        "Powertools layer": POWERTOOLS_LAYER,
        "stdlib 3.13": STDLIB,
        "runtime SDK": RUNTIME_SDK,
    }
    for name, names in others.items():
        assert not asset.top_levels & names, f"the code asset shadows the {name}: {asset.top_levels & names}"
    others["Powertools layer"] = POWERTOOLS_LAYER - REPLACES_POWERTOOLS
    for name, names in list(others.items())[1:]:
        assert not layer.top_levels & names, f"the dependency layer duplicates the {name}: {layer.top_levels & names}"
    assert not POWERTOOLS_LAYER & RUNTIME_SDK


def test_no_package_of_the_dependency_layer_needs_a_library_only_the_powertools_layer_bundles():
    """The Powertools layer bundles its libraries at the versions current when AWS built it, which no pin controls:
    a dependency-layer package that requires one of them on Python 3.13 (anyio 4.15+ requires
    typing_extensions>=4.16) could meet an older copy there and fail at import. Each package's requirements on the
    functions' runtime must be pinned in the layer itself (whose files replace the Powertools layer's: it is merged
    after it, test_deploy_traps) or be the runtime's SDK."""
    pins = set(lambda_pins(REQUIREMENTS))
    assert "typing-extensions" in requirements_on_lambda("anyio")  # the case this guards is present
    for distribution in pins:
        needs = requirements_on_lambda(distribution)
        assert needs <= pins | POWERTOOLS_REMOVED, f"{distribution} needs {needs - pins} from another layer"


def test_the_powertools_table_is_the_all_extra_of_the_pinned_release():
    """The layer is built from aws-lambda-powertools[all]==<release> (see import_closure.py): its direct
    requirements here, of the installed pinned release, must be the table's; a new release that changes them
    fails here until the table follows. Where a bundled library is installed here too, its own requirements on
    Lambda must be in the table (or be the runtime's)."""
    assert importlib.metadata.version(POWERTOOLS_DISTRIBUTION) == POWERTOOLS_VERSION
    direct = requirements_on_lambda(POWERTOOLS_DISTRIBUTION, extras=["all"])
    assert direct - POWERTOOLS_REMOVED == set(POWERTOOLS_DIRECT) - {POWERTOOLS_DISTRIBUTION}
    known = set(POWERTOOLS_DIRECT) | set(POWERTOOLS_TRANSITIVE) | POWERTOOLS_REMOVED
    checked = 0
    for distribution in (*POWERTOOLS_DIRECT, *POWERTOOLS_TRANSITIVE):
        try:
            needs = requirements_on_lambda(distribution)
        except importlib.metadata.PackageNotFoundError:
            continue  # not a test dependency here (aws-encryption-sdk, pyjwt, ...): the table is the record
        checked += 1
        assert needs <= known, f"{distribution} needs {needs - known}, which the table does not list"
    assert checked >= 5  # pydantic, pydantic-core, aws-xray-sdk, wrapt, typing-extensions at least


def evaluation_sources() -> tuple[Source, list[Source]]:
    """The evaluation layer as built, and what a function that scores output imports from: lambdas/ (the code
    asset), the dependency layer, the evaluation layer, Powertools, the runtime.

    The evaluation layer is a published unit, like the Powertools layer: a name imported from it must exist in
    it, but its own modules are not walked. nltk, numpy and joblib import optional extras inside functions
    (matplotlib, sklearn, pytest, Windows modules...) that a static walk cannot tell from requirements; their
    declared requirements are proven instead (`test_every_requirement_of_the_evaluation_layer_is_in_it`)."""
    layer = build_dependencies(EVALUATION_REQUIREMENTS, EVALUATION_BUILD_ROOT, EVALUATION_PLATFORMS) / LAYER_PYTHON_DIR
    evaluation = Source("the evaluation layer", top_levels(layer), layer)
    dependencies = code_source(build_dependencies() / LAYER_PYTHON_DIR, "the dependency layer")
    asset = code_source(LAMBDAS, "the code asset")
    return evaluation, [asset, dependencies, evaluation, *powertools_sources(), *runtime_sources()]


def test_the_evaluation_library_resolves_with_the_evaluation_layer():
    evaluation, sources = evaluation_sources()
    entries = _every_module(sources[0], evaluation=True)
    assert {name for name, _ in entries} >= {f"{EVALUATION_PACKAGE}.{m}" for m in ("text_metrics", "cost")}
    closure = walk(entries, sources)
    assert not closure.problems, _report(closure)
    assert {"sacrebleu", "rouge_score", "rouge_score.rouge_scorer", "jiwer"} <= closure.from_source(evaluation)
    without = walk(entries, [source for source in sources if source is not evaluation])
    assert {(p.importer.partition(":")[0], p.module) for p in without.problems} == {
        (f"{EVALUATION_PACKAGE}.text_metrics", "sacrebleu"),
        (f"{EVALUATION_PACKAGE}.text_metrics", "jiwer"),
        (f"{EVALUATION_PACKAGE}.text_metrics", "rouge_score"),
    }


def _metadata(dist_info: Path) -> tuple[str, list[str]]:
    text = (dist_info / "METADATA").read_text(encoding="utf-8")
    name = re.search(r"^Name: (.+)$", text, re.M)
    assert name
    return canonicalize_name(name[1].strip()), re.findall(r"^Requires-Dist: (.+)$", text, re.M)


def test_every_requirement_of_the_evaluation_layer_is_in_it():
    """Installed with --no-deps: each wheel's own requirements (those that apply on python3.13 / Linux / aarch64)
    must be in the layer too, read from the layer's metadata, not this machine's."""
    evaluation, _ = evaluation_sources()
    assert evaluation.root is not None
    requires = dict(_metadata(d) for d in evaluation.root.glob("*.dist-info"))
    assert {"sacrebleu", "rouge-score", "jiwer"} <= set(requires)
    missing = {}
    needed_by_something = {"sacrebleu", "rouge-score", "jiwer"}
    for name, lines in requires.items():
        for line in lines:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({**LAMBDA_MARKERS, "extra": ""}):
                needed = canonicalize_name(requirement.name)
                needed_by_something.add(needed)
                if needed not in requires:
                    missing[name] = needed
    assert not missing, f"required but not in requirements-evaluation.txt: {missing}"
    assert set(requires) == needed_by_something, "the layer carries packages nothing needs"


# ---------------------------------------------------------------------------------- the walk itself can fail


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_the_walk_names_each_unresolved_import_and_its_importer(tmp_path):
    asset, layer = tmp_path / "asset", tmp_path / "layer"
    _write(
        asset,
        {
            "app/__init__.py": "",
            "app/main.py": (
                "from __future__ import annotations\n"
                "import json\n"
                "from typing import TYPE_CHECKING\n"
                "from . import helpers\n"
                "from .helpers import util\n"
                "import boto3\n"
                "from aws_lambda_powertools import Logger\n"
                "import pydantic\n"
                "import requests\n"
                "if TYPE_CHECKING:\n"
                "    import mypy_boto3_s3\n"
                "try:\n"
                "    import ujson\n"
                "except ImportError:\n"
                "    ujson = None\n"
                "def handler(event, context):\n"
                "    import telnetlib\n"
                "    import aws_lambda_powertools.utilities.no_such_utility\n"
                "    return importlib.import_module('app.gone')\n"
            ),
            "app/helpers/__init__.py": "import vendored\n",
            "app/helpers/util.py": "from ..main import handler\n",
        },
    )
    _write(layer, {"vendored/__init__.py": "from vendored import core\n", "vendored/core.py": "import attrs_free\n"})
    sources = [code_source(asset, "asset"), code_source(layer, "layer"), *powertools_sources(), *runtime_sources()]
    closure = walk([("app.main", "Handler app.main.handler"), ("app.missing", "Handler app.missing.handler")], sources)

    found = {(p.importer, p.module) for p in closure.problems}
    assert found == {
        ("Handler app.missing.handler", "app.missing"),
        ("app.main:9", "requests"),
        ("app.main:17", "telnetlib"),  # in 3.11's stdlib, removed in 3.13 (PEP 594)
        ("app.main:18", "aws_lambda_powertools.utilities.no_such_utility"),
        ("app.main:19", "app.gone"),
        ("vendored.core:1", "attrs_free"),  # the layer's own imports are walked (it is installed --no-deps)
    }
    assert "resolves to none of" in next(str(p) for p in closure.problems if p.module == "requests")
    assert "no module app.gone" in next(str(p) for p in closure.problems if p.module == "app.gone")
    # Resolved: relative imports and submodules named in `from X import n`, each from its source.
    assert {"app.helpers", "app.helpers.util", "vendored", "vendored.core"} <= set(closure.modules)
    assert closure.modules["pydantic"].source.label.startswith("the libraries the Powertools layer")
    assert closure.modules["boto3"].source.label.endswith("boto3/botocore")
    assert closure.modules["json"].source.label == "the Python 3.13 standard library"
    assert "mypy_boto3_s3" not in closure.modules
    assert "ujson" not in closure.modules
    assert defines(asset / "app/main.py", "handler")
    assert not defines(asset / "app/main.py", "lambda_handler")
