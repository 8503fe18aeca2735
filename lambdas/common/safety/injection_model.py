"""Learned half of the injection prefilter: a linear model over word and character n-grams, pure Python.

The weights (injection_model.json beside this file) are trained offline by bench/train_prefilter.py with
scikit-learn (logistic regression) on the *dev* split of public labelled corpora only; the Lambda never
imports scikit-learn. Scoring is a dictionary lookup per n-gram:

    z = bias + (sum of the weights of the features) / sqrt(number of features)
    p = 1 / (1 + exp(-z))

Features of the lower-cased text, NFKC-normalized with invisible characters kept (normalize.py): its distinct
words (``\\w+``) and adjacent word pairs, and the character n-grams (lengths named in the weights file) of its
distinct whitespace-separated tokens, so punctuation such as ``<|im_start|>`` or ``![`` is seen too. Dividing
by the square root of the number of features keeps the score comparable between a one-line prompt and a 2 KB
one; counting distinct words and tokens means repeating a text does not change its score.

The file is read once, at import, and cached in the module (``MODEL``); ``load`` reads another file.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

from common.safety.normalize import normalize_unicode

WEIGHTS_FILE = Path(__file__).with_name("injection_model.json")
_WORD = re.compile(r"\w+")
_MAX_CHARS = 16_384  # longer input is scored on its first 16 KB (validation caps prompts well below this)
_MAX_CACHED = 50_000  # tokens whose n-gram sums are kept (a few MB at most)


@dataclass(frozen=True)
class LinearModel:
    bias: float
    char_sizes: tuple[int, ...]
    words: dict[str, float]  # words and "word word" pairs
    chars: dict[str, float]  # character n-grams of whitespace-separated tokens
    version: str = ""
    # token -> (sum of its character n-gram weights, number of its n-grams); prompts repeat the same few
    # thousand tokens, so after warm-up a 2 KB prompt costs one lookup per distinct token
    _tokens: dict[str, tuple[float, int]] = field(default_factory=dict, compare=False, repr=False)

    def score(self, text: str) -> float:
        """Probability-like score in [0, 1] that ``text`` is a prompt injection or jailbreak."""
        norm = normalize(text)
        words = word_features(norm)
        total = sum(filter(None, map(self.words.get, words)))
        count = len(words)
        cache = self._tokens
        if len(cache) > _MAX_CACHED:
            cache.clear()
        for token in set(norm.split()):
            hit = cache.get(token)
            if hit is None:
                grams = token_ngrams(token, self.char_sizes)
                hit = cache[token] = (sum(filter(None, map(self.chars.get, grams))), len(grams))
            total += hit[0]
            count += hit[1]
        if not count:
            return 0.0
        z = self.bias + total / math.sqrt(count)
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))


def normalize(text: str) -> str:
    """The text the features are taken from: NFKC, invisible characters kept as the weights were trained,
    its first 16 KB, lower-cased, whitespace runs as one space."""
    return " ".join(normalize_unicode(text, keep_invisible=True)[:_MAX_CHARS].lower().split())


def word_features(norm: str) -> set[str]:
    """Distinct words and adjacent word pairs of normalized text."""
    tokens = _WORD.findall(norm)
    return {*tokens, *map(" ".join, pairwise(tokens))}


def token_ngrams(token: str, char_sizes: tuple[int, ...]) -> list[str]:
    """Character n-grams of one whitespace-separated token, padded with a space on each side (with repeats)."""
    padded = f" {token} "
    return [padded[i : i + n] for n in char_sizes for i in range(len(padded) - n + 1)]


def features(text: str, char_sizes: tuple[int, ...]) -> tuple[set[str], Counter[str]]:
    """What ``score`` weighs, for the training script: distinct word features, and the character n-grams of
    the distinct tokens (an n-gram counts once per distinct token that holds it)."""
    norm = normalize(text)
    return word_features(norm), Counter(g for t in set(norm.split()) for g in token_ngrams(t, char_sizes))


def load(path: Path = WEIGHTS_FILE) -> LinearModel:
    data = json.loads(path.read_text(encoding="utf-8"))
    return LinearModel(
        bias=float(data["bias"]),
        char_sizes=tuple(int(n) for n in data["char_sizes"]),
        words={str(k): float(v) for k, v in data["words"].items()},
        chars={str(k): float(v) for k, v in data["chars"].items()},
        version=str(data.get("version", "")),
    )


MODEL = load()
