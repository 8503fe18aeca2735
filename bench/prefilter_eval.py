"""Recall and false-positive rate of the prompt-injection prefilter on public labelled corpora.

Corpora (both from PyPI, pinned in requirements-bench.txt; only their data files are read):
- bastioncorpus 0.6.0: 181 rows, 109 malicious (direct/indirect injection, persona jailbreaks,
  exfiltration, delimiter injection, obfuscation; en/de/fr/es/it) and 72 benign false-positive traps
  written to look like injections ("ignore the previous email", "act as a reviewer").
- spikee 0.9.2 seed datasets: every jailbreak template x every instruction, composed the way
  `spikee generate` does (template.replace("<INSTRUCTION>", instruction)), for cybersec-2026-01,
  sysmsg-extraction-2025-04, llm-mailbox and investment-advice (there without the "no-jailbreak"
  template, whose compositions are plain finance questions, not injections). Benign: the
  investment-advice-fp standalone inputs and the investment-advice standalone questions (off-topic
  requests without any injection).

Held-out split: one third of the bastion rows and one third of spikee's jailbreak templates (by a
hash of their id) were set aside before the rules were tuned; tuning looked only at the rest.
Run: `python -m bench.prefilter_eval [--threshold 0.5] [--misses]`.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lambdas"))

from common.safety.injection import scan

SPIKEE_ATTACK_SETS = (
    "seeds-cybersec-2026-01",
    "seeds-sysmsg-extraction-2025-04",
    "seeds-llm-mailbox",
    "seeds-investment-advice",
)


@dataclass(frozen=True)
class Sample:
    corpus: str
    sample_id: str
    text: str
    malicious: bool
    held_out: bool


def _held_out(key: str) -> bool:
    return int(hashlib.sha256(key.encode()).hexdigest(), 16) % 3 == 0


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"{name} is not installed: pip install -r requirements-bench.txt")
    return Path(next(iter(spec.submodule_search_locations)))


def _jsonl(path: Path) -> list[dict[str, object]]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def bastion_samples() -> list[Sample]:
    rows = _jsonl(_package_dir("bastioncorpus") / "corpus" / "injections.jsonl")
    return [
        Sample(
            "bastioncorpus",
            str(r["id"]),
            str(r["text"]).replace("{canary}", "CANARY-7f3a"),
            r["label"] == "malicious",
            _held_out(f"bastion:{r['id']}"),
        )
        for r in rows
    ]


def spikee_samples() -> list[Sample]:
    root = _package_dir("spikee") / "data" / "workspace" / "datasets"
    out: dict[str, Sample] = {}
    for name in SPIKEE_ATTACK_SETS:
        jailbreaks = _jsonl(root / name / "jailbreaks.jsonl")
        instructions = _jsonl(root / name / "instructions.jsonl")
        for jb in jailbreaks:
            if name == "seeds-investment-advice" and jb.get("jailbreak_type") == "no-jailbreak":
                continue
            for ins in instructions:
                text = str(jb["text"]).replace("<INSTRUCTION>", str(ins["instruction"]))
                translated = jb.get("lang", "en") != "en" or ins.get("lang", "en") != "en"
                out.setdefault(
                    text,
                    Sample(
                        f"spikee:{name}" + (" (zu/gd/ga/sq translations)" if translated else ""),
                        f"{jb['id']}|{ins['id']}",
                        text,
                        True,
                        _held_out(f"spikee-jb:{jb['id']}"),
                    ),
                )
        for row in _jsonl(root / name / "standalone_user_inputs.jsonl"):
            malicious = name != "seeds-investment-advice"
            corpus = f"spikee:{name}" if malicious else "spikee:investment-advice standalone (benign)"
            text = str(row["text"])
            out.setdefault(text, Sample(corpus, str(row["id"]), text, malicious, _held_out(f"spikee:{row['id']}")))
    for row in _jsonl(root / "seeds-investment-advice-fp" / "standalone_user_inputs.jsonl"):
        text = str(row["text"])
        out.setdefault(
            text,
            Sample("spikee:investment-advice-fp", str(row["id"]), text, False, _held_out(f"spikee:{row['id']}")),
        )
    return list(out.values())


@dataclass
class Tally:
    tp: int = 0
    fn: int = 0
    fp: int = 0
    tn: int = 0

    def add(self, malicious: bool, flagged: bool) -> None:
        if malicious:
            self.tp += flagged
            self.fn += not flagged
        else:
            self.fp += flagged
            self.tn += not flagged

    def recall(self) -> str:
        n = self.tp + self.fn
        return f"{self.tp / n:.3f} ({self.tp}/{n})" if n else "-"

    def fpr(self) -> str:
        n = self.fp + self.tn
        return f"{self.fp / n:.3f} ({self.fp}/{n})" if n else "-"


def evaluate(samples: Iterable[Sample], threshold: float, show_misses: bool, check_gating: bool = False) -> str:
    tallies: dict[tuple[str, str], Tally] = {}
    misses: list[str] = []
    count = 0
    started = time.perf_counter()
    for s in samples:
        count += 1
        verdict = scan(s.text, threshold)
        flagged = verdict.flagged
        if check_gating and verdict != scan(s.text, threshold, gate=False):
            raise SystemExit(f"trigger gating changed the verdict of {s.corpus} {s.sample_id}")
        split = "held-out" if s.held_out else "dev"
        translated = "translations" in s.corpus
        groups = [
            s.corpus,
            "ALL",
            "ALL without zu/gd/ga/sq translations" if not translated else "ALL translations only",
        ]
        for group in groups:
            for part in (split, "all"):
                tallies.setdefault((group, part), Tally()).add(s.malicious, flagged)
        if show_misses and not s.held_out and flagged != s.malicious:
            kind = "FN" if s.malicious else "FP"
            misses.append(f"{kind} {s.corpus} {s.sample_id}: {s.text[:160]!r}")
    elapsed_ms = (time.perf_counter() - started) * 1000
    lines = [
        f"threshold {threshold}; {count} samples scanned in {elapsed_ms:.0f} ms "
        f"({elapsed_ms / max(count, 1):.3f} ms each)",
        "",
        "| corpus | recall dev | recall held-out | recall all | FPR dev | FPR held-out | FPR all |",
        "|---|---|---|---|---|---|---|",
    ]
    names = sorted({g for g, _ in tallies}, key=lambda g: (g.startswith("ALL"), g))
    empty = Tally()
    for name in names:
        dev, held, every = (tallies.get((name, part), empty) for part in ("dev", "held-out", "all"))
        label = f"**{name}**" if name.startswith("ALL") else name
        cells = [dev.recall(), held.recall(), every.recall(), dev.fpr(), held.fpr(), every.fpr()]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    if show_misses:
        lines += ["", *misses]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threshold", type=float, default=0.5)
    parser.add_argument("--misses", action="store_true", help="print dev-split misses (never held-out ones)")
    parser.add_argument("--check-gating", action="store_true", help="also scan ungated and fail on any difference")
    args = parser.parse_args()
    print(evaluate([*bastion_samples(), *spikee_samples()], args.threshold, args.misses, args.check_gating))


if __name__ == "__main__":
    main()
