"""`make mutate-sample`: a sampled mutation score for code whose tests synthesize CDK constructs (stacks/common).

`make mutate` runs mutmut over the pure Lambda modules, where one mutant costs milliseconds. A stacks/common mutant
costs a CDK synth (the block tests take about 20 s), and mutmut forks its workers from one process that holds the
jsii kernel (a Node child on a pipe), which forked children cannot share. So this tool lets mutmut generate the
mutants (the same operators as `make mutate`), draws a seeded random sample of them, and runs the tests of each
in a fresh pytest process (`MUTANT_UNDER_TEST` selects the mutant in mutmut's trampolines), stopping at the first
failure. The score is reported with its Wilson 95% interval, because a sample estimates the score; it does not
measure it. A control run with no mutant must pass first, or every mutant would count as killed.

Usage: `python -m tools.mutate_sample [--paths stacks/common/] [--sample 40] [--seed 9] [--survivors]`.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The tests of the stacks: the blocks, every stack (alone and in the stage), the forks, the deploy path. Those
# that need the session-wide synth of the whole app (marked `synth`) are left out by default: minutes per mutant.
TESTS = ("tests/stacks",)
Z_95 = 1.959963984540054  # the standard normal's 97.5% quantile


@dataclass(frozen=True)
class Outcome:
    mutant: str
    killed: bool
    seconds: float


def wilson_interval(successes: int, trials: int, z: float = Z_95) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion (three lines; not worth a statsmodels import in a tool)."""
    if trials == 0:
        return (0.0, 1.0)
    p = successes / trials
    centre = (p + z * z / (2 * trials)) / (1 + z * z / trials)
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / (1 + z * z / trials)
    return (max(0.0, centre - half), min(1.0, centre + half))


def generate(workdir: Path, paths: list[str]) -> list[str]:
    """Copy the repository into ``workdir`` and let mutmut write the mutants of ``paths``; return their names."""
    subprocess.run(["git", "clone", "-q", str(ROOT), str(workdir)], check=True)  # noqa: S603, S607 - fixed argv, git from PATH
    script = (
        "from pathlib import Path\n"
        "from mutmut.configuration import config\n"
        "from mutmut.mutation.trampoline import set_mutant_under_test\n"
        "from mutmut.utils.file_utils import copy_also_copy_files, copy_src_dir, setup_source_paths\n"
        "import mutmut.__main__ as m\n"
        f"config().source_paths = [Path(p) for p in {paths!r}]\n"
        "config().also_copy.append(Path('tests'))\n"
        "set_mutant_under_test('mutant_generation')\n"
        "copy_src_dir(); copy_also_copy_files(); setup_source_paths()\n"
        "m.create_mutants(1)\n"
    )
    subprocess.run([sys.executable, "-c", script], cwd=workdir, check=True, stdout=subprocess.DEVNULL)  # noqa: S603
    # The tests read more of the repository than the code (pins, docs, the README): everything else of the
    # checkout goes beside the mutants as it is, and the layer build and the pinned CDK CLI are reused, not rebuilt.
    mutants = workdir / "mutants"
    for entry in workdir.iterdir():
        if entry.name in {"mutants", ".git"} or (mutants / entry.name).exists():
            continue
        if entry.is_file():
            shutil.copy2(entry, mutants / entry.name)
        else:
            (mutants / entry.name).symlink_to(entry)
    for built in (".build", "node_modules"):
        if (ROOT / built).is_dir() and not (mutants / built).exists():
            (mutants / built).symlink_to(ROOT / built)
    names: list[str] = []
    for path in paths:
        for meta in sorted((workdir / "mutants" / path).rglob("*.meta")):
            names.extend(json.loads(meta.read_text())["exit_code_by_key"])
    return names


def run_tests(mutants_dir: Path, mutant: str, tests: list[str], marker: str) -> tuple[bool, float, str]:
    """Run ``tests`` under ``mutant`` in a fresh process: (killed, seconds, the end of pytest's output)."""
    env = {**os.environ, "MUTANT_UNDER_TEST": mutant}
    selection = ["-m", marker] if marker else []
    started = time.monotonic()
    result = subprocess.run(  # noqa: S603 - this interpreter running pytest, fixed argv
        [sys.executable, "-m", "pytest", "-x", "-q", *selection, "-p", "no:cacheprovider", *tests],
        cwd=mutants_dir,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    return result.returncode != 0, time.monotonic() - started, result.stdout[-2000:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--paths", nargs="+", default=["stacks/common/"])
    parser.add_argument("--sample", type=int, default=40)
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument("--survivors", action="store_true", help="print the surviving mutants' names")
    parser.add_argument("--tests", nargs="+", default=list(TESTS), help="test files or folders to run per mutant")
    parser.add_argument("--marker", default="not synth", help="pytest -m expression ('' runs the synth tests too)")
    parser.add_argument("--names", nargs="+", help="run these mutants instead of a sample")
    parser.add_argument("--keep", type=Path, help="generate into this folder and keep it (to read the mutants)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="mutate-sample-") as tmp:
        workdir = args.keep or Path(tmp) / "repo"
        names = generate(workdir, args.paths)
        mutants_dir = workdir / "mutants"
        failed_control, _, output = run_tests(mutants_dir, "", args.tests, args.marker)
        if failed_control:
            print(f"{output}\nthe tests fail without any mutant: fix them first", file=sys.stderr)
            return 1
        sample = args.names or sorted(
            random.Random(args.seed).sample(  # noqa: S311 - a reproducible sample, nothing secret
                names, min(args.sample, len(names))
            )
        )
        outcomes: list[Outcome] = []
        for index, name in enumerate(sample, 1):
            killed, seconds, _ = run_tests(mutants_dir, name, args.tests, args.marker)
            outcomes.append(Outcome(name, killed, seconds))
            verdict = "killed  " if killed else "SURVIVED"
            print(f"[{index}/{len(sample)}] {verdict} {name} ({seconds:.0f} s)", flush=True)
    killed_count = sum(o.killed for o in outcomes)
    low, high = wilson_interval(killed_count, len(outcomes))
    print(
        f"{' '.join(args.paths)}: {len(names)} mutants, {len(outcomes)} run (seed {args.seed}): "
        f"{killed_count} killed = {killed_count / max(1, len(outcomes)):.1%} (Wilson 95%: {low:.1%}-{high:.1%})"
    )
    if args.survivors:
        for outcome in outcomes:
            if not outcome.killed:
                print(f"survived: {outcome.mutant}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
