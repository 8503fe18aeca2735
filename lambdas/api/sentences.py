"""A small streaming sentence splitter: the unit of the output checks on a stream.

`SentenceBuffer.feed(chunk)` returns the sentences the chunk completed; `flush()` returns what is left at the end
of the stream. Concatenating everything returned gives back exactly the text fed in (whitespace included), so the
client sees the model's formatting.

A sentence ends:
- after ``.``, ``!``, ``?`` or ``…`` (runs like ``?!`` or ``...`` included), optional closing quotes or
  brackets, then whitespace, when the next visible character is not a lowercase letter or a digit, and the
  word before a ``.`` is not a known abbreviation (``e.g.``, ``Dr.``, ``approx.``, ...) or a single letter
  (an initial, ``U.S.``);
- at a line break (markdown lists, headings and table rows have no full stop).

So ``3.14`` (no whitespace after the dot), ``e.g. the`` (abbreviation, lowercase next) and ``J. Smith`` (an
initial) do not split. The decision for a terminator waits for the first visible character after the whitespace
(one more token), or for the end of the stream. A sentence longer than `MAX_SENTENCE` characters (code, a run
without punctuation) is cut at its last whitespace, so the output checks never wait for long.
"""

from __future__ import annotations

import re

MAX_SENTENCE = 600

ABBREVIATIONS = frozenset(
    {
        "e.g", "i.e", "cf", "vs", "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "mt", "no", "nos", "fig", "figs",
        "approx", "dept", "est", "inc", "ltd", "co", "corp", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep",
        "sept", "oct", "nov", "dec", "al", "ca", "resp", "vol", "pp", "ed", "eds", "min", "max", "incl", "excl",
    }
)  # fmt: skip

# terminator run, closing marks, whitespace; then (look-ahead) the next visible character
_END = re.compile(r"([.!?\u2026]+)([\"'\u201d\u2019)\]]*)(\s+)(?=(\S))")
_WORD_BEFORE = re.compile(r"([\w.]+)$")


def _is_abbreviation(text_before: str) -> bool:
    match = _WORD_BEFORE.search(text_before)
    if not match:
        return False
    word = match.group(1).lower().strip(".")
    return (
        word in ABBREVIATIONS or (len(word) == 1 and word.isalpha()) or re.fullmatch(r"(?:\w\.)+\w", word) is not None
    )


def _boundary(text: str) -> int | None:
    """The end (exclusive) of the first complete sentence of ``text``, or None."""
    newline = text.find("\n")
    for match in _END.finditer(text):
        if newline != -1 and newline < match.start():
            break
        terminators, next_char = match.group(1), match.group(4)
        if next_char.islower() or next_char.isdigit():
            continue
        if terminators == "." and _is_abbreviation(text[: match.start()]):
            continue
        return match.end()
    if newline != -1:
        end = newline + 1
        while end < len(text) and text[end] == "\n":
            end += 1
        return end
    return None


class SentenceBuffer:
    """Buffers streamed text and hands back complete sentences (see the module docstring)."""

    def __init__(self, max_sentence: int = MAX_SENTENCE) -> None:
        self._buffer = ""
        self._max = max_sentence

    def feed(self, chunk: str) -> list[str]:
        self._buffer += chunk
        sentences: list[str] = []
        while self._buffer:
            end = _boundary(self._buffer)
            if end is None and len(self._buffer) > self._max:
                cut = self._buffer.rfind(" ", 0, self._max)
                end = cut + 1 if cut > 0 else self._max
            if end is None:
                break
            sentences.append(self._buffer[:end])
            self._buffer = self._buffer[end:]
        return sentences

    def flush(self) -> str:
        rest, self._buffer = self._buffer, ""
        return rest

    @property
    def pending(self) -> str:
        return self._buffer
