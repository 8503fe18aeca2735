"""Dependency layer size: what the functions' layer from requirements-lambda.txt weighs, zipped and unzipped, and
the same for the evaluation layer (requirements-evaluation.txt: sacrebleu, rouge-score, jiwer), which only
functions that score model output get.

Budget (DESIGN.md): <= 50 MB unzipped. Lambda itself caps a function's code plus all its layers at 250 MB
unzipped, and the Powertools layer takes part of that. Unzipped is the sum of the files' sizes (what Lambda
extracts under /opt); zipped is the folder deflated at level 9 into one archive, as the CDK CLI uploads a
directory asset.

Run: `python -m bench.layer_size` (builds the layer when `make layer` has not). Writes its section of
bench/results.md.
"""

from __future__ import annotations

import datetime
import io
import zipfile
from collections import defaultdict
from pathlib import Path

from bench.results_file import write_section
from stacks.common.dependency_layer import (
    EVALUATION_BUILD_ROOT,
    EVALUATION_PLATFORMS,
    EVALUATION_REQUIREMENTS,
    LAYER_PYTHON_DIR,
    REQUIREMENTS,
    ROOT,
    build_dependencies,
)

BUDGET_MB = 50.0
EVALUATION_BUDGET_MB = 100.0  # tests/stacks/test_dependency_layer.py: the evaluation layer's own ceiling
MB = 1024 * 1024


def files_of(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def zipped_size(folder: Path) -> int:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for path in files_of(folder):
            archive.write(path, path.relative_to(folder).as_posix())
    return buffer.getbuffer().nbytes


def by_top_level(folder: Path) -> dict[str, int]:
    """Unzipped bytes per top-level entry of python/ (a package, or its .dist-info metadata)."""
    sizes: dict[str, int] = defaultdict(int)
    packages = folder / LAYER_PYTHON_DIR
    for path in files_of(packages):
        sizes[path.relative_to(packages).parts[0]] += path.stat().st_size
    return dict(sizes)


def main() -> None:
    folder = build_dependencies()
    files = files_of(folder)
    unzipped = sum(p.stat().st_size for p in files)
    zipped = zipped_size(folder)
    pins = [
        line.split()[0]
        for line in REQUIREMENTS.read_text().replace("\\\n", " ").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    verdict = "meets" if unzipped / MB <= BUDGET_MB else "OVER BUDGET"
    rows = "\n".join(
        f"| `{name}` | {size / 1024:,.1f} KB |"
        for name, size in sorted(by_top_level(folder).items(), key=lambda i: -i[1])
    )
    body = f"""## Dependency layer size

`python -m bench.layer_size` — the layer built from `requirements-lambda.txt` ({", ".join(f"`{p}`" for p in pins)})
by `pip install --platform manylinux2014_aarch64 --python-version 3.13 --only-binary=:all: --require-hashes
--no-deps --no-compile --target` (`{folder.relative_to(ROOT)}`).

- Date: {datetime.date.today().isoformat()}; {len(files)} files
- **Unzipped: {unzipped / MB:.2f} MB** (budget <= {BUDGET_MB:.0f} MB: {verdict}; Lambda's limit for code plus all
  layers is 250 MB)
- Zipped (deflate level 9, as uploaded): {zipped / MB:.2f} MB

| top-level entry of python/ | unzipped |
|---|---|
{rows}
"""
    body += evaluation_section()
    print(body)
    write_section("layer", body)


def evaluation_section() -> str:
    folder = build_dependencies(EVALUATION_REQUIREMENTS, EVALUATION_BUILD_ROOT, EVALUATION_PLATFORMS)
    files = files_of(folder)
    unzipped = sum(p.stat().st_size for p in files)
    verdict = "within" if unzipped / MB <= EVALUATION_BUDGET_MB else "OVER"
    largest = sorted(by_top_level(folder).items(), key=lambda i: -i[1])[:6]
    rows = "\n".join(f"| `{name}` | {size / 1024:,.1f} KB |" for name, size in largest)
    return f"""
### Evaluation layer

`requirements-evaluation.txt`, built the same way plus `--platform manylinux_2_28_aarch64`
(`{folder.relative_to(ROOT)}`); {len(files)} files.

- **Unzipped: {unzipped / MB:.2f} MB** (its own ceiling <= {EVALUATION_BUDGET_MB:.0f} MB: {verdict}; past the
  dependency layer's 50 MB, which is why it is a second layer)
- Zipped (deflate level 9): {zipped_size(folder) / MB:.2f} MB

| largest top-level entries of python/ | unzipped |
|---|---|
{rows}
"""


if __name__ == "__main__":
    main()
