"""Edges of the PII step (lambdas/pipeline/pii.py) that test_pii.py does not pin: every byte threshold with
multibyte text (a piece or chunk of exactly the limit, one byte more), a boundary mark exactly at the floor
and just below it, offsets rebased across chunks, the merge's order and severity ties, the declared-field
drop, and the exact reasons a user reads. Expected pieces, chunks, spans and reasons are written out by hand;
byte counts are checked with ``len(s.encode())``, never with the code under test.

"é" and "ü" are two UTF-8 bytes each and one character, so a limit in bytes and the cut in characters
differ by a factor of two and a cut inside a character would show.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, SupportsIndex, overload

import pytest
from pipeline.contract import Action, PiiPolicy
from pipeline.pii import Chunk, Hasher, Piece, Segment, Span, detect_spans, merge, plan_chunks, rebase, redact_records
from pipeline.pii import split_text as _split_text

from tests.lambdas.pipeline.harness import pipeline_settings

SETTINGS = pipeline_settings()
POLICY = SETTINGS.pii  # NAME, ADDRESS mask; EMAIL hash; CREDIT_DEBIT_NUMBER, PASSWORD drop
SALT = b"0123456789abcdef-edge-salt"
HASH = Hasher(SALT)
E, U = "é", "ü"


def policy(chunk_bytes: int = 1000, **actions: Action) -> PiiPolicy:
    return PiiPolicy(language="en", min_score=0.5, chunk_bytes=chunk_bytes, default_action="mask", actions=actions)


def entity(kind: str, begin: int, end: int, score: float = 0.9) -> dict[str, Any]:
    return {"Type": kind, "Score": score, "BeginOffset": begin, "EndOffset": end}


class Scripted:
    """Comprehend as scripted per request text; records every request so the test sees what was sent."""

    def __init__(self, answers: Mapping[str, Sequence[Mapping[str, Any]]]) -> None:
        self.answers = answers
        self.texts: list[str] = []

    def __call__(self, text: str) -> Sequence[Mapping[str, Any]]:
        self.texts.append(text)
        return self.answers.get(text, [])


class Bounded(str):
    """A text that fails the test once sliced more than any terminating split of it needs (a few per piece):
    a split that stops advancing fails at once instead of hanging the run (or eating its memory)."""

    budget = 200

    def __getitem__(self, key: SupportsIndex | slice) -> str:
        self.budget -= 1
        if self.budget < 0:
            pytest.fail("split_text does not advance: it keeps slicing the text")
        return str.__getitem__(self, key)


def split_text(text: str, max_bytes: int) -> list[tuple[int, str]]:
    return _split_text(Bounded(text), max_bytes)


class Lookups(Sequence[Piece]):
    """The planned pieces, failing the test after ``budget`` look-ups (a few suffice for these short chunks): a walk
    over the pieces that stops advancing fails at once instead of hanging the run."""

    def __init__(self, pieces: Sequence[Piece], budget: int) -> None:
        self._pieces = list(pieces)
        self._budget = budget

    @overload
    def __getitem__(self, index: int) -> Piece: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Piece]: ...
    def __getitem__(self, index: int | slice) -> Piece | Sequence[Piece]:
        self._budget -= 1
        if self._budget < 0:
            pytest.fail("rebase does not advance: it keeps looking up the same pieces")
        return self._pieces[index]

    def __len__(self) -> int:
        return len(self._pieces)

    def __iter__(self) -> Iterator[Piece]:
        return iter(self._pieces)


# --- split_text: byte limits and boundary marks -------------------------------------------------------------


def test_a_text_of_exactly_max_bytes_is_one_piece_one_byte_more_splits():
    text = E * 10
    assert len(text.encode()) == 20
    assert split_text(text, 20) == [(0, text)]
    # one byte short: 19 bytes hold 9 whole characters, the 10th is never cut in half
    assert split_text(text, 19) == [(0, E * 9), (9, E)]


def test_the_last_piece_that_fits_is_not_cut_again_on_a_boundary():
    text = E * 10 + "éé éé"  # no mark in the first 10 characters; the rest (9 bytes) fits whole
    assert len(text[10:].encode()) == 9
    assert split_text(text, 20) == [(0, E * 10), (10, "éé éé")]


def test_the_split_takes_the_last_mark_before_the_limit_not_the_first():
    text = "éééé éé " + E * 10
    # 20 bytes hold "éééé éé " (14 bytes) and 3 more "é": 11 characters, floor 11 // 4 = 2; spaces at 4 and 7
    assert len("éééé éé ééé".encode()) == 20
    # the rest, 10 "é", is exactly 20 bytes: one piece
    assert split_text(text, 20) == [(0, "éééé éé "), (8, E * 10)]


def test_a_mark_exactly_at_the_floor_is_a_cut():
    text = "éé " + E * 20
    # 19 bytes hold "éé " (5 bytes) and 7 "é" (14): 10 characters; floor 10 // 4 = 2, the space is at 2
    assert len(("éé " + E * 7).encode()) == 19
    assert split_text(text, 19) == [(0, "éé "), (3, E * 9), (12, E * 9), (21, E * 2)]


def test_a_mark_exactly_at_the_floor_of_a_later_piece_is_a_cut():
    text = E * 10 + "éé " + E * 30
    # piece 2 starts at 10; 20 bytes hold "éé " and 7 "é" (19; an 8th "é" would need 21): up to character 20,
    # floor 10 + 10 // 4 = 12, the space is at 12
    assert len(("éé " + E * 7).encode()) == 19
    assert split_text(text, 20) == [(0, E * 10), (10, "éé "), (13, E * 10), (23, E * 10), (33, E * 10)]


def test_a_mark_just_below_the_floor_is_not_a_cut():
    text = "éééé " + E * 30
    # 39 bytes hold "éééé " (9 bytes) and 15 "é" (30): 20 characters; floor 20 // 4 = 5, the space is at 4
    assert len(("éééé " + E * 15).encode()) == 39
    assert split_text(text, 39) == [(0, "éééé " + E * 15), (20, E * 15)]


# --- plan_chunks: packing pieces of many fields ------------------------------------------------------------


def test_pieces_and_separator_of_exactly_max_bytes_share_a_chunk_after_a_full_one():
    segments = [Segment(0, "notes", E * 10), Segment(1, "notes", E * 4), Segment(2, "notes", U * 5)]
    assert len((E * 10).encode()) == 20
    assert len((E * 4 + "\n\n" + U * 5).encode()) == 20
    pieces, chunks = plan_chunks(segments, 20)
    assert pieces == [Piece(0, 0, E * 10), Piece(1, 0, E * 4), Piece(2, 0, U * 5)]
    # the second chunk starts afresh: its first piece is at character 0, the next after "éééé" and "\n\n"
    assert chunks == [Chunk(E * 10, (0,), (0,)), Chunk(E * 4 + "\n\n" + U * 5, (0, 6), (1, 2))]


def test_pieces_and_separator_one_byte_over_max_bytes_take_two_chunks():
    segments = [Segment(0, "notes", E * 4), Segment(1, "notes", U * 5)]  # 8 + 2 + 10 = 20 bytes > 19
    _, chunks = plan_chunks(segments, 19)
    assert chunks == [Chunk(E * 4, (0,), (0,)), Chunk(U * 5, (0,), (1,))]


# --- rebase: chunk offsets back to field offsets ----------------------------------------------------------


def test_an_entity_below_the_minimum_score_does_not_stop_the_ones_after_it():
    chunk = Chunk("Zoé and Zofia", (0,), (0,))
    found = rebase(chunk, [Piece(0, 0, "Zoé and Zofia")], [entity("NAME", 0, 3, 0.2), entity("NAME", 8, 13)], 0.5)
    assert found == [(0, Span(8, 13, "NAME", 0.9))]


def test_an_entity_in_a_later_piece_maps_to_its_own_field():
    pieces = [Piece(0, 0, "ab"), Piece(1, 0, "cd"), Piece(2, 7, "Zoé x")]
    chunk = Chunk("ab\n\ncd\n\nZoé x", (0, 4, 8), (0, 1, 2))
    found = rebase(chunk, Lookups(pieces, budget=10), [entity("NAME", 8, 11)], 0.5)
    assert found == [(2, Span(7, 10, "NAME", 0.9))]


def test_an_entity_across_two_pieces_is_clipped_to_each_and_the_walk_ends():
    pieces = [Piece(0, 0, "abc"), Piece(1, 5, "def")]
    chunk = Chunk("abc\n\ndef", (0, 5), (0, 1))
    found = rebase(chunk, Lookups(pieces, budget=10), [entity("NAME", 1, 7)], 0.5)
    assert found == [(0, Span(1, 3, "NAME", 0.9)), (1, Span(5, 7, "NAME", 0.9))]


def test_an_entity_starting_at_the_separator_or_empty_gives_no_empty_span():
    pieces = [Piece(0, 0, "abc"), Piece(1, 0, "def")]
    chunk = Chunk("abc\n\ndef", (0, 5), (0, 1))
    # begins where piece 0 ends (the separator): nothing of piece 0; "de" of piece 1
    assert rebase(chunk, Lookups(pieces, budget=10), [entity("NAME", 3, 7)], 0.5) == [(1, Span(0, 2, "NAME", 0.9))]
    assert rebase(chunk, Lookups(pieces, budget=10), [entity("NAME", 1, 1)], 0.5) == []


def test_a_word_cut_across_two_chunks_is_rebased_and_merged_into_one_span():
    text = U * 15  # no mark: cut after 10 characters (20 bytes), the rest goes to a chunk of its own
    detect = Scripted({U * 10: [entity("NAME", 7, 10)], U * 5: [entity("NAME", 0, 3, 0.8)]})
    spans, requests = detect_spans([Segment(0, "notes", Bounded(text))], policy(chunk_bytes=20), detect)
    assert detect.texts == [U * 10, U * 5]
    assert requests == 2
    # 7..10 of the first chunk and 0..3 of the second (field offset 10): touching, so one span 7..13
    assert spans == {0: [Span(7, 13, "NAME", 0.9)]}


def test_detect_spans_merges_with_the_policy_it_is_given():
    text = "card 4111 zofia@example.com"
    detect = Scripted({text: [entity("CREDIT_DEBIT_NUMBER", 5, 9), entity("EMAIL", 5, 27)]})
    strict_card, _ = detect_spans([Segment(0, "notes", text)], policy(CREDIT_DEBIT_NUMBER="drop", EMAIL="hash"), detect)
    assert strict_card == {0: [Span(5, 27, "CREDIT_DEBIT_NUMBER", 0.9)]}
    strict_mail, _ = detect_spans([Segment(0, "notes", text)], policy(CREDIT_DEBIT_NUMBER="hash", EMAIL="drop"), detect)
    assert strict_mail == {0: [Span(5, 27, "EMAIL", 0.9)]}


# --- merge: order and severity ----------------------------------------------------------------------------


def test_touching_spans_merge():
    assert merge([Span(0, 5, "NAME", 0.9), Span(5, 8, "NAME", 0.7)], POLICY) == [Span(0, 8, "NAME", 0.9)]
    assert merge([Span(0, 5, "NAME", 0.9), Span(6, 8, "NAME", 0.7)], POLICY) == [
        Span(0, 5, "NAME", 0.9),
        Span(6, 8, "NAME", 0.7),
    ]


def test_at_the_same_begin_the_widest_span_comes_first_and_names_an_equally_severe_merge():
    # NAME and ADDRESS are both masked: the first in order (same begin: the wider) keeps its type
    assert merge([Span(0, 5, "NAME", 0.7), Span(0, 8, "ADDRESS", 0.9)], POLICY) == [Span(0, 8, "ADDRESS", 0.9)]


def test_an_equally_severe_later_span_does_not_rename_the_merge():
    assert merge([Span(0, 5, "NAME", 0.7), Span(3, 8, "ADDRESS", 0.9)], POLICY) == [Span(0, 8, "NAME", 0.9)]


def test_a_milder_later_span_never_softens_a_drop_to_a_hash():
    merged = merge([Span(0, 8, "CREDIT_DEBIT_NUMBER", 0.9), Span(3, 12, "EMAIL", 0.8)], POLICY)
    assert merged == [Span(0, 12, "CREDIT_DEBIT_NUMBER", 0.9)]
    assert merge([Span(0, 8, "PASSWORD", 0.9), Span(3, 5, "NAME", 0.8)], POLICY) == [Span(0, 8, "PASSWORD", 0.9)]


# --- redact_records: declared fields, drops, reasons ------------------------------------------------------


def test_a_declared_field_the_policy_drops_is_removed_and_the_record_counts_as_pii():
    profiles = SETTINGS.sources["profiles"]
    full = {"customer_id": "C1", "full_name": "Zofia Szabo", "email": "zofia@example.com", "phone": None}
    empty = {"customer_id": "C2", "full_name": None, "email": None, "phone": None}
    result = redact_records(
        [(1, full), (2, empty)], profiles, policy(NAME="drop", EMAIL="hash"), lambda _t: pytest.fail("no scan"), HASH
    )
    expected_mail = hmac.new(SALT, b"zofia@example.com", hashlib.sha256).hexdigest()[:32]
    assert result.records == [
        (1, {"customer_id": "C1", "email": expected_mail, "phone": None}),
        (2, empty),
    ]
    assert result.records_with_pii == 1
    assert result.entities == {"NAME": 1, "EMAIL": 1}
    assert result.rejects == []


def test_a_document_with_two_dropped_types_names_both_sorted():
    feedback = SETTINGS.sources["feedback"]
    text = "password SECRET, card 4111"
    detect = Scripted({text: [entity("PASSWORD", 9, 15), entity("CREDIT_DEBIT_NUMBER", 22, 26)]})
    record = {"text": text}
    result = redact_records([(7, record)], feedback, POLICY, detect, HASH)
    assert result.records == []
    assert result.rejects == [(7, "PII policy drops the whole document: text (CREDIT_DEBIT_NUMBER, PASSWORD)", record)]
    assert result.records_with_pii == 1


def test_text_before_the_first_span_is_kept_whole():
    support = SETTINGS.sources["support_contacts"]
    text = "Żółć: Zofia wrote zofia@example.com"
    detect = Scripted({text: [entity("NAME", 6, 11), entity("EMAIL", 18, 35)]})
    result = redact_records([(1, {"ticket_id": "T1", "notes": text})], support, POLICY, detect, HASH)
    digest = hmac.new(SALT, b"zofia@example.com", hashlib.sha256).hexdigest()[:32]
    assert result.records == [(1, {"ticket_id": "T1", "notes": f"Żółć: [NAME] wrote [EMAIL:{digest}]"})]


def test_a_short_salt_is_refused_with_the_exact_message():
    with pytest.raises(ValueError, match=r"^the hash salt must be at least 16 bytes$"):
        Hasher(b"x" * 15)
