"""`make mutate`: mutmut over the pure domain modules, run with the fast unit tests only (never synth tests).

mutmut names a mutant after its file path (`lambdas/pipeline/stats.py` -> `lambdas.pipeline.stats`) and strips only
a `src.` prefix, while the functions import their code from inside `lambdas/` (`pipeline.stats`, `common.safety`),
as the tests do (pyproject's pythonpath). This wrapper strips `lambdas.` the same way, so the trampoline of each
mutated function finds its mutants; otherwise every mutant would silently survive. Configuration:
`[tool.mutmut]` in pyproject.toml. Usage: `python -m tools.mutate run [MUTANT_NAMES...]`, `... results`, `... show`.
"""

from __future__ import annotations

from pathlib import Path

import mutmut.__main__ as mutmut_main
from mutmut.mutation import file_mutation
from mutmut.utils import format_utils

_original_mutant_name = format_utils.get_mutant_name


def _mutant_name(relative_source_path: Path, mutant_method_name: str) -> str:
    return _original_mutant_name(relative_source_path, mutant_method_name).removeprefix("lambdas.")


# Every module that imported the function by name gets the patched one (mutmut 3.8).
for _module in (format_utils, file_mutation, mutmut_main):
    _module.get_mutant_name = _mutant_name  # type: ignore[attr-defined]

if __name__ == "__main__":
    mutmut_main.cli()
