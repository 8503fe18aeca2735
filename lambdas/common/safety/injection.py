"""Prompt-injection prefilter: weighted patterns plus a small learned scorer, a threshold and its reasons.

A cheap first line in front of the Bedrock guardrail's PROMPT_ATTACK filter, not a replacement for
it: it catches the common phrasings (instruction override, persona jailbreaks, prompt extraction,
fake conversation turns, exfiltration through links and markup, encoded payloads) in a fraction of
a millisecond, before any AWS call is paid for. Measured recall and false-positive rate on public
corpora are in bench/results.md (bench/prefilter_eval.py).

Scoring: each matched rule (injection_rules.py) contributes its weight once; the rules' score is the
noisy-OR of the weights (1 - prod(1 - w)), so two medium signals together outweigh one, and the score
stays in [0, 1]. The text is Unicode-normalized (normalize.py) and scanned as written and in the other
readings of decoders.py: leetspeak undone, spaced-out letters joined, rot13, reversed, and encoded runs
decoded (bounded), because those encodings hide an instruction from a plain scan. A rule matched only in
another reading is reported with the reading's name: ``override_instructions+decoded``.

The rules are precise but miss unseen jailbreak templates; a linear model over word and character n-grams
(injection_model.py, weights trained offline on the dev split by bench/train_prefilter.py) generalizes
better. The verdict's score is the larger of the two; reasons name the matched rules and, when the model
scored at least 0.1, ``model:<score>``. Both stay stdlib-only: about 1-2 ms for 2 KB inside the Lambda.
"""

from __future__ import annotations

from dataclasses import dataclass

from common.safety import injection_model
from common.safety.decoders import views
from common.safety.injection_rules import RULES
from common.safety.normalize import normalize_unicode

_MODEL_REASON_MIN = 0.1  # below this the model's score is not worth a reason

# The table as it was before rules became records, for callers that still read it: (name, weight, pattern)
# per rule, and the triggers by rule name.
_RULES = tuple((rule.name, rule.weight, rule.pattern) for rule in RULES)
_TRIGGERS = {rule.name: rule.triggers for rule in RULES}


@dataclass(frozen=True)
class InjectionVerdict:
    score: float
    threshold: float
    reasons: tuple[str, ...]

    @property
    def flagged(self) -> bool:
        return self.score >= self.threshold


def scan(text: str, threshold: float = 0.5, *, gate: bool = True, use_model: bool = True) -> InjectionVerdict:
    """Score ``text``; ``reasons`` name the matched rules (with ``+decoded`` etc. for hidden ones).

    ``gate=False`` runs every rule regardless of its trigger substrings (for equivalence checks);
    ``use_model=False`` scores with the rules alone (for the benchmark's comparison).
    """
    if not isinstance(text, str) or not text:
        return InjectionVerdict(0.0, threshold, ())
    weights: dict[str, float] = {}
    for view_name, view in views(normalize_unicode(text)):
        lowered = view.lower()
        for rule in RULES:
            key = rule.name if view_name == "plain" else f"{rule.name}+{view_name}"
            if rule.name in weights or key in weights:
                continue
            if rule.matches(view, lowered, gate=gate):
                weights[key] = rule.weight
    miss = 1.0
    for weight in weights.values():
        miss *= 1.0 - weight
    score = 1.0 - miss
    reasons = sorted(weights)
    if use_model:
        p = injection_model.MODEL.score(text)
        score = max(score, p)
        if p >= _MODEL_REASON_MIN:
            reasons.insert(0, f"model:{p:.2f}")
    return InjectionVerdict(round(score, 4), threshold, tuple(reasons))
