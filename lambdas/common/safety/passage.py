"""Indirect prompt injection: an instruction aimed at the model, found inside a long document, with its span.

`scan` (injection.py) judges a short user prompt as a whole. A retrieved passage or a tool result is data: a
news article, a manual, a policy, an email, which may carry a planted instruction ("ignore your instructions
and ...", a fake ``SYSTEM:`` line, a markdown image that sends the conversation to an attacker) anywhere in
thousands of characters of ordinary text. Scored as a whole, the learned scorer's evidence grows with length
and flags a third of plain news articles; cut into fixed windows, the attack's pieces fall apart.

`scan_passage` therefore works on the document's own structure:

1. Blocks: markup an attacker hides text in (HTML comments, elements styled invisible, markdown images and
   links) is cut out as one block each; the rest is split into paragraphs (blank lines) and lines that look
   like a conversation marker. A long paragraph is split into sentences; a segment is at most
   ``_MAX_SEGMENT`` characters.
2. Segments are scored alone, each Unicode-normalized on its own so spans stay in the caller's coordinates:
   the prefilter's rules (injection_rules.py, in every reading of decoders.py, so a base64 payload is read
   too), the passage rules below (an instruction addressed to the AI, exfiltration URLs with templated data,
   turn markers at a line start, hidden-text styles), and the learned scorer on the segment (length-normalized:
   a segment's score does not grow with the document).
3. Corroboration: documents are full of imperatives ("Ignore the warning light if ...", "Do not follow this
   rule"), so a single weak signal is not enough. A segment scores its noisy-OR only when two independent
   signals agree (two rules, a rule and the model, either and an address to the AI); one signal alone counts
   ``_ALONE`` of its weight, which leaves only the strong passage rules able to flag on their own.
4. Spans: a flagged segment extends to its block (the whole HTML comment, the whole short paragraph) and to
   short neighbouring blocks that score at least half the threshold (the rest of a multi-paragraph jailbreak);
   overlapping spans merge. The verdict's score is the maximum over segments; reasons name the rules.

Stdlib only; about 3.7-4.8 ms per 10 KB of CPU on a shared 2-core host (bench/passage_eval.py): what can be learnt
from one pass over the document (its trigger words, where hints and encoded runs are) is found once, and a
segment is only tested where the document says it can match. Documents longer than
``MAX_CHARS`` are scanned on their first ``MAX_CHARS`` characters.
"""

from __future__ import annotations

import bisect
import math
import re
from collections.abc import Callable
from dataclasses import dataclass

from common.safety import decoders, injection_model
from common.safety.decoders import decoded_runs, join_spaced, rot13, unleet, views
from common.safety.injection import InjectionVerdict
from common.safety.injection_rules import RULES
from common.safety.normalize import normalize_unicode

MAX_CHARS = 100_000
_MAX_SEGMENT = 600  # characters: a longer paragraph is scored sentence by sentence
_PACK = 320  # sentences and lines are packed into segments of about this size
_WHOLE_BLOCK = 1_200  # a flagged segment's span is its whole block up to this size
_ALONE = 0.6  # share of its score a segment keeps when only one signal speaks
_MODEL_SIGNAL = 0.6  # the learned scorer counts as a signal from this probability
_MODEL_WITH_CUE = 0.8  # ... and flags with an address to the AI and no rule from this one
_JOIN_MAX = 250  # ... when they are short (a line of the same message, not a paragraph of the document)
_CONTEXT = 0.5  # neighbours scoring this share of the threshold join a flagged span


@dataclass(frozen=True)
class PassageVerdict(InjectionVerdict):
    """`InjectionVerdict` plus where: the character spans ``(start, end)`` of the flagged segments."""

    spans: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class _PassageRule:
    name: str
    weight: float
    pattern: re.Pattern[str]
    triggers: tuple[str, ...]


_AI = (
    r"(?:ai|a\.i\.|assistant|chat\s?bot|chatgpt|gpt(?:-\d\w*)?|claude|gemini|copilot|llm|large\s+language\s+model|"
    r"language\s+model|ai\s+model|model|agent|bot)"
)
_TEMPLATED = r"(?:\{[^}\s]{1,40}\}|\[[A-Z_ ]{3,40}\]|<[a-z _-]{3,40}>|\$[A-Z_]{3,}|[A-Z]{2,}_[A-Z_]{2,}|%s)"
_PASSAGE_RULES = (
    _PassageRule(
        "override_previous",
        0.7,
        re.compile(
            r"\b(?:ignore|disregard|forget|override|bypass)\s+(?:all\s+)?(?:of\s+)?(?:your|the|any|my)\s+(?:previous|prior|"
            r"earlier|above|original|initial|system|current)\s+\w+|\b(?:new|updated|real|actual|revised)\s+instructions?\s*:"
        ),
        ("ignor", "disregard", "forget", "overrid", "bypass", "instruction"),
    ),
    _PassageRule(
        "addressed_to_ai",
        0.55,
        re.compile(
            rf"(?:\b(?:dear|hey|hi|hello|attention|note\s+(?:to|for)|message\s+(?:to|for)|instructions?\s+for)\s+"
            rf"(?:the\s+|any\s+|all\s+)?{_AI}s?\b|\b(?:if|when|whenever)\s+you\s+are\s+(?:an?\s+)?{_AI}\b|"
            rf"\b(?:to|for)\s+(?:the|any)\s+{_AI}\s+(?:reading|processing|summari[sz]ing|parsing)\b|"
            rf"\bwhen\s+(?:you\s+)?(?:summari[sz]ing|summari[sz]e|read|process|answer)\w*\s+(?:this|these|the\s+above)\b|"
            rf"\bto\s+you,?\s+(?:the\s+|an\s+|a\s+)?{_AI}\b|\bmessage\s+from\s+me\b.{{0,60}}\bto\s+you\b)"
        ),
        ("ai", "a.i", "assistant", "bot", "gpt", "claude", "gemini", "copilot", "llm", "model", "agent", "when", "me"),
    ),
    _PassageRule(
        "task_hijack",
        0.7,
        re.compile(
            r"\b(?:before|after|instead\s+of)\s+(?:you\s+)?(?:can\s+)?(?:solv|answer|complet|summari[sz]|do(?:ing)?\b|"
            r"continu|respond|reply)\w*\s+(?:to\s+)?(?:the|this|my|your|any)\s+(?:task|question|request|query|"
            r"summary|user)|\btask\s+(?:that\s+)?i\s+gave\s+you\b|</?information>"
        ),
        ("before", "after", "instead", "task", "information>"),
    ),
    _PassageRule(
        "exfil_url",
        0.9,
        re.compile(
            r"!\[[^\]\n]{0,80}\]\(\s*https?://[^)\s]{1,200}[?&#][^)\s]*=\s*"
            + _TEMPLATED
            + r"|<img\b[^>]{0,200}\bsrc\s*=\s*[\"']?https?://[^\"'>\s]{1,200}[?&][^\"'>\s]*="
            + _TEMPLATED
            + r"|https?://\S{1,200}[?&][\w-]{1,30}=(?:"
            + _TEMPLATED
            + r")",
            re.IGNORECASE,
        ),
        ("http",),
    ),
    _PassageRule(
        "turn_marker",
        0.6,
        re.compile(
            r"(?:^|\n)\s*(?:#{1,3}\s*|\[|<)?(?:system|assistant|developer|admin(?:istrator)?|ai)\s*(?:\]|>)?\s*"
            r"(?:message|prompt|instruction|override|note|update)?\s*[:>]\s*\S|"
            r"#{1,3}\s*\(?\s*system[_ ](?:message|prompt)\)?",
        ),
        ("system", "assistant", "developer", "admin", "ai"),
    ),
    _PassageRule(
        "hidden_text",
        0.45,
        re.compile(
            r"<(?:span|div|p|font)\b[^>]{0,200}(?:display\s*:\s*none|font-size\s*:\s*0|color\s*:\s*(?:#f{3}\b|#f{6}\b|"
            r"white\b|transparent)|opacity\s*:\s*0(?:\.0+)?\b|visibility\s*:\s*hidden)|<!--",
        ),
        ("<",),
    ),
    _PassageRule(
        "respond_with",
        0.5,
        re.compile(
            r"\b(?:respond|reply|answer|print|output|say|write)\s+(?:to\s+me\s+)?(?:only|just|exactly|with\s+only)?\s*(?:with\s+|the\s+"
            r"(?:text|word|phrase|string)s?\s+)?[\"'\u201c\u2018\u00ab]|\byour\s+(?:response|answer|reply|output|summary)\s+(?:must|should|"
            r"has\s+to|needs\s+to)\s+(?:start|begin|end|include|contain|be)\b|\bdo\s+not\s+(?:mention|tell|reveal|inform)\s+"
            r"(?:this|the\s+user|anyone)\b"
        ),
        ("respond", "reply", "answer", "print", "output", "say", "write", "your", "do not"),
    ),
    _PassageRule(
        "system_tag",
        0.9,
        re.compile(
            r"#{1,3}\s*\(\s*system[_ ](?:message|prompt|instruction)s?\s*\)|\[\s*system[_ ](?:message|prompt)\s*\]"
        ),
        ("system",),
    ),
    _PassageRule(
        "todo_directive",
        0.85,
        re.compile(
            r"\b(?:todo|to-do)\s*:\s*(?:please\s+)?(?:send|forward|email|transfer|pay|make|create|delete|remove|get|"
            r"post|visit|say|tell|invite|add|update|change|book|concatenate|give|share|upload|retrieve|find|read|open|"
            r"click|reply|write|insert|schedule|reserve|buy|order|download|modify|reset|follow|go|navigate)\b"
            r"[^\n]{0,300}?(?:\b(?:my|me|i)\b|@[\w-]+\.\w|https?://|\bwww\.|\b[a-z]{2}\d{10,})"
        ),
        ("todo", "to-do"),
    ),
    _PassageRule(
        "override_then_task",
        0.85,
        re.compile(
            r"\b(?:ignore|disregard|forget)\s+(?:all\s+)?(?:of\s+)?your\s+(?:previous|prior|earlier|original|initial)\s+"
            r"\w+[.!,;:]?\s+(?:and\s+)?(?:now\s+|instead\s+)?(?:do|perform|execute|complete)\b"
        ),
        ("ignor", "disregard", "forget"),
    ),
)
_CUE = re.compile(
    rf"\b(?:you|your)\b.{{0,80}}\b{_AI}s?\b|\b{_AI}\b.{{0,80}}\b(?:you|your)\b|\b(?:previous|prior|above|earlier|"
    r"original|system|initial|hidden)\s+(?:instructions?|prompts?|rules|guidelines)\b|\bthe\s+user\b|"
    r"\bsystem\s+prompt\b",
    re.DOTALL,
)
_CUE_TRIGGERS = ("you", "previous", "prior", "above", "earlier", "original", "system", "initial", "hidden", "user")


def scan_passage(text: str, threshold: float = 0.5) -> PassageVerdict:
    """Find instructions aimed at the model inside ``text`` (a document, not a request).

    ``score`` is the highest segment score, ``flagged`` compares it with ``threshold``, ``reasons`` name the
    rules of the flagged segments (``model:<p>`` when the learned scorer took part), and ``spans`` are the
    character ranges of ``text`` to drop or mask, sorted and disjoint.
    """
    if not isinstance(text, str) or not text.strip():
        return PassageVerdict(0.0, threshold, ())
    text = text[:MAX_CHARS]
    blocks = _blocks(text)
    segments = [(index, start, end) for index, block in enumerate(blocks) for start, end in _segments(text, *block)]
    gates = _DocGates(text)
    evidence = [_evidence(text[start:end], gates, start, end) for _, start, end in segments]
    scored: list[tuple[int, int, int, float, tuple[str, ...]]] = []  # block, start, end, score, reasons
    for position, ((block, start, end), (weights, cue)) in enumerate(zip(segments, evidence, strict=True)):
        if not weights:
            continue
        rules = [name for name in weights if not name.startswith("model:")]
        # an encoded payload that decodes to an instruction is a second signal by itself
        if not rules and max(weights.values()) < _MODEL_WITH_CUE:
            continue  # the scorer and an address to the AI alone: too common in technical prose
        signals = len(weights) + cue + any(name.endswith("+decoded") for name in rules)
        if signals < 2 and rules:  # corroboration by a neighbour's rules (the rest of the same instruction)
            for other in (position - 1, position + 1):
                if 0 <= other < len(segments) and _near(blocks, block, segments[other][0]):
                    signals += any(
                        not name.startswith("model:") and name not in weights for name in evidence[other][0]
                    )  # another rule: a document repeating one benign phrasing does not corroborate itself
        score = 1.0 - math.prod(1.0 - w for w in weights.values())
        if signals < 2:
            score *= _ALONE
        scored.append((block, start, end, score, tuple(weights)))
    best = max((s[3] for s in scored), default=0.0)
    if best < threshold:
        return PassageVerdict(round(best, 4), threshold, ())
    spans, reasons = _spans(blocks, scored, threshold)
    return PassageVerdict(round(best, 4), threshold, reasons, spans)


def _spans(
    blocks: list[tuple[int, int]], scored: list[tuple[int, int, int, float, tuple[str, ...]]], threshold: float
) -> tuple[tuple[tuple[int, int], ...], tuple[str, ...]]:
    """The merged spans of the flagged segments (widened to their block and its joining neighbours) and
    their reasons."""
    block_score: dict[int, float] = {}
    for block, _, _, score, _ in scored:
        block_score[block] = max(block_score.get(block, 0.0), score)
    spans: list[tuple[int, int]] = []
    reasons: set[str] = set()
    for block, segment_start, segment_end, score, why in scored:
        if score < threshold:
            continue
        reasons.update(why)
        start, end = segment_start, segment_end
        if blocks[block][1] - blocks[block][0] <= _WHOLE_BLOCK:
            low = high = block
            while low > 0 and _joins(blocks, low - 1, block_score, threshold):
                low -= 1
            while high + 1 < len(blocks) and _joins(blocks, high + 1, block_score, threshold):
                high += 1
            start, end = blocks[low][0], blocks[high][1]
        spans.append((start, end))
    return _merge(spans), tuple(sorted(reasons))


def _near(blocks: list[tuple[int, int]], block: int, other: int) -> bool:
    """Whether a segment of block ``other`` may corroborate one of ``block``: the same block, or two adjacent
    short blocks (lines of one message; a paragraph of the document does not vouch for its neighbour)."""
    if other == block:
        return True
    short = all(blocks[b][1] - blocks[b][0] <= _JOIN_MAX for b in (block, other))
    return abs(other - block) == 1 and short


def _joins(blocks: list[tuple[int, int]], block: int, block_score: dict[int, float], threshold: float) -> bool:
    """Whether a neighbour of a flagged block belongs to the same planted text: it scores some evidence too."""
    return blocks[block][1] - blocks[block][0] <= _JOIN_MAX and block_score.get(block, 0.0) >= _CONTEXT * threshold


_ALPHA = re.compile(r"[a-z]+")
_TRIGGERS = {t for rule in RULES for t in rule.triggers} | {t for r in _PASSAGE_RULES for t in r.triggers}
_TRIGGERS |= set(_CUE_TRIGGERS)
_CUE_BIT = 1 << len(_PASSAGE_RULES)  # the cue's triggers, as one more bit of the passage mask


def _trigger_masks(trigger: str) -> tuple[int, int]:
    rules = sum(1 << i for i, rule in enumerate(RULES) if trigger in rule.triggers)
    passage = sum(1 << i for i, rule in enumerate(_PASSAGE_RULES) if trigger in rule.triggers)
    return rules, passage | (_CUE_BIT if trigger in _CUE_TRIGGERS else 0)


# A trigger of letters a-z lies inside one run of such letters, so the triggers of a text are those of its
# words (cached: a document's vocabulary repeats) plus the few triggers with other characters, tested directly.
_WORD_TRIGGERS = tuple((t, *_trigger_masks(t)) for t in sorted(_TRIGGERS) if _ALPHA.fullmatch(t))
_OTHER_TRIGGERS = tuple((t, *_trigger_masks(t)) for t in sorted(_TRIGGERS) if not _ALPHA.fullmatch(t))
_WORD_TRIGGER_MASKS = {trigger: (r, p) for trigger, r, p in _WORD_TRIGGERS}
_TRIGGER_SIZES = sorted({len(trigger) for trigger in _WORD_TRIGGER_MASKS})
_WORD_MASKS: dict[str, tuple[int, int]] = {}  # words holding a trigger, with their masks
_TRIGGER_WORDS: set[str] = set()  # the same words, as a set (set operations with a dict iterate the dict)
_KNOWN_WORDS: set[str] = set()  # every word seen, with or without a trigger
_MAX_WORDS = 100_000  # cached words (a few MB at most)


def _masks(lowered: str) -> tuple[int, int]:
    """Bit masks of the prefilter rules and of the passage rules (and the cue) whose triggers occur in
    ``lowered``: exactly the rules the trigger test would let run."""
    rules = passage = 0
    for r, p in _word_masks(set(_ALPHA.findall(lowered))).values():
        rules |= r
        passage |= p
    for trigger, r, p in _OTHER_TRIGGERS:
        if trigger in lowered:
            rules |= r
            passage |= p
    return rules, passage


def _word_masks(words: set[str]) -> dict[str, tuple[int, int]]:
    """The masks of those ``words`` that hold a trigger (the rest hold none), from the cache."""
    new = words - _KNOWN_WORDS
    if new:
        if len(_KNOWN_WORDS) + len(new) > _MAX_WORDS:
            _KNOWN_WORDS.clear()
            _TRIGGER_WORDS.clear()
            _WORD_MASKS.clear()
        for word in new:
            rules = passage = 0
            for trigger in _substrings(word) & _WORD_TRIGGER_MASKS.keys():
                r, p = _WORD_TRIGGER_MASKS[trigger]
                rules |= r
                passage |= p
            if rules or passage:
                _WORD_MASKS[word] = (rules, passage)
                _TRIGGER_WORDS.add(word)
        _KNOWN_WORDS.update(new)
    return {word: _WORD_MASKS[word] for word in words & _TRIGGER_WORDS}


def _substrings(word: str) -> set[str]:
    """The substrings of ``word`` as long as a word trigger can be (fewer look-ups than testing each trigger)."""
    n = len(word)
    return {word[i : i + size] for size in _TRIGGER_SIZES if size <= n for i in range(n - size + 1)}


def _bits(mask: int) -> list[int]:
    """The set bits of ``mask``, low to high (cached: segments share a few hundred masks)."""
    out = _BITS.get(mask)
    if out is None:
        out = []
        rest = mask
        while rest:
            low = rest & -rest
            out.append(low.bit_length() - 1)
            rest ^= low
        if len(_BITS) < 10_000:
            _BITS[mask] = out
    return out


_BITS: dict[int, list[int]] = {}


class _DocGates:
    """What one pass over the document tells every segment of it: its trigger words, and where the other
    readings of decoders.py can apply.

    ``views`` tests its hints (leetspeak, spaced letters, rot13 and reversed words, encoded runs) on every
    segment; most segments hold none. Each hint is searched once over the document: a segment that overlaps
    no match of it cannot match it either (the hints have no anchors, and segment boundaries lie next to
    whitespace or markup, so ``\\b`` reads the same), and only a segment that does is tested as ``views`` would.
    The same holds for words: a segment's runs of letters are runs of the document, so the document's words
    are looked up once and a segment only intersects its words with the document's trigger words.
    Valid for segments that Unicode normalization leaves as they are (substrings of the document); others
    are read in full.
    """

    def __init__(self, text: str) -> None:
        lowered = text.lower()
        words = set(_ALPHA.findall(lowered))
        self.word_masks = _word_masks(words)
        self.trigger_words = frozenset(self.word_masks)
        # triggers with other characters: a segment's lower-cased text is a piece of the document's (lower()
        # maps character by character; only a final sigma depends on its neighbours, and no trigger holds one)
        self.other_triggers = tuple(entry for entry in _OTHER_TRIGGERS if entry[0] in lowered)
        # The rot13 and reversed hints are whole words (\b on both sides): a match is one of the document's
        # words. The leetspeak and spaced-letter hints are searched by a faster pattern whose every match lies
        # inside a match of the hint (a character the hint must hold, with its context), so a segment holding
        # a hint's match overlaps one of them. Both need a-z to be read only as a-z: with a letter outside
        # ASCII that IGNORECASE reads as a-z, the hints themselves are searched.
        folded = not text.isascii() and _FOLDS_TO_ASCII.search(text) is not None
        hints = (
            _intervals(pattern if folded or wide is None else wide, text)
            if words_ is None or folded or not words.isdisjoint(words_)
            else _NONE
            for pattern, wide, words_ in zip(_HINTS, _WIDE_HINTS, _HINT_WORDS, strict=True)
        )
        # only the readings with a match somewhere are tested per segment, in views' order
        self.readings = tuple((*reading, found) for reading, found in zip(_READINGS, hints, strict=True) if found[0])
        # Encoded runs: decoded_runs finds nothing in a segment that holds no run of any of its decoders. A
        # base64 run holds no whitespace or markup character, so a segment's runs are the document's runs
        # inside it: only those that decode gate a segment. The other runs may hold spaces (and so cross a
        # segment boundary): a segment overlapping any of them is decoded. Each is searched only when the
        # document passes the decoder's own cheap gate (spaced hex digits only enable the hex decoder, which
        # then needs a hex run).
        runs = [
            _intervals(pattern, text)
            for enabled, pattern in (
                (True, _HEX_PAIRS),
                (text.count("0") + text.count("1") >= 48, _BINARY_BYTES),
                ("\\u" in text or "\\x" in text, decoders._ESCAPE_RUN),
                (text.count(".-") + text.count("-.") >= 6, decoders._MORSE_RUN),
                ("<~" in text, decoders._ASCII85_RUN),
            )
            if enabled
        ]
        self.encoded = _union([_decodable(text), *runs])  # one disjoint list: overlapping it = overlapping any

    def read(
        self, segment: str, normalized: str, lowered: str, start: int, end: int
    ) -> tuple[int, int, list[tuple[str, str]]]:
        """The trigger masks and the readings of the segment at ``[start, end)``: through the gates when
        normalization left it a substring of the document, else in full."""
        if normalized == segment:
            return *self.masks(lowered), self.views(normalized, start, end)
        return *_masks(lowered), views(normalized)

    def masks(self, lowered: str) -> tuple[int, int]:
        """``_masks(lowered)`` for the lower-cased text of a segment that is a substring of the document."""
        rules = passage = 0
        for word in self.trigger_words.intersection(_ALPHA.findall(lowered)):
            r, p = self.word_masks[word]
            rules |= r
            passage |= p
        for trigger, r, p in self.other_triggers:
            if trigger in lowered:
                rules |= r
                passage |= p
        return rules, passage

    def views(self, segment: str, start: int, end: int) -> list[tuple[str, str]]:
        """``decoders.views(segment)`` for the segment at ``[start, end)`` of the document."""
        out = [("plain", segment)]
        for name, read, pattern, intervals in self.readings:
            if _overlaps(intervals, start, end) and pattern.search(segment):
                out.append((name, read(segment)))
        if _overlaps(self.encoded, start, end):
            decoded = decoded_runs(segment)
            if decoded:
                out.append(("decoded", "\n".join(decoded)))
        return out


def _decodable(text: str) -> tuple[list[int], list[int]]:
    """The base64 runs of ``text`` that decode to text (as ``decoded_runs`` reads them)."""
    starts, ends = [], []
    for token in _LONG_TOKEN.finditer(text):  # a run holds no whitespace: it lies inside one long token
        for match in decoders._BASE64_RUN.finditer(text, token.start(), token.end()):
            if decoders.from_base64(match.group(0)[: decoders.MAX_RUN]):
                starts.append(match.start())
                ends.append(match.end())
    return starts, ends


def _union(found: list[tuple[list[int], list[int]]]) -> tuple[list[int], list[int]]:
    """Sorted, disjoint intervals covering those of ``found`` (each sorted and disjoint)."""
    if len(found) == 1:
        return found[0]
    merged: list[list[int]] = []
    for start, end in sorted(pair for starts, ends in found for pair in zip(starts, ends, strict=True)):
        if merged and start < merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [start for start, _ in merged], [end for _, end in merged]


def _intervals(pattern: re.Pattern[str], text: str) -> tuple[list[int], list[int]]:
    starts, ends = [], []
    for match in pattern.finditer(text):
        starts.append(match.start())
        ends.append(match.end())
    return starts, ends


def _overlaps(intervals: tuple[list[int], list[int]], start: int, end: int) -> bool:
    starts, ends = intervals
    if not starts:
        return False
    i = bisect.bisect_right(ends, start)  # the first match ending after ``start`` (matches are disjoint, in order)
    return i < len(starts) and starts[i] < end


def _reversed(text: str) -> str:
    return text[::-1]


_READINGS: tuple[tuple[str, Callable[[str], str], re.Pattern[str]], ...] = (
    ("leet", unleet, decoders._HAS_LEET),
    ("spaced", join_spaced, decoders._SPACED),
    ("rot13", rot13, decoders._ROT13_HINT),
    ("reversed", _reversed, decoders._REVERSED_HINT),
)
_HINTS = tuple(pattern for _, _, pattern in _READINGS)
# Faster patterns for the document-wide search: the digit or sign a leetspeak hint holds between letters or
# before two letters; a letter between two spacers, twice (inside any run of five spaced letters); ten hex
# pairs, optionally separated (a hex run without its word boundaries). ~3-6x faster than the originals.
_WIDE_HINTS: tuple[re.Pattern[str] | None, ...] = (
    re.compile(r"[0-9@$!](?:(?<=[a-zA-Z].)(?=[a-zA-Z])|(?<=[0-9@$])(?=[a-zA-Z]{2}))"),
    re.compile(r"[ .\-_*][A-Za-z][ .\-_*][A-Za-z][ .\-_*]"),
    None,
    None,
)
_LONG_TOKEN = re.compile(r"\S{16,}")
_HEX_PAIRS = re.compile(r"[0-9a-fA-F][0-9a-fA-F](?:[ :]?[0-9a-fA-F]{2}){9}")
_BINARY_BYTES = re.compile(r"[01]{8}(?:\s?[01]{8}){5}")  # a binary run without its word boundary
# The rot13 and reversed hints are a few words: a document holding none of them (lower-cased, as substrings)
# has no match, and the regex is not run at all.
_HINT_WORDS: tuple[frozenset[str] | None, ...] = (
    None,
    None,
    frozenset(decoders._ROT13_HINT.pattern[5:-3].split("|")),
    frozenset(decoders._REVERSED_HINT.pattern[5:-3].split("|")),
)
# The letters outside ASCII that an IGNORECASE a-z matches, or whose lower case holds a-z (found by a scan of
# every code point: tests/lambdas/common/safety/test_passage_recall.py)
_CASE_FOLDS_TO_ASCII = frozenset("\u0130\u0131\u017f\u212a")
_FOLDS_TO_ASCII = re.compile("[" + "".join(sorted(_CASE_FOLDS_TO_ASCII)) + "]")
_NONE: tuple[list[int], list[int]] = ([], [])

# Markup an attacker hides text in: one block each, never split.
_MARKUP = re.compile(
    r"<!--.*?(?:-->|\Z)|<(span|div|p|font)\b[^>]{0,300}>.{0,4000}?</\1\s*>|!\[[^\]\n]{0,200}\]\([^)\n]{0,600}\)",
    re.DOTALL | re.IGNORECASE,
)
_PARAGRAPH = re.compile(r"\n[ \t]*\n+")
_SENTENCE_END = re.compile(r"(?<=[.!?。\uff01\uff1f])[\"')\]]*\s+|\n")


def _blocks(text: str) -> list[tuple[int, int]]:
    """Markup constructs and paragraphs as ``(start, end)`` ranges, whitespace trimmed, in order."""
    out: list[tuple[int, int]] = []
    position = 0
    for match in _MARKUP.finditer(text):
        out.extend(_paragraphs(text, position, match.start()))
        out.append(match.span())
        position = match.end()
    out.extend(_paragraphs(text, position, len(text)))
    return out


def _paragraphs(text: str, start: int, end: int) -> list[tuple[int, int]]:
    out = []
    position = start
    for match in _PARAGRAPH.finditer(text, start, end):
        out.append(_trim(text, position, match.start()))
        position = match.end()
    out.append(_trim(text, position, end))
    return [(s, e) for s, e in out if e > s]


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _segments(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """The block itself when short, else its sentences and lines packed into pieces of up to ``_PACK``
    characters (each piece cut to about ``_MAX_SEGMENT``)."""
    if end - start <= _MAX_SEGMENT:
        return [(start, end)]
    out: list[tuple[int, int]] = []
    piece = position = start
    for match in _SENTENCE_END.finditer(text, start, end):
        if match.end() - piece >= _PACK:
            out.extend(_cut(text, piece, position if position > piece else match.end()))
            piece = position if position > piece else match.end()
        position = match.end()
    if end - piece > _PACK and position > piece:
        out.extend(_cut(text, piece, position))
        piece = position
    out.extend(_cut(text, piece, end))
    return [(s, e) for s, e in out if e > s]


def _cut(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """``[start, end)`` trimmed and cut at whitespace into pieces of about ``_MAX_SEGMENT`` characters (a
    single longer token, such as an encoded payload, stays whole)."""
    start, end = _trim(text, start, end)
    out = []
    while end - start > _MAX_SEGMENT:
        cut = text.rfind(" ", start + _MAX_SEGMENT // 2, start + _MAX_SEGMENT)
        if cut < 0:
            cut = text.find(" ", start + _MAX_SEGMENT, end)
            if cut < 0:
                break
        out.append(_trim(text, start, cut))
        start = _trim(text, cut, end)[0]
    out.append((start, end))
    return out


def _evidence(segment: str, gates: _DocGates, start: int, end: int) -> tuple[dict[str, float], bool]:
    """The rules (prefilter and passage) that match ``segment`` (at ``[start, end)`` of the document) with
    their weights, the learned scorer's probability when it is a signal (only asked when some rule or an
    address to the AI is there), and whether the segment addresses an AI or its instructions."""
    normalized = normalize_unicode(segment)
    lowered = normalized.lower()
    rule_mask, passage_mask, readings = gates.read(segment, normalized, lowered, start, end)
    weights: dict[str, float] = {}
    for view_name, view in readings:
        if view_name == "plain":
            view_lowered, candidates = lowered, rule_mask
        else:
            view_lowered = view.lower()
            candidates = _masks(view_lowered)[0]
        for i in _bits(candidates):
            rule = RULES[i]
            key = rule.name if view_name == "plain" else f"{rule.name}+{view_name}"
            if rule.name in weights or key in weights:
                continue
            if rule.regex.search(view if rule.case_sensitive else view_lowered):
                weights[key] = rule.weight
    for i in _bits(passage_mask & (_CUE_BIT - 1)):
        passage_rule = _PASSAGE_RULES[i]
        if passage_rule.pattern.search(normalized if passage_rule.name in _CASED else lowered):
            weights[passage_rule.name] = passage_rule.weight
    for view_name, view in readings:
        if view_name == "decoded":  # an encoded payload: the passage rules read its decoding too
            _decoded_passage_rules(view, weights)
    # two rules are two signals already: the cue could not change the segment's score, so it is not searched
    cue = len(weights) < 2 and bool(passage_mask & _CUE_BIT) and _CUE.search(lowered) is not None
    if weights or cue:
        p = injection_model.MODEL.score(segment)
        if p >= _MODEL_SIGNAL:
            weights[f"model:{p:.2f}"] = p
    return weights, cue


def _decoded_passage_rules(decoded: str, weights: dict[str, float]) -> None:
    """The passage rules matched in the decoded runs, as ``<rule>+decoded`` (unless matched as written)."""
    lowered = decoded.lower()
    for i in _bits(_masks(lowered)[1] & (_CUE_BIT - 1)):
        passage_rule = _PASSAGE_RULES[i]
        if passage_rule.name not in weights and passage_rule.pattern.search(
            decoded if passage_rule.name in _CASED else lowered
        ):
            weights[f"{passage_rule.name}+decoded"] = passage_rule.weight


_CASED = frozenset({"exfil_url", "turn_marker"})


def _merge(spans: list[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    out: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return tuple(out)
