"""Recall and false-positive rate of the prompt-injection prefilter on public labelled corpora.

Corpora (all from PyPI, pinned in requirements-bench.txt; only their data files are read):
- bastioncorpus 0.6.0: 181 rows, 109 malicious (direct/indirect injection, persona jailbreaks,
  exfiltration, delimiter injection, obfuscation; en/de/fr/es/it) and 72 benign false-positive traps
  written to look like injections ("ignore the previous email", "act as a reviewer").
- spikee 0.9.2 seed datasets: every jailbreak template x every instruction, composed the way
  `spikee generate` does (template.replace("<INSTRUCTION>", instruction)), for cybersec-2026-01,
  sysmsg-extraction-2025-04, llm-mailbox and investment-advice (there without the "no-jailbreak"
  template, whose compositions are plain finance questions, not injections). Benign: the
  investment-advice-fp standalone inputs and the investment-advice standalone questions (off-topic
  requests without any injection), and the investment-advice instructions alone (same kind, also in
  spikee's zu/gd/ga/sq translations: the only benign text in those languages).
- More benign text: chatterbot-corpus 1.3.3 (dialog lines, 30 languages), agentdojo 0.1.35 (agent user
  tasks; emails, files, calendar entries and reviews of its environments), Django 5.2.19 UI messages
  (English, de/fr/es/it, and ga/gd/sq).

Held-out split: one third of the bastion rows and one third of spikee's jailbreak templates (by a
hash of their id) were set aside before the rules were tuned; tuning looked only at the rest. The
learned scorer (bench/train_prefilter.py) adds a second split made before it was trained: one third of
spikee's instructions, and one third of every benign source (by dialog, task, document or message); it
trains only on samples that are dev in every split. "held-out instructions too" rows count held-out
templates composed with held-out instructions only: unseen wrapper and unseen request.
Run: `python -m bench.prefilter_eval [--threshold 0.5] [--misses] [--rules-only] [--sweep]`.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import sys
import time
from collections.abc import Iterable, Sequence
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
    # spikee compositions: whether the *instruction* is in the held-out third too (a second split, made before
    # the learned scorer was trained, so that the model cannot simply recognise instructions it was trained on)
    instruction_held_out: bool = False
    group: str = ""  # samples that share a template or a source row (for grouped cross-validation)

    @property
    def trainable(self) -> bool:
        """In the dev split for every split that applies: the only samples training or tuning may see."""
        return not self.held_out and not self.instruction_held_out


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
            group=f"bastion:{r['id']}",
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
                        _held_out(f"spikee-ins:{ins['id']}"),
                        f"spikee-jb:{jb['id']}",
                    ),
                )
        for row in _jsonl(root / name / "standalone_user_inputs.jsonl"):
            malicious = name != "seeds-investment-advice"
            corpus = f"spikee:{name}" if malicious else "spikee:investment-advice standalone (benign)"
            text = str(row["text"])
            held = _held_out(f"spikee:{row['id']}")
            out.setdefault(text, Sample(corpus, str(row["id"]), text, malicious, held, group=f"spikee:{row['id']}"))
    for row in _jsonl(root / "seeds-investment-advice-fp" / "standalone_user_inputs.jsonl"):
        text = str(row["text"])
        out.setdefault(
            text,
            Sample(
                "spikee:investment-advice-fp",
                str(row["id"]),
                text,
                False,
                _held_out(f"spikee:{row['id']}"),
                group=f"spikee:{row['id']}",
            ),
        )
    return list(out.values())


def spikee_benign_instructions() -> list[Sample]:
    """The investment-advice instructions on their own: off-topic finance requests, no injection (as the
    standalone questions above), in English and in spikee's zu/gd/ga/sq translations. They are the only
    benign text in those four languages, so they show whether a learned scorer flags the language itself."""
    rows = _jsonl(
        _package_dir("spikee") / "data" / "workspace" / "datasets" / "seeds-investment-advice" / "instructions.jsonl"
    )
    out = []
    for row in rows:
        translated = row.get("lang", "en") != "en"
        corpus = "spikee:investment-advice instructions alone (benign)" + (
            " (zu/gd/ga/sq translations)" if translated else ""
        )
        key = f"spikee-ins:{row['id']}"
        out.append(Sample(corpus, str(row["id"]), str(row["instruction"]), False, _held_out(key), _held_out(key), key))
    return out


def chatterbot_samples() -> list[Sample]:
    """chatterbot-corpus: every line of its small-talk dialogs (questions and answers), 30 languages."""
    import yaml  # noqa: PLC0415 - bench only

    root = _package_dir("chatterbot_corpus") / "data"
    out: dict[str, Sample] = {}
    for path in sorted(root.glob("*/*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for i, dialog in enumerate(data.get("conversations") or []):
            key = f"chatterbot:{path.parent.name}/{path.stem}:{i}"  # a dialog stays on one side of the split
            for j, line in enumerate(dialog if isinstance(dialog, list) else [dialog]):
                text = str(line).strip()
                if len(text) >= 8:
                    out.setdefault(
                        text, Sample("chatterbot-corpus (benign)", f"{key}:{j}", text, False, _held_out(key), group=key)
                    )
    return list(out.values())


def agentdojo_samples() -> list[Sample]:
    """AgentDojo: the benign user tasks of every suite version, and the documents of its environments (emails,
    files, calendar entries, reviews, web pages) with the injection slots set to their benign defaults."""
    import ast  # noqa: PLC0415 - bench only

    import yaml  # noqa: PLC0415 - bench only

    root = _package_dir("agentdojo")
    out: dict[str, Sample] = {}
    for path in sorted((root / "default_suites").glob("*/*/user_tasks.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        constants = {
            t.id: n.value.value
            for n in ast.walk(tree)
            if isinstance(n, ast.Assign) and isinstance(n.value, ast.Constant) and isinstance(n.value.value, str)
            for t in n.targets
            if isinstance(t, ast.Name)
        }
        for node in ast.walk(tree):
            if not (isinstance(node, ast.ClassDef) and node.name.startswith("UserTask")):
                continue
            for stmt in node.body:
                if isinstance(stmt, ast.Assign) and any(
                    isinstance(t, ast.Name) and t.id == "PROMPT" for t in stmt.targets
                ):
                    text = _render(stmt.value, constants)
                    key = f"agentdojo-task:{path.parent.name}:{node.name}"  # same task across versions: one side
                    if text:
                        out.setdefault(
                            text, Sample("agentdojo user tasks (benign)", key, text, False, _held_out(key), group=key)
                        )

    class _Loader(yaml.SafeLoader):
        pass

    _Loader.add_constructor("!include", lambda loader, node: None)
    suites = root / "data" / "suites"
    for suite in sorted(p for p in suites.iterdir() if p.is_dir()):
        vectors = yaml.load((suite / "injection_vectors.yaml").read_text(encoding="utf-8"), Loader=_Loader) or {}
        defaults = {
            name: str(v.get("default", "")).replace("\\n", "\n").replace("\\t", "\t") for name, v in vectors.items()
        }
        for path in sorted([suite / "environment.yaml", *sorted((suite / "include").glob("*.yaml"))]):
            if not path.is_file():
                continue
            raw = path.read_text(encoding="utf-8")
            for name, value in defaults.items():
                raw = raw.replace("{" + name + "}", value.replace('"', "'"))
            data = yaml.load(raw, Loader=_Loader)
            for i, text in enumerate(_strings(data)):
                key = f"agentdojo-doc:{suite.name}/{path.stem}:{i}"
                if len(text) >= 40:
                    out.setdefault(
                        text, Sample("agentdojo documents (benign)", key, text, False, _held_out(key), group=key)
                    )
    return list(out.values())


def _render(node: object, constants: dict[str, str]) -> str:
    import ast  # noqa: PLC0415 - bench only

    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        parts = []
        for value in node.values:
            if isinstance(value, ast.Constant):
                parts.append(str(value.value))
            elif isinstance(value, ast.FormattedValue) and isinstance(value.value, ast.Name):
                parts.append(constants.get(value.value.id, value.value.id.strip("_").lower()))
        return "".join(parts)
    return ""


def _strings(data: object) -> Iterable[str]:
    if isinstance(data, str):
        yield data.strip()
    elif isinstance(data, dict):
        for value in data.values():
            yield from _strings(value)
    elif isinstance(data, list):
        for value in data:
            yield from _strings(value)


DJANGO_LANGUAGES = ("de", "fr", "es", "it", "ga", "gd", "sq")  # bastion's languages, spikee's translations (no zu)


def django_samples() -> list[Sample]:
    """Django's user-interface messages (forms, validation errors, admin) in English (the msgids) and in the
    translations named above: short, instruction-like benign text ("Enter a valid ...", "Ignore ...")."""
    root = _package_dir("django")
    out: dict[str, Sample] = {}
    for lang in ("en", *DJANGO_LANGUAGES):
        corpus = "django UI messages " + ("ga/gd/sq" if lang in ("ga", "gd", "sq") else "en/de/fr/es/it") + " (benign)"
        for path in sorted(root.glob(f"**/locale/{'de' if lang == 'en' else lang}/LC_MESSAGES/django.po")):
            app = path.parents[3].name
            for msgid, msgstr in _po_entries(path.read_text(encoding="utf-8")):
                text = msgid if lang == "en" else msgstr
                key = f"django:{app}:{msgid}"  # one message, every language: one side of the split
                if len(text) >= 12:
                    out.setdefault(text, Sample(corpus, f"{key}:{lang}", text, False, _held_out(key), group=key))
    return list(out.values())


def _po_entries(po: str) -> Iterable[tuple[str, str]]:
    """(msgid, first msgstr) of every translated entry of a gettext catalogue."""
    for block in po.split("\n\n"):
        fields: dict[str, list[str]] = {}
        current: list[str] | None = None
        for raw in block.splitlines():
            line = raw.strip()
            if line.startswith('"') and current is not None:
                current.append(line)
            elif line.startswith(("msgid ", "msgstr ", "msgstr[0] ")):
                name, value = line.split(" ", 1)
                current = fields.setdefault(name.replace("[0]", ""), [value])
            else:
                current = None
        msgid, msgstr = _po_text(fields.get("msgid", [])), _po_text(fields.get("msgstr", []))
        if msgid and msgstr:
            yield msgid, msgstr


def _po_text(parts: list[str]) -> str:
    return " ".join("".join(json.loads(p) for p in parts).split())


def extra_benign_samples() -> list[Sample]:
    return [*spikee_benign_instructions(), *chatterbot_samples(), *agentdojo_samples(), *django_samples()]


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


def _strict(s: Sample) -> bool:
    """Held out, and for a spikee composition its instruction held out too (unseen template, unseen request)."""
    return s.held_out and (s.instruction_held_out or not s.group.startswith("spikee-jb:"))


def evaluate(
    samples: Iterable[Sample],
    threshold: float,
    show_misses: bool,
    check_gating: bool = False,
    use_model: bool = True,
    sweep: Sequence[float] = (),
) -> str:
    tallies: dict[tuple[str, str], Tally] = {}
    misses: list[str] = []
    scored: list[tuple[Sample, float]] = []
    started = time.perf_counter()
    for s in samples:
        verdict = scan(s.text, threshold, use_model=use_model)
        scored.append((s, verdict.score))
        flagged = verdict.flagged
        if check_gating and verdict != scan(s.text, threshold, gate=False, use_model=use_model):
            raise SystemExit(f"trigger gating changed the verdict of {s.corpus} {s.sample_id}")
        split = "held-out" if s.held_out else "dev"
        translated = "translations" in s.corpus
        rest = "ALL without zu/gd/ga/sq translations" if not translated else "ALL translations only"
        groups = [s.corpus, "ALL", rest]
        for group in groups:
            for part in (split, "all"):
                tallies.setdefault((group, part), Tally()).add(s.malicious, flagged)
        if _strict(s):
            for group in ("ALL", rest):
                tallies.setdefault((f"{group}, held-out instructions too", "held-out"), Tally()).add(
                    s.malicious, flagged
                )
        if show_misses and not s.held_out and flagged != s.malicious:
            kind = "FN" if s.malicious else "FP"
            misses.append(f"{kind} {s.corpus} {s.sample_id}: {s.text[:160]!r}")
    count = len(scored)
    elapsed_ms = (time.perf_counter() - started) * 1000
    lines = [
        f"{'rules and model' if use_model else 'rules only'}, threshold {threshold}; {count} samples scanned in "
        f"{elapsed_ms:.0f} ms ({elapsed_ms / max(count, 1):.3f} ms each)",
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
    if sweep:
        lines += [
            "",
            "| threshold | recall held-out | recall held-out, no translations | FPR held-out | FPR all |",
            "|---|---|---|---|---|",
        ]
        for t in sweep:
            held, held_en, every = Tally(), Tally(), Tally()
            for s, score in scored:
                every.add(s.malicious, score >= t)
                if s.held_out:
                    held.add(s.malicious, score >= t)
                    if "translations" not in s.corpus:
                        held_en.add(s.malicious, score >= t)
            lines.append(f"| {t} | {held.recall()} | {held_en.recall()} | {held.fpr()} | {every.fpr()} |")
    if show_misses:
        lines += ["", *misses]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threshold", type=float, default=0.5)
    parser.add_argument("--misses", action="store_true", help="print dev-split misses (never held-out ones)")
    parser.add_argument("--check-gating", action="store_true", help="also scan ungated and fail on any difference")
    parser.add_argument("--rules-only", action="store_true", help="score with the pattern rules alone")
    parser.add_argument("--sweep", action="store_true", help="also print recall and FPR at thresholds 0.3-0.9")
    args = parser.parse_args()
    samples = [*bastion_samples(), *spikee_samples(), *extra_benign_samples()]
    sweep = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9) if args.sweep else ()
    print(evaluate(samples, args.threshold, args.misses, args.check_gating, not args.rules_only, sweep))


if __name__ == "__main__":
    main()
