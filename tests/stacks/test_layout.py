"""The layout of stacks/ holds what DESIGN.md and the README promise, read from the source (no synth).

- `stacks/common/` is building blocks only: it imports nothing else from `stacks/`.
- `stacks/config/` is what the stage packages build on: it imports none of them.
- A stage package (`stacks/<stage>/`) imports only `stacks.common`, `stacks.config` and itself, so one package
  can be copied out with those two; the composition (stage.py, usecase_files.py, app_builder.py) sits on top.
- No module or folder is named `constructs` (it would shadow the package CDK needs).
- The README's layout names every package and top-level module of `stacks/`.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STACKS = ROOT / "stacks"
SHARED = {"common", "config"}
APP_LEVEL = {"limits"}  # checks of the whole app, not a stage
STAGES = sorted(p.name for p in STACKS.iterdir() if (p / "__init__.py").is_file() and p.name not in SHARED | APP_LEVEL)


def stacks_imports(package: Path, root: Path = ROOT) -> dict[str, set[str]]:
    """Module (relative to ``root``) -> the `stacks.*` modules it imports, TYPE_CHECKING ones included."""
    found: dict[str, set[str]] = {}
    for path in sorted(package.rglob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
            elif isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
        found[str(path.relative_to(root))] = {n for n in names if n == "stacks" or n.startswith("stacks.")}
    return found


def outside(imports: dict[str, set[str]], allowed: set[str]) -> dict[str, set[str]]:
    """The imports of each module that are not within one of the ``allowed`` packages."""
    problems = {
        module: {n for n in names if not any(n == a or n.startswith(f"{a}.") for a in allowed)}
        for module, names in imports.items()
    }
    return {module: names for module, names in problems.items() if names}


def test_the_stage_packages_are_found():
    assert {"foundation", "data", "knowledge", "guardrails"} <= set(STAGES)


def test_common_imports_nothing_else_from_stacks():
    assert outside(stacks_imports(STACKS / "common"), {"stacks.common"}) == {}


def test_config_imports_no_stage_package():
    assert outside(stacks_imports(STACKS / "config"), {"stacks.config"}) == {}


@pytest.mark.parametrize("stage", STAGES)
def test_a_stage_package_needs_only_common_config_and_itself(stage):
    imports = stacks_imports(STACKS / stage)
    assert imports, f"stacks/{stage}/ holds no module"
    assert outside(imports, {"stacks.common", "stacks.config", f"stacks.{stage}"}) == {}


def test_the_checks_see_a_forbidden_import(tmp_path):
    """The walk finds an import of another stage, even one made only for type checking."""
    module = tmp_path / "pkg" / "stack.py"
    module.parent.mkdir()
    module.write_text(
        "from typing import TYPE_CHECKING\nfrom stacks.common.nag import acknowledge\n"
        "if TYPE_CHECKING:\n    from stacks.data.stack import DataStack\nimport stacks.knowledge.stack\n"
    )
    imports = stacks_imports(tmp_path / "pkg", root=tmp_path)
    assert outside(imports, {"stacks.common"}) == {"pkg/stack.py": {"stacks.data.stack", "stacks.knowledge.stack"}}


def test_no_module_is_named_constructs():
    shadowing = [
        str(p.relative_to(ROOT))
        for top in ("stacks", "lambdas", "tools", "tests", "bench")
        for p in (ROOT / top).rglob("constructs*")
        if p.name in ("constructs", "constructs.py")
    ]
    assert shadowing == []


def test_the_readme_layout_names_every_package_and_module_of_stacks():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    layout = readme[readme.index("## Layout") :]
    layout = layout[: layout.index("\n```\n", layout.index("```") + 3)]
    entries = {p.name + "/" for p in STACKS.iterdir() if (p / "__init__.py").is_file()}
    entries |= {p.name for p in STACKS.glob("*.py") if p.name != "__init__.py"}
    missing = [e for e in sorted(entries) if not re.search(rf"^\s+{re.escape(e)}\s", layout, re.M)]
    assert missing == []


@pytest.mark.parametrize(
    "off",
    [
        ("prompts", "agent", "api", "web", "observability"),  # the budget's four stacks
        ("prompts", "agent", "api", "web"),  # Observability watches the others: their names come with them
    ],
)
def test_a_switched_off_stack_is_not_imported(off):
    """stage.py imports a stack's package only to build it, so an app without the later stacks loads none of their
    modules, nor the large AWS service modules only they use (synth time; bench/results.md)."""
    unbuilt = (*off, "scale")  # scale: hosted_model and fine_tuning are off by default
    code = f"""
import sys
from stacks.app_builder import build_app, cdk_json_context
import aws_cdk as cdk
context = cdk_json_context(stage="dev", **{{f"features.{{f}}": False for f in {off!r}}})
build_app(cdk.App(context=context))
print(" ".join(sorted(sys.modules)))
"""
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    loaded = set(result.stdout.split())
    assert {"stacks.data.stack", "stacks.guardrails.stack"} <= loaded  # the walk sees what was built
    # Their use-case file models (settings.py, with the package) are read with every use case.
    built = {m for m in loaded if m.startswith("stacks.") and m.split(".")[1] in unbuilt and m.count(".") == 2}
    built -= {f"stacks.{s}.settings" for s in unbuilt}
    assert built == set()
    only_later = {"aws_cdk.aws_apigateway", "aws_cdk.aws_cognito", "aws_cdk.aws_wafv2", "aws_cdk.aws_cloudfront"}
    assert only_later & loaded == set()
