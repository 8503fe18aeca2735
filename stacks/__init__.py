"""The kit's CDK code. Stacks import the runtime contracts their functions parse (lambdas/<package>/contract.py).

The functions' code lives in lambdas/, whose top-level packages (`common`, `pipeline`, `knowledge`) are what
the Lambda runtime imports from the asset root. So that a stack builds a function's settings with the very
model the function parses, lambdas/ goes on the import path here, once, for whatever imports `stacks`
(app.py, tools, tests, bench); pytest's `pythonpath` and mypy's `mypy_path` name it too.
"""

from __future__ import annotations

import sys
from pathlib import Path

LAMBDAS_DIR = Path(__file__).resolve().parent.parent / "lambdas"
if str(LAMBDAS_DIR) not in sys.path:
    sys.path.append(str(LAMBDAS_DIR))
