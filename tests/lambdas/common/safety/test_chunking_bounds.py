"""utf8_chunks: pieces that fit Comprehend's byte limits, counted in UTF-8 bytes, cut at whitespace past the middle.

Expected pieces are literals, or come from `_reference`, a character-by-character statement of the contract
(the longest prefix that fits; then, if more text follows, a cut after the last space or newline that lies past
the middle of that prefix). Every call goes through `_chunks`, which stops after more pieces than the text has
characters, so a generator that never ends fails the test instead of hanging it.
"""

from __future__ import annotations

import random
from itertools import islice

import pytest
from common.safety.chunking import utf8_chunks


def _chunks(text: str, max_bytes: int) -> list[tuple[int, str]]:
    return list(islice(utf8_chunks(text, max_bytes), len(text) + 2))


def _reference(text: str, max_bytes: int) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    start = 0
    while start < len(text):
        end, size = start, 0
        while end < len(text) and size + len(text[end].encode("utf-8")) <= max_bytes:
            size += len(text[end].encode("utf-8"))
            end += 1
        if end < len(text):
            for i in range(end - 1, start, -1):  # the last space or newline after the piece's first character
                if text[i] in " \n":
                    if i - start > (end - start) // 2:
                        end = i + 1
                    break
        out.append((start, text[start:end]))
        start = end
    return out


def test_empty_text_gives_no_piece():
    assert _chunks("", 10) == []


def test_a_limit_of_four_bytes_holds_any_character():
    assert _chunks("\U0001d11e", 4) == [(0, "\U0001d11e")]  # U+1D11E is 4 bytes in UTF-8
    assert _chunks("\U0001d11e\U0001d11e", 4) == [(0, "\U0001d11e"), (1, "\U0001d11e")]


@pytest.mark.parametrize("max_bytes", [0, 1, 3])
def test_a_limit_below_four_bytes_is_refused(max_bytes):
    with pytest.raises(ValueError, match=r"^max_bytes must hold at least one UTF-8 character$"):
        _chunks("abc", max_bytes)


def test_text_of_exactly_the_limit_is_one_piece():
    # 10 characters, 10 bytes, with a space past the middle: it fits, so it is not cut there.
    assert _chunks("aaaaaaa bb", 10) == [(0, "aaaaaaa bb")]
    text = "caf\u00e9 caf\u00e9"  # 9 characters, 11 bytes (each e-acute is 2)
    assert len(text.encode("utf-8")) == 11
    assert _chunks(text, 11) == [(0, text)]


def test_a_piece_that_fills_the_limit_exactly_is_not_shortened():
    assert _chunks("a" * 15, 10) == [(0, "a" * 10), (10, "a" * 5)]


def test_multibyte_pieces_are_filled_to_the_byte_limit():
    # 20 two-byte characters, limit 10 bytes: 5 characters a piece, never a split character.
    assert _chunks("\u00e9" * 20, 10) == [(0, "\u00e9" * 5), (5, "\u00e9" * 5), (10, "\u00e9" * 5), (15, "\u00e9" * 5)]
    # 3-byte CJK characters, limit 10: 3 characters (9 bytes) a piece.
    assert _chunks("\u4f60" * 7, 10) == [(0, "\u4f60" * 3), (3, "\u4f60" * 3), (6, "\u4f60")]
    # mixed widths: 'a' (1) + e-acute (2) + CJK (3) + U+1D11E (4) = 10 bytes, then again.
    unit = "a\u00e9\u4f60\U0001d11e"
    assert _chunks(unit * 2, 10) == [(0, unit), (4, unit)]


def test_a_long_multibyte_run_shrinks_from_a_large_overshoot():
    # 60 four-byte characters under a 40-byte limit: 10 characters a piece.
    text = "\U0001d11e" * 60
    assert _chunks(text, 40) == [(i, "\U0001d11e" * 10) for i in range(0, 60, 10)]


def test_cut_after_the_last_space_past_the_middle():
    # the piece "aaaaaa b c" (10 bytes) holds spaces at 6 and 8: the last one wins
    assert _chunks("aaaaaa b cdddd", 10) == [(0, "aaaaaa b "), (9, "cdddd")]


def test_cut_after_a_newline():
    assert _chunks("aaaaaaa\nbbbbbbb", 10) == [(0, "aaaaaaa\n"), (8, "bbbbbbb")]
    # the last of several newlines, not the first
    assert _chunks("aaaaaa\nb\ncdddd", 10) == [(0, "aaaaaa\nb\n"), (9, "cdddd")]


def test_a_newline_beyond_the_limit_is_not_a_cut_point():
    # no whitespace inside the first 10 characters; the newline further on must not stretch the piece
    pieces = _chunks("aaaaaaaaaaaa\nbb", 10)
    assert pieces == [(0, "aaaaaaaaaa"), (10, "aa\nbb")]


def test_whitespace_at_or_before_the_middle_is_not_a_cut_point():
    # space at index 5 of a 10-character piece: 5 is not past the middle (10 // 2), so cut at the limit
    assert _chunks("aaaaa bbbbbbbbbbb", 10) == [(0, "aaaaa bbbb"), (10, "bbbbbbb")]
    # space at index 4 of a 12-byte piece: past a third, not past the half
    assert _chunks("aaaa bbbbbbbbbbbbbbb", 12) == [(0, "aaaa bbbbbbb"), (12, "bbbbbbbb")]


def test_the_middle_is_measured_from_the_start_of_each_piece():
    # second piece starts at 10; its space at 13 is only 3 characters in, not past its middle (5)
    text = "a" * 10 + "bbb cccccccccccccc"
    assert _chunks(text, 10) == [(0, "a" * 10), (10, "bbb cccccc"), (20, "cccccccc")]
    # ... and a space 8 characters into the second piece is past its middle: cut there
    text = "a" * 10 + "bbbbbbbb cccccc"
    assert _chunks(text, 10) == [(0, "a" * 10), (10, "bbbbbbbb "), (19, "cccccc")]


def test_multibyte_text_is_cut_at_whitespace_by_byte_count():
    # "\u00e9\u00e9\u00e9\u00e9 " is 9 bytes; limit 12 holds it plus one more e-acute (11 bytes), so the
    # piece is cut after the space (5 characters in, past the middle of 6)
    text = "\u00e9\u00e9\u00e9\u00e9 \u00e9\u00e9\u00e9\u00e9\u00e9"
    assert _chunks(text, 12) == [(0, "\u00e9\u00e9\u00e9\u00e9 "), (5, "\u00e9\u00e9\u00e9\u00e9\u00e9")]
    assert [len(p.encode("utf-8")) for _, p in _chunks(text, 12)] == [9, 10]


def test_a_tab_is_not_a_cut_point():
    assert _chunks("aaaaaaa\tbbbb", 10) == [(0, "aaaaaaa\tbb"), (10, "bb")]


ALPHABET = ["a", "b", "\u00e9", "\u4f60", "\U0001d11e", " ", " ", "\n"]


@pytest.mark.parametrize("seed", range(40))
def test_pieces_follow_the_contract_on_random_text(seed):
    rng = random.Random(seed)
    text = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 120)))
    for max_bytes in (4, 5, 7, 10, 16, 33):
        pieces = _chunks(text, max_bytes)
        assert pieces == _reference(text, max_bytes), (text, max_bytes)
        assert "".join(p for _, p in pieces) == text
        assert all(0 < len(p.encode("utf-8")) <= max_bytes for _, p in pieces)
