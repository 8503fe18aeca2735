"""The readings of a text that the injection prefilter scans besides the text as written.

Encodings hide an instruction from a plain scan, so the prefilter also reads the text with leetspeak undone,
with spaced-out letters joined, in rot13, reversed, and with encoded runs decoded (base64, hex, binary, escape
sequences, Morse, ascii85). Each reading runs only when a cheap hint says it may apply, and decoding is
bounded, so an ordinary prompt costs a few substring tests.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable

_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i"})
_HAS_LEET = re.compile(r"[a-z][0-9@$!][a-z]|[0-9@$][a-z]{2}", re.IGNORECASE)
_SPACED = re.compile(r"\b(?:[A-Za-z][ .\-_*]){4,}[A-Za-z]\b")
_SPACER = re.compile(r"[ .\-_*]")
# A few common English words as they read in rot13 and reversed: a cheap gate for those two views.
_ROT13_HINT = re.compile(r"\b(?:gur|naq|lbh|vafgehpgvbaf|vtaber|cerivbhf|fubj|lbhe)\b", re.IGNORECASE)
_REVERSED_HINT = re.compile(r"\b(?:eht|dna|uoy|ruoy|snoitcurtsni|erongi|suoiverp|wohs)\b", re.IGNORECASE)
_ROT13 = str.maketrans(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", "NOPQRSTUVWXYZABCDEFGHIJKLMnopqrstuvwxyzabcdefghijklm"
)

_BASE64_RUN = re.compile(r"[A-Za-z0-9+/]{16,}={0,2}|[A-Za-z0-9_\-]{24,}={0,2}")
_HEX_RUN = re.compile(r"\b(?:[0-9a-fA-F]{2}[ :]?){10,}\b")
_SPACED_HEX = re.compile(r"(?:[0-9a-fA-F]{2}[ :]){4}[0-9a-fA-F]{2}")
_BINARY_RUN = re.compile(r"\b(?:[01]{8}\s?){6,}")
_ESCAPE_RUN = re.compile(r"(?:\\u[0-9a-fA-F]{4}|\\x[0-9a-fA-F]{2}){6,}")
_ESCAPE = re.compile(r"\\(?:u([0-9a-fA-F]{4})|x([0-9a-fA-F]{2}))")
_MORSE_RUN = re.compile(r"(?:[.\-]{1,6}[ /]+){6,}[.\-]{1,6}")
_ASCII85_RUN = re.compile(r"<~[!-u\s]{10,}?~>")
_MORSE_CODES = (
    ".- -... -.-. -.. . ..-. --. .... .. .--- -.- .-.. -- -. --- .--. --.- .-. ... - ..- ...- .-- -..- -.-- --.. "
    "----- .---- ..--- ...-- ....- ..... -.... --... ---.. ----."
)
_MORSE = dict(zip(_MORSE_CODES.split(), "abcdefghijklmnopqrstuvwxyz0123456789", strict=True))

MAX_DECODED = 16  # decoded runs per text
MAX_RUN = 8192  # characters per run
MIN_DECODED_CHARS = 8  # shorter decodings are noise, not an instruction
MIN_LETTER_SHARE = 0.8  # letters and spaces in a decoding that counts as text


def views(text: str) -> list[tuple[str, str]]:
    """``(name, reading)`` pairs: ``plain`` (the text), then whichever of ``leet``, ``spaced``, ``rot13``,
    ``reversed`` and ``decoded`` (the decoded runs, one per line) the text hints at, in that order."""
    out = [("plain", text)]
    if _HAS_LEET.search(text):
        out.append(("leet", unleet(text)))
    if _SPACED.search(text):
        out.append(("spaced", join_spaced(text)))
    if _ROT13_HINT.search(text):
        out.append(("rot13", rot13(text)))
    if _REVERSED_HINT.search(text):
        out.append(("reversed", text[::-1]))
    decoded = decoded_runs(text)
    if decoded:
        out.append(("decoded", "\n".join(decoded)))
    return out


def unleet(text: str) -> str:
    """Digits and signs read as the letters they stand for: ``1gn0r3`` becomes ``ignore``."""
    return text.translate(_LEET)


def join_spaced(text: str) -> str:
    """Runs of five or more single letters joined: ``i g n o r e`` becomes ``ignore``."""
    return _SPACED.sub(lambda m: _SPACER.sub("", m.group(0)), text)


def rot13(text: str) -> str:
    return text.translate(_ROT13)


def decoded_runs(text: str) -> list[str]:
    """Printable text hidden in encoded runs: base64, hex, binary, escapes, Morse, ascii85 (bounded)."""
    longest = max(map(len, text.split()), default=0)
    # Cheap gates first: most prompts hold no long token, no bit runs, escapes, Morse or ascii85.
    decoders: list[tuple[bool, re.Pattern[str], Callable[[str], str | None]]] = [
        (longest >= 16, _BASE64_RUN, from_base64),
        (longest >= 20 or bool(_SPACED_HEX.search(text)), _HEX_RUN, from_hex),
        (text.count("0") + text.count("1") >= 48, _BINARY_RUN, from_binary),
        ("\\u" in text or "\\x" in text, _ESCAPE_RUN, from_escapes),
        (text.count(".-") + text.count("-.") >= 6, _MORSE_RUN, from_morse),
        ("<~" in text, _ASCII85_RUN, from_ascii85),
    ]
    out: list[str] = []
    for enabled, pattern, decode in decoders:
        if not enabled:
            continue
        for match in pattern.finditer(text):
            decoded = decode(match.group(0)[:MAX_RUN])
            if decoded:
                out.append(decoded)
                if len(out) >= MAX_DECODED:
                    return out
    return out


def from_base64(run: str) -> str | None:
    """Standard or URL-safe base64, padding optional; a long word in one case is not taken for base64."""
    if run.isalpha() and (run.islower() or run.isupper()):
        return None
    # the URL-safe alphabet differs only in "-" and "_": without them it would decode the same bytes again
    url_safe = "-" in run or "_" in run
    for decoder in (base64.b64decode, base64.urlsafe_b64decode) if url_safe else (base64.b64decode,):
        try:
            decoded = printable(decoder(run + "=" * (-len(run) % 4)))
        except (binascii.Error, ValueError):
            continue
        if decoded:
            return decoded
    return None


def from_hex(run: str) -> str | None:
    """Hex digits, optionally in pairs separated by spaces or colons (an odd last digit is dropped)."""
    digits = re.sub(r"[ :]", "", run)
    return printable(bytes.fromhex(digits[: len(digits) // 2 * 2]))


def from_binary(run: str) -> str | None:
    """Bytes written as groups of eight bits (groups of another length are skipped)."""
    return printable(bytes(int(b, 2) for b in run.split() if len(b) == 8))


def from_escapes(run: str) -> str | None:
    r"""``\uXXXX`` and ``\xXX`` escape sequences."""
    codes = _ESCAPE.findall(run)
    return printable("".join(chr(int(u or x, 16)) for u, x in codes).encode("utf-8", "replace"))


def from_morse(run: str) -> str | None:
    """International Morse code, letters separated by spaces and words by ``/`` (unknown symbols dropped)."""
    decoded = " ".join("".join(_MORSE.get(sym, "") for sym in word.split()) for word in run.split("/"))
    return decoded if len(decoded) >= MIN_DECODED_CHARS else None


def from_ascii85(run: str) -> str | None:
    """Adobe ascii85, between ``<~`` and ``~>``."""
    try:
        return printable(base64.a85decode(run, adobe=True))
    except ValueError:
        return None


def printable(raw: bytes) -> str | None:
    """``raw`` as text when it reads like words: UTF-8, at least 8 characters, mostly letters and spaces,
    and at least one space."""
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if len(decoded) < MIN_DECODED_CHARS:
        return None
    letters = sum(c.isalpha() or c.isspace() for c in decoded)
    return decoded if letters / len(decoded) >= MIN_LETTER_SHARE and " " in decoded else None
