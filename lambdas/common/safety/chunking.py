"""Split text into pieces that fit Comprehend's per-request byte limits, at whitespace where possible."""

from __future__ import annotations

from collections.abc import Iterator


def utf8_chunks(text: str, max_bytes: int) -> Iterator[tuple[int, str]]:
    """Yield ``(char_offset, piece)`` with each piece at most ``max_bytes`` of UTF-8, covering ``text``.

    Cuts at the last whitespace inside the limit, else at a character boundary, so a multi-byte
    character is never split and offsets map back to ``text`` for redaction.
    """
    if max_bytes < 4:
        raise ValueError("max_bytes must hold at least one UTF-8 character")
    start = 0
    length = len(text)
    while start < length:
        # Fast path: the rest fits.
        rest = text[start:]
        if len(rest) * 4 <= max_bytes or len(rest.encode("utf-8")) <= max_bytes:
            yield start, rest
            return
        # Largest end with piece <= max_bytes: start from a character estimate and adjust.
        end = min(length, start + max_bytes)
        while len(text[start:end].encode("utf-8")) > max_bytes:
            over = len(text[start:end].encode("utf-8")) - max_bytes
            end -= max(1, over // 4)
        cut = text.rfind(" ", start + 1, end)
        cut_nl = text.rfind("\n", start + 1, end)
        cut = max(cut, cut_nl)
        if cut > start + (end - start) // 2:
            end = cut + 1
        yield start, text[start:end]
        start = end
