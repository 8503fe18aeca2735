"""Train the learned half of the injection prefilter on the dev split; write lambdas/common/safety/injection_model.json.

Data: the samples of bench/prefilter_eval.py (bastioncorpus, spikee compositions and benign inputs) plus the
extra benign text it loads (chatterbot-corpus dialogs, AgentDojo user tasks and documents, Django UI messages,
spikee's finance instructions alone). Only samples whose every split is "dev" are read: the held-out third
of bastion rows, of spikee jailbreak templates, of spikee instructions and of every benign source is never
featurized here. Hyper-parameters are chosen by grouped cross-validation inside the dev split (a template,
a dialog, a message stays in one fold), never on held-out figures.

Model: logistic regression (scikit-learn, liblinear, L2; classes balanced, the benign rows of the injection
corpora weighed 5x as hard negatives) over the features that lambdas/common/safety/injection_model.py
computes at run time (``features``: distinct words and word pairs, character n-grams of the distinct
tokens), the vector divided by the square root of its sum. The weights are pruned to the KEEP largest by
magnitude and rounded, so the file stays small and the Lambda scores in pure Python.

Run: `python -m bench.train_prefilter [--cv]` (scikit-learn from requirements-bench.txt; never a runtime
dependency). Deterministic: the same corpora and options give the same file.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from scipy.sparse import csr_matrix  # type: ignore[import-untyped]
from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]
from sklearn.model_selection import GroupKFold  # type: ignore[import-untyped]

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lambdas"))

from common.safety.injection import scan
from common.safety.injection_model import WEIGHTS_FILE, LinearModel, features

from bench.prefilter_eval import Sample, bastion_samples, extra_benign_samples, spikee_samples

CHAR_SIZES = (3, 5)
C = 4.0
MIN_DF = 2
KEEP = 12_000
HARD_NEGATIVES = ("bastioncorpus", "spikee:")  # benign rows of the injection corpora (malicious ones are not weighed)
HARD_WEIGHT = 5.0
# The exported bias is shifted so that the model alone reaches 0.5 (the default threshold) where its trained
# probability is 0.7. Chosen by grouped CV on dev (max(rules, model) at 0.5: 25 -> 10 false positives of 10,938
# for recall 0.948 -> 0.881), and because at 0.6 one tricky-benign sentence of the unit tests
# ("My previous instructions to the courier were ignored ...") is flagged.
OPERATING_POINT = 0.7
DIGITS = 3


def training_samples() -> list[Sample]:
    return [s for s in (*bastion_samples(), *spikee_samples(), *extra_benign_samples()) if s.trainable]


def _keys(text: str, char_sizes: tuple[int, ...]) -> Counter[str]:
    words, chars = features(text, char_sizes)
    keys = Counter("w" + w for w in words)
    keys.update({"c" + c: n for c, n in chars.items()})
    return keys


class Featurizer:
    def __init__(self, docs: Sequence[Counter[str]], min_df: int) -> None:
        df = Counter(k for doc in docs for k in doc)
        self.vocab = {k: i for i, k in enumerate(sorted(k for k, n in df.items() if n >= min_df))}

    def matrix(self, docs: Sequence[Counter[str]]) -> csr_matrix:
        rows, cols, vals = [], [], []
        for r, doc in enumerate(docs):
            norm = 1.0 / math.sqrt(max(1, sum(doc.values())))  # every feature counts, known or not (as at run time)
            for k, n in doc.items():
                c = self.vocab.get(k)
                if c is not None:
                    rows.append(r)
                    cols.append(c)
                    vals.append(n * norm)
        return csr_matrix((vals, (rows, cols)), shape=(len(docs), len(self.vocab)), dtype=np.float64)


def sample_weights(samples: Sequence[Sample], hard_weight: float = HARD_WEIGHT) -> np.ndarray:
    """Hard negatives weigh ``hard_weight``, everything else 1; then both classes weigh the same.

    The hard negatives are the benign rows of the injection corpora themselves: bastion's traps and spikee's
    finance questions. spikee's investment-advice attacks wrap those very questions in jailbreak templates;
    weighed like the 12,000 chatterbot lines, the model learns "investment" as an attack word and flags
    plain finance requests (in grouped cross-validation, 31 of the 54 dev finance instructions alone).
    """
    w = np.array([hard_weight if not s.malicious and s.corpus.startswith(HARD_NEGATIVES) else 1.0 for s in samples])
    malicious = np.array([s.malicious for s in samples])
    w[malicious] *= w[~malicious].sum() / w[malicious].sum()
    return w * len(samples) / w.sum()


def fit(
    docs: Sequence[Counter[str]],
    labels: np.ndarray,
    weights: np.ndarray,
    c: float,
    min_df: int,
    keep: int,
    operating_point: float = 0.5,
) -> LinearModel:
    feats = Featurizer(docs, min_df)
    clf = LogisticRegression(C=c, solver="liblinear", max_iter=1000)
    clf.fit(feats.matrix(docs), labels, sample_weight=weights)
    coef = clf.coef_[0]
    order = np.argsort(-np.abs(coef), kind="stable")[:keep]
    names = {i: k for k, i in feats.vocab.items()}
    words: dict[str, float] = {}
    chars: dict[str, float] = {}
    for i in sorted(order, key=lambda j: names[int(j)]):
        w = round(float(coef[i]), DIGITS)
        if w:
            name = names[int(i)]
            (words if name[0] == "w" else chars)[name[1:]] = w
    bias = float(clf.intercept_[0]) - math.log(operating_point / (1 - operating_point))
    return LinearModel(round(bias, DIGITS), CHAR_SIZES, words, chars)


def cross_validate(
    samples: Sequence[Sample], configs: Sequence[tuple[tuple[int, ...], float, int, int, float]]
) -> None:
    """Grouped 3-fold CV inside the dev split: recall and FPR of model, rules, and their combinations."""
    labels = np.array([s.malicious for s in samples], dtype=int)
    groups = [s.group or f"{s.corpus}:{s.sample_id}" for s in samples]
    rules = np.array([scan(s.text, use_model=False).score for s in samples])
    translated = np.array(["translations" in s.corpus for s in samples])
    for char_sizes, c, min_df, keep, hard_weight in configs:
        started = time.perf_counter()
        docs = [_keys(s.text, char_sizes) for s in samples]
        model_p = np.zeros(len(samples))
        for train, test in GroupKFold(n_splits=3).split(docs, labels, groups):
            w = sample_weights([samples[i] for i in train], hard_weight)
            m = fit([docs[i] for i in train], labels[train], w, c, min_df, keep)
            m = LinearModel(m.bias, char_sizes, m.words, m.chars)
            for i in test:
                model_p[i] = m.score(samples[i].text)
        print(
            f"chars={char_sizes} C={c} min_df={min_df} keep={keep} hard_weight={hard_weight} "
            f"({time.perf_counter() - started:.0f} s)"
        )
        for name, score in (
            ("model", model_p),
            ("max(rules, model)", np.maximum(rules, model_p)),
            ("noisy-or", 1 - (1 - rules) * (1 - model_p)),
            ("shipped: max(rules, model shifted to OPERATING_POINT)", np.maximum(rules, _shift(model_p))),
        ):
            for t in (0.5, 0.6, 0.7, 0.8, 0.9):
                flagged = score >= t
                mal, ben = labels == 1, labels == 0
                rec = flagged[mal].mean()
                rec_en = flagged[mal & ~translated].mean()
                fpr = flagged[ben].mean()
                print(
                    f"  {name} t={t}: recall {rec:.3f} (no translations {rec_en:.3f}) "
                    f"FPR {fpr:.4f} ({flagged[ben].sum()}/{ben.sum()})"
                )
        fps = Counter(s.corpus for s, p in zip(samples, model_p, strict=True) if not s.malicious and p >= 0.5)
        print("  model false positives at 0.5 by corpus:", dict(fps))


def _shift(p: np.ndarray) -> np.ndarray:
    z = np.log(p / (1 - p)) - math.log(OPERATING_POINT / (1 - OPERATING_POINT))
    return np.asarray(1 / (1 + np.exp(-z)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cv", action="store_true", help="grouped cross-validation on the dev split, no output file")
    parser.add_argument("--out", type=Path, default=WEIGHTS_FILE)
    parser.add_argument("--grid", action="store_true", help="with --cv: a small grid around the defaults")
    args = parser.parse_args()
    samples = training_samples()
    counts = Counter((s.malicious, s.corpus) for s in samples)
    print(f"{len(samples)} dev samples: {sum(s.malicious for s in samples)} malicious")
    for (mal, corpus), n in sorted(counts.items()):
        print(f"  {'malicious' if mal else 'benign   '} {n:6} {corpus}")
    if args.cv:
        grid: list[tuple[tuple[int, ...], float, int, int, float]] = [(CHAR_SIZES, C, MIN_DF, KEEP, HARD_WEIGHT)]
        if args.grid:
            grid += [
                (sizes, c, MIN_DF, keep, hard)
                for sizes in ((3, 5), (4,), (3, 4, 5))
                for c in (1.0, 4.0, 16.0)
                for keep in (5_000, KEEP, 30_000)
                for hard in (1.0, 3.0, HARD_WEIGHT, 20.0)
                if sum((sizes != CHAR_SIZES, c != C, keep != KEEP, hard != HARD_WEIGHT)) == 1
            ]
        cross_validate(samples, grid)
        return
    labels = np.array([s.malicious for s in samples], dtype=int)
    weights = sample_weights(samples)
    model = fit([_keys(s.text, CHAR_SIZES) for s in samples], labels, weights, C, MIN_DF, KEEP, OPERATING_POINT)
    payload = {
        "version": "1",
        "trained_on": "dev split of bastioncorpus 0.6.0, spikee 0.9.2, chatterbot-corpus 1.3.3, agentdojo 0.1.35, "
        "Django 5.2.19 messages (bench/train_prefilter.py)",
        "options": {
            "C": C,
            "min_df": MIN_DF,
            "keep": KEEP,
            "hard_negative_weight": HARD_WEIGHT,
            "operating_point": OPERATING_POINT,
        },
        "bias": model.bias,
        "char_sizes": list(CHAR_SIZES),
        "words": model.words,
        "chars": model.chars,
    }
    args.out.write_text(
        json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=False) + "\n", encoding="utf-8"
    )
    print(f"wrote {args.out} ({args.out.stat().st_size / 1024:.0f} KB, {len(model.words) + len(model.chars)} weights)")


if __name__ == "__main__":
    main()
