"""The streaming sentence splitter: boundaries, abbreviations, decimals, line breaks, the length cap."""

from __future__ import annotations

import pytest
from api.sentences import SentenceBuffer


def _split(*chunks: str, max_sentence: int = 600) -> tuple[list[str], str]:
    buffer = SentenceBuffer(max_sentence)
    out: list[str] = []
    for chunk in chunks:
        out += buffer.feed(chunk)
    return out, buffer.flush()


@pytest.mark.parametrize(
    ("chunks", "sentences", "rest"),
    [
        (("It costs 3.", "14 euros. Next"), ["It costs 3.14 euros. "], "Next"),
        (("See e.g. the policy. Ok",), ["See e.g. the policy. "], "Ok"),
        (("Dr. Smith agreed! Yes? Fine",), ["Dr. Smith agreed! ", "Yes? "], "Fine"),
        (("J. Smith and the U.S. team met. Then",), ["J. Smith and the U.S. team met. "], "Then"),
        (("- one\n- two\n\nEnd",), ["- one\n", "- two\n\n"], "End"),
        (('He said "stop." Then left... And',), ['He said "stop." ', "Then left... "], "And"),
        (("Wait. ",), [], "Wait. "),  # undecided until the next visible character
        (("Version 2. it is",), [], "Version 2. it is"),  # lowercase next: not a boundary
    ],
)
def test_boundaries(chunks, sentences, rest):
    assert _split(*chunks) == (sentences, rest)


def test_text_without_punctuation_is_cut_at_the_cap():
    out, rest = _split("aaaa bbbb cccc dddd", max_sentence=10)
    assert out == ["aaaa bbbb "]  # 19 characters > 10: cut at the last space within 10
    assert rest == "cccc dddd"  # 9 characters: within the cap, waits
