"""The one Unicode normalization of the safety library: invisible characters removed, then NFKC.

Validation normalizes every message with it before anything else sees the text, the injection prefilter
applies it to the text it scans (so a raw text scans as its validated form would), and the learned scorer
applies it, keeping invisible characters, before extracting features.

- Invisible characters carry no meaning in a chat message but split words for a pattern or a tokenizer:
  zero-width space, non-joiner and joiner, direction marks, word joiner and invisible operators, BOM,
  soft hyphen, combining grapheme joiner, Arabic letter mark, Hangul and Khmer fillers, Mongolian and other
  variation selectors, and the deprecated format characters U+206A-U+206F.
- NFKC then folds compatibility forms (full-width letters, mathematical alphanumerics, ligatures). Removing
  the invisible characters first lets a letter and a combining mark that they separated compose. NFKC never
  produces an invisible character except U+1160 from the fillers U+3164 and U+FFA0, which are removed before,
  so the result holds none and normalizing it again changes nothing.

ASCII text is returned as it is: neither step can change it.
"""

from __future__ import annotations

import re
import unicodedata

INVISIBLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u2060-\u2064\u206a-\u206f"
    "\u3164\ufe00-\ufe0f\ufeff\uffa0\U000e0100-\U000e01ef]"
)


def strip_invisible(text: str) -> str:
    """``text`` without its invisible characters (the first step of ``normalize_unicode``)."""
    return text if text.isascii() else INVISIBLE.sub("", text)


def normalize_unicode(text: str, *, keep_invisible: bool = False) -> str:
    """``text`` with its invisible characters removed, then NFKC-normalized.

    ``keep_invisible=True`` applies NFKC alone: the learned scorer's weights were trained on text normalized
    that way, so removing them there would need new weights (bench/train_prefilter.py).
    """
    if text.isascii():
        return text
    if not keep_invisible:
        text = INVISIBLE.sub("", text)
    return unicodedata.normalize("NFKC", text)
