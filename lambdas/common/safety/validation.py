"""Input validation: payload schema, size limits, control characters and Unicode tricks.

`validate_payload` and `validate_text` never raise: every input, of any type, gets a
`ValidationResult`. When ``ok`` is true, ``text`` is the normalized message and is guaranteed to be
within ``max_chars`` and ``max_tokens``; when false, ``text`` is empty and ``reasons`` say why.

Unicode handling, in order:
- lone surrogates (not encodable as UTF-8), C0/C1 control characters other than tab and newlines,
  private-use characters, bidirectional embeddings/overrides/isolates (Trojan Source) and Unicode
  tag characters (invisible "ASCII smuggling") are rejected;
- zero-width and other invisible characters (ZWSP, ZWJ, word joiner, BOM, soft hyphen, variation
  selectors, Hangul fillers) are removed, and line/paragraph separators become newlines;
- NFKC folds compatibility forms (full-width letters, mathematical alphanumerics, ligatures);
  these two steps are the library's one Unicode normalization (normalize.py), reported one by one;
- words that mix Latin with look-alike letters of another script (a Cyrillic U+043E in "ignore") are
  folded to Latin or rejected, using the Unicode confusables data shipped by `confusable_homoglyphs`.
"""

from __future__ import annotations

import importlib.util
import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from typing import Any

from common.safety.normalize import normalize_unicode, strip_invisible
from common.safety.policy import InputLimits

# The confusables table (900 KB of JSON) loads on the first non-ASCII message only; its absence is
# an error at import time, not a silent gap on the first Cyrillic input.
if importlib.util.find_spec("confusable_homoglyphs") is None:  # pragma: no cover - packaging guard
    raise ImportError("common.safety.validation needs confusable-homoglyphs (the dependency layer)")

_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_TAG_CHARACTERS = re.compile("[\U000e0000-\U000e007f]")
_SEPARATORS = re.compile("\r\n?|[\u2028\u2029\x85]")
_ALLOWED_CONTROLS = frozenset("\t\n")
_ASCII_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # all but tab, LF and CR
_WORD = re.compile(r"\w+")
# Conservative token estimate for Bedrock models whose tokenizers are not available offline: a
# run of up to 6 ASCII letters, up to 3 digits, or any other single non-space character counts as
# one token. English prose comes out at ~1.2x the counts of common BPE tokenizers; CJK at 1 per char.
_TOKEN_PIECE = re.compile(r"[A-Za-z]{1,6}|[0-9]{1,3}|[^\sA-Za-z0-9]")


@dataclass(frozen=True)
class ValidationResult:
    ok: bool
    text: str
    reasons: tuple[str, ...] = ()
    changes: tuple[str, ...] = ()


def _reject(*reasons: str) -> ValidationResult:
    return ValidationResult(ok=False, text="", reasons=reasons)


def estimate_tokens(text: str) -> int:
    """An upper-leaning token count, cheap enough for every request."""
    return len(_TOKEN_PIECE.findall(text))


def validate_payload(payload: Any, limits: InputLimits) -> ValidationResult:
    """Validate a request body ``{"text": str, "format": "text"|"markdown"}`` (format optional)."""
    if not isinstance(payload, dict):
        return _reject("payload_not_object")
    unknown = set(payload) - {"text", "format"}
    if unknown:
        return _reject("payload_unknown_fields")
    fmt = payload.get("format", "text")
    if not isinstance(fmt, str) or fmt not in limits.allowed_formats:
        return _reject("format_not_allowed")
    return validate_text(payload.get("text"), limits)


def validate_text(text: Any, limits: InputLimits) -> ValidationResult:  # noqa: PLR0911 - flat early rejections
    """Normalize ``text`` and check it against ``limits``; see the module docstring for the rules."""
    if not isinstance(text, str):
        return _reject("not_string")
    # Bound the work before any pass over the text: over-long input is rejected as it arrived.
    if len(text) > limits.max_chars:
        return _reject("too_many_chars")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _reject("invalid_unicode")

    changes: list[str] = []
    if not text.isascii():
        rejected, text = _unicode_pass(text, limits, changes)
        if rejected:
            return _reject(*rejected)
    else:
        if _ASCII_CONTROLS.search(text):
            return _reject("control_characters")
        if "\r" in text:
            text = _SEPARATORS.sub("\n", text)
            changes.append("newlines")

    if not text.strip():
        return _reject("empty")
    if len(text) > limits.max_chars:  # NFKC can expand (e.g. U+FDFA becomes 18 characters)
        return _reject("too_many_chars")
    if estimate_tokens(text) > limits.max_tokens:
        return _reject("too_many_tokens")
    return ValidationResult(ok=True, text=text, changes=tuple(changes))


def _unicode_pass(text: str, limits: InputLimits, changes: list[str]) -> tuple[list[str], str]:  # noqa: PLR0912
    rejected: list[str] = []
    if any(c in _BIDI_CONTROLS for c in text):
        rejected.append("bidi_control")
    if _TAG_CHARACTERS.search(text):
        rejected.append("tag_characters")
    if rejected:
        return rejected, text

    stripped = strip_invisible(text)
    if stripped != text:
        changes.append("invisible_removed")
    text = _SEPARATORS.sub("\n", stripped)

    for char in text:
        category = unicodedata.category(char)
        if category == "Cc" and char not in _ALLOWED_CONTROLS:
            rejected.append("control_characters")
            break
        if category == "Co":
            rejected.append("private_use")
            break
    if rejected:
        return rejected, text

    normalized = normalize_unicode(text)  # the invisible characters are gone already: NFKC
    if normalized != text:
        changes.append("nfkc")
        text = normalized
        # A guard, not a known case: an exhaustive scan of Unicode 14 and 18 (2026-12-02) found no character
        # whose NFKC form holds a control character; a later Unicode version could add one.
        if any(unicodedata.category(c) == "Cc" and c not in _ALLOWED_CONTROLS for c in text):
            return ["control_characters"], text

    if not text.isascii():
        folded, mixed = _fold_confusables(text)
        if mixed:
            if limits.confusables == "reject":
                return ["confusable_characters"], text
            changes.append("confusables_folded")
            text = folded
    return [], text


@cache
def _confusables() -> tuple[Any, Any]:
    from confusable_homoglyphs import (  # type: ignore[import-untyped]  # noqa: PLC0415 - lazy: 900 KB of data
        categories,
        confusables,
    )

    return categories.alias, confusables.confusables_data


@cache
def _latin_lookalike(char: str) -> str | None:
    """The Latin letter (or ASCII sign) ``char`` is confusable with, if any."""
    alias, data = _confusables()
    if alias(char) in {"LATIN", "COMMON"}:
        return None
    for homoglyph in data.get(char, ()):
        candidate = homoglyph["c"]
        if candidate.isascii() and candidate.isalnum():
            return str(candidate)
    return None


def _fold_confusables(text: str) -> tuple[str, bool]:
    """Fold look-alike letters in words that mix Latin with another script (UTS #39 mixed-script)."""
    alias, _ = _confusables()
    mixed = False

    def fold(match: re.Match[str]) -> str:
        nonlocal mixed
        word = match.group(0)
        if word.isascii():
            return word
        scripts = {alias(c) for c in word if c.isalpha()}
        if "LATIN" not in scripts or len(scripts - {"COMMON"}) < 2:
            return word
        replaced = "".join(_latin_lookalike(c) or c for c in word)
        if replaced != word:
            mixed = True
        return replaced

    return _WORD.sub(fold, text), mixed
