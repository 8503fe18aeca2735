"""Where a deployed function's imports come from, and a walk that proves each one resolves.

A function of the kit runs Python 3.13 on arm64 with four places to import from, and nothing else:

1. its code asset (lambdas/, as packaged), first on ``sys.path`` (/var/task);
2. the layers it references that hold packages under ``python/`` (/opt/python): the dependency layer built
   from requirements-lambda.txt (stacks/common/dependency_layer.py);
3. the AWS-managed Powertools layer of the pinned release (`POWERTOOLS_LAYER`, below);
4. the runtime itself: the Python 3.13 standard library (``stdlib_list``'s 3.13 list: this interpreter's
   ``sys.stdlib_module_names`` is 3.11's, which still has telnetlib, cgi and the rest of PEP 594) and the AWS
   SDK the python3.13 runtime ships (`RUNTIME_SDK`).

Modules of (1) and (2) are files: a missing one is an error, and their own imports are walked too, since the
dependency layer is installed with ``--no-deps`` and nothing else proves that a pinned package's dependencies
are pinned. The Powertools layer is a published unit and is not walked: an import of it must name one of its
top-level packages, and a submodule of ``aws_lambda_powertools`` must exist in the pinned release (installed
here; tests/stacks/test_building_blocks.py keeps the two versions equal). The standard library and the SDK are
checked by top-level name.

Not imports at run time, so not walked: imports under ``if TYPE_CHECKING:``, the branch of an
``if sys.version_info < (3, N)`` (or ``>=``) test that Python 3.13 does not take (anyio imports
exceptiongroup only before 3.11), and imports inside a ``try`` that catches ImportError (the code runs
without them). ``importlib.import_module("x")``, ``find_spec("x")`` and
``__import__("x")`` with a literal name are imports.
"""

from __future__ import annotations

import ast
import importlib.metadata
import importlib.util
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from stdlib_list import stdlib_list

from stacks.common.dependency_layer import PIP_PYTHON_VERSION
from stacks.common.powertools import POWERTOOLS_VERSION

# ------------------------------------------------------------------------------------------------------------
# The Powertools layer's contents for the pinned release.
#
# Powertools documents the layer as "pre-packaged dependencies" without listing them ("Installation" > "Lambda
# Layer" in the docs), so the list is derived from how the layer is built, in aws-powertools/
# powertools-lambda-python: layer_v3/layer/layer_stack.py publishes every layer with `include_extras=True`,
# which layer_v3/layer_constructors/helpers.py turns into `pip install "aws-lambda-powertools[all]==<release>"`
# in layer_v3/docker/Dockerfile, on the public.ecr.aws/lambda/python:<version> image of the layer's runtime,
# after which the Dockerfile deletes `boto*`, `s3transfer*`, `*dateutil*`, `urllib3*`, `six*` and `jmespath*`
# ("already available in Lambda Runtime"). So the layer holds the closure of the `all` extra of the pinned
# release minus those. The distributions below are that closure as pip resolves it for CPython 3.13 on
# manylinux2014_aarch64 (`pip download "aws-lambda-powertools[all]==3.37.0" --platform manylinux2014_aarch64
# --python-version 3.13 --only-binary=:all:`, 2026-12-02), each with the top-level names its wheel installs.
# `test_the_powertools_table_is_the_all_extra_of_the_pinned_release` fails when a new release changes the
# extra. The versions inside the layer are those current when AWS built it (pydantic is `>=2.4,<3` there), so
# what is proven is the names a function may import, not the versions of the bundled libraries.
# ------------------------------------------------------------------------------------------------------------
POWERTOOLS_DISTRIBUTION = "aws-lambda-powertools"
# What aws-lambda-powertools itself and its `all` extra require (direct), with their import names.
POWERTOOLS_DIRECT = {
    "aws-lambda-powertools": {"aws_lambda_powertools"},
    "typing-extensions": {"typing_extensions"},
    "aws-encryption-sdk": {"aws_encryption_sdk"},
    "aws-xray-sdk": {"aws_xray_sdk"},
    "cryptography": {"cryptography"},
    "fastjsonschema": {"fastjsonschema"},
    "jsonpath-ng": {"jsonpath_ng"},
    "pydantic": {"pydantic"},
    "pydantic-settings": {"pydantic_settings"},
    "pyjwt": {"jwt"},
}
# Their dependencies, as resolved above (each installs these top-level names).
POWERTOOLS_TRANSITIVE = {
    "annotated-types": {"annotated_types"},
    "attrs": {"attr", "attrs"},
    "cffi": {"cffi", "_cffi_backend"},
    "pycparser": {"pycparser"},
    "pydantic-core": {"pydantic_core"},
    "python-dotenv": {"dotenv"},
    "typing-inspection": {"typing_inspection"},
    "wrapt": {"wrapt"},
}
# Required by the release or its extra but deleted from the layer, because the runtime has them.
POWERTOOLS_REMOVED = {"boto3", "botocore", "s3transfer", "python-dateutil", "urllib3", "six", "jmespath"}
POWERTOOLS_LAYER = frozenset(
    name for names in (*POWERTOOLS_DIRECT.values(), *POWERTOOLS_TRANSITIVE.values()) for name in names
)

# The AWS SDK for Python in the python3.13 runtime: boto3 and botocore with their dependencies (the same set
# the Powertools layer build deletes as "already available in Lambda Runtime").
RUNTIME_SDK = frozenset({"boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six"})

STDLIB = frozenset(name.partition(".")[0] for name in stdlib_list(PIP_PYTHON_VERSION))


@dataclass(frozen=True)
class Source:
    """One place a function imports from: its top-level names, and where its modules are files (if known)."""

    label: str
    top_levels: frozenset[str]
    root: Path | None = None  # a module must exist under it (as a file or package)
    follow: bool = False  # parse its modules and walk their imports


@dataclass(frozen=True)
class Located:
    source: Source
    path: Path | None  # the module's file (or package folder); None where the source is known by name only


@dataclass(frozen=True)
class Problem:
    importer: str  # "<module>:<line>", or what asked for the entry point
    module: str
    reason: str

    def __str__(self) -> str:
        return f"{self.importer} imports {self.module}: {self.reason}"


@dataclass
class Closure:
    modules: dict[str, Located] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def from_source(self, source: Source) -> set[str]:
        return {name for name, located in self.modules.items() if located.source is source}


def top_levels(root: Path) -> frozenset[str]:
    """The importable top-level names of a folder on ``sys.path``: packages, modules and extension modules."""
    names = set()
    for entry in root.iterdir():
        if entry.is_dir() and entry.name.isidentifier():
            names.add(entry.name)  # a package, or a namespace package
        elif entry.suffix in {".py", ".so", ".pyd"}:
            name = entry.name.partition(".")[0]
            if name.isidentifier():
                names.add(name)
    return frozenset(names)


def code_source(root: Path, label: str) -> Source:
    return Source(label, top_levels(root), root, follow=True)


def powertools_sources() -> list[Source]:
    """The Powertools layer: aws_lambda_powertools checked against the pinned release, its bundled libraries by
    name."""
    spec = importlib.util.find_spec("aws_lambda_powertools")  # finds, does not import
    assert spec is not None, "aws-lambda-powertools is not installed"
    assert spec.submodule_search_locations
    site = Path(next(iter(spec.submodule_search_locations))).parent
    return [
        Source(f"the Powertools layer {POWERTOOLS_VERSION}", frozenset({"aws_lambda_powertools"}), site),
        Source(
            f"the libraries the Powertools layer {POWERTOOLS_VERSION} bundles",
            POWERTOOLS_LAYER - {"aws_lambda_powertools"},
        ),
    ]


def runtime_sources() -> list[Source]:
    return [
        Source(f"the Python {PIP_PYTHON_VERSION} standard library", STDLIB),
        Source(f"the python{PIP_PYTHON_VERSION} runtime's boto3/botocore", RUNTIME_SDK),
    ]


# PEP 508 marker values of the functions' runtime, to read which requirements apply there.
LAMBDA_MARKERS = {
    "python_version": PIP_PYTHON_VERSION,
    "python_full_version": f"{PIP_PYTHON_VERSION}.0",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
    "platform_system": "Linux",
    "platform_machine": "aarch64",
    "sys_platform": "linux",
    "os_name": "posix",
}


def requirements_on_lambda(distribution: str, extras: Iterable[str] = ()) -> set[str]:
    """The distributions the installed ``distribution`` requires on the functions' runtime (with ``extras``)."""
    names: set[str] = set()
    for line in importlib.metadata.requires(distribution) or []:
        requirement = Requirement(line)
        marker = requirement.marker
        if marker is None or any(marker.evaluate({**LAMBDA_MARKERS, "extra": extra}) for extra in ("", *extras)):
            names.add(canonicalize_name(requirement.name))
    return names


@cache  # as imports_of: the staged files do not change during a run
def module_file(root: Path, module: str) -> Path | None:
    """The file of ``module`` under ``root``: a package's __init__.py, a module, an extension, or a namespace
    package's folder."""
    *parents, last = module.split(".")
    folder = root.joinpath(*parents)
    package = folder / last
    if (package / "__init__.py").is_file():
        return package / "__init__.py"
    if (folder / f"{last}.py").is_file():
        return folder / f"{last}.py"
    if folder.is_dir():
        extension = next(
            (p for p in folder.glob(f"{last}.*") if p.suffix in {".so", ".pyd"} and p.name.split(".")[0] == last),
            None,
        )
        if extension is not None:
            return extension
    if package.is_dir():
        return package  # namespace package: nothing to run
    return None


def locate(module: str, sources: Iterable[Source]) -> Located | str:
    """Where ``module`` comes from, or why it comes from nowhere."""
    sources = list(sources)
    top = module.partition(".")[0]
    for source in sources:
        if top not in source.top_levels:
            continue
        if source.root is None:
            return Located(source, None)
        path = module_file(source.root, module)
        if path is None:
            return f"{source.label} has {top} but no module {module}"
        return Located(source, path)
    return "resolves to none of: " + "; ".join(source.label for source in sources)


def walk(entries: Iterable[tuple[str, str]], sources: list[Source]) -> Closure:
    """The import closure of ``entries`` ((module, who asked for it)) over ``sources``, with every import that
    resolves nowhere as a `Problem` naming its importer."""
    closure = Closure()
    failed: dict[str, str] = {}  # module -> why it resolves nowhere (reported for every importer)
    # (module, importer, whether it may be an attribute instead: the `n` of `from X import n`)
    queue = [(module, importer, False) for module, importer in entries]
    while queue:
        module, importer, maybe_attribute = queue.pop()
        if maybe_attribute:
            if module in closure.modules or not isinstance(located := locate(module, sources), Located):
                continue
            if located.source.root is None or located.path is None:
                continue  # known by name only: an attribute or a submodule, either way the package has it
        # `import a.b.c` runs a/__init__, a/b/__init__ and a/b/c.
        parts = module.split(".")
        for name in (".".join(parts[: i + 1]) for i in range(len(parts))):
            if name in closure.modules:
                continue
            found = failed.get(name) or locate(name, sources)
            if isinstance(found, str):
                failed[name] = found
                closure.problems.append(Problem(importer, name, found))
                break
            closure.modules[name] = found
            if found.source.follow and found.path is not None and found.path.suffix == ".py":
                for imported, names, lineno in imports_of(found.path, name):
                    where = f"{name}:{lineno}"
                    queue.append((imported, where, False))
                    queue.extend((f"{imported}.{n}", where, True) for n in names if n != "*")
    return closure


@cache  # the functions share assets and layers (the same staged files): each file is parsed once per run
def imports_of(path: Path, module: str) -> tuple[tuple[str, tuple[str, ...], int], ...]:
    """(module, names of ``from module import ...``, line) for each import the module ``module`` at ``path``
    runs, relative imports made absolute."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    visitor = _Imports(package)
    visitor.visit(ast.parse(path.read_bytes(), filename=str(path)))
    return tuple(visitor.found)


class _Imports(ast.NodeVisitor):
    def __init__(self, package: str) -> None:
        self.package = package
        self.found: list[tuple[str, tuple[str, ...], int]] = []

    def visit_If(self, node: ast.If) -> None:
        if _is_type_checking(node.test):
            for statement in node.orelse:
                self.visit(statement)
            return
        taken = _version_test(node.test)
        if taken is not None:
            self.visit(node.test)
            for statement in node.body if taken else node.orelse:
                self.visit(statement)
            return
        self.generic_visit(node)

    def visit_Try(self, node: ast.Try | ast.TryStar) -> None:
        if any(_catches_import_error(handler) for handler in node.handlers):
            for statement in (*node.handlers, *node.orelse, *node.finalbody):
                self.visit(statement)
            return
        self.generic_visit(node)

    def visit_TryStar(self, node: ast.TryStar) -> None:
        self.visit_Try(node)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.found.append((alias.name, (), node.lineno))

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            base = self.package.split(".") if self.package else []
            base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
            module = ".".join([*base, *([node.module] if node.module else [])])
        else:
            module = node.module or ""
        self.found.append((module, tuple(alias.name for alias in node.names), node.lineno))

    def visit_Call(self, node: ast.Call) -> None:
        function = node.func
        name = function.attr if isinstance(function, ast.Attribute) else getattr(function, "id", None)
        if name in {"import_module", "find_spec", "__import__"} and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str) and not first.value.startswith("."):
                self.found.append((first.value, (), node.lineno))
        self.generic_visit(node)


RUNTIME_VERSION = tuple(int(part) for part in PIP_PYTHON_VERSION.split("."))


def _version_test(test: ast.expr) -> bool | None:
    """Whether ``sys.version_info < (3, N)`` (or >=, >, <=) holds on the functions' Python; None for another test."""
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.comparators[0], ast.Tuple)):
        return None
    left = test.left
    if not (isinstance(left, ast.Attribute) and left.attr == "version_info"):
        return None
    try:
        bound = tuple(int(ast.literal_eval(item)) for item in test.comparators[0].elts)
    except (ValueError, TypeError):
        return None
    current = RUNTIME_VERSION[: len(bound)]
    operations = {
        ast.Lt: current < bound,
        ast.LtE: current <= bound,
        ast.Gt: current > bound,
        ast.GtE: current >= bound,
    }
    return operations.get(type(test.ops[0]))


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _catches_import_error(handler: ast.ExceptHandler) -> bool:
    caught = handler.type
    names = caught.elts if isinstance(caught, ast.Tuple) else [caught] if caught is not None else []
    return any(getattr(name, "id", None) in {"ImportError", "ModuleNotFoundError"} for name in names)


def defines(path: Path, name: str) -> bool:
    """Whether the module at ``path`` binds ``name`` at its top level (a def, an assignment or an import)."""
    for node in ast.parse(path.read_bytes()).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == name:
            return True
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            return True
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.target.id == name:
            return True
        if isinstance(node, (ast.Import, ast.ImportFrom)) and any(
            (alias.asname or alias.name.partition(".")[0]) == name for alias in node.names
        ):
            return True
    return False
