"""Redact step, pure part: chunk planning, offset rebasing, the policy per entity type."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pipeline.contract import Action, PiiPolicy
from pipeline.pii import (
    SEPARATOR,
    Chunk,
    Hasher,
    Piece,
    Segment,
    Span,
    detect_spans,
    merge,
    plan_chunks,
    rebase,
    redact_records,
    split_text,
    utf8_len,
)

from tests.lambdas.pipeline.harness import pipeline_settings

SETTINGS = pipeline_settings()
POLICY = SETTINGS.pii
SALT = b"0123456789abcdef-test-salt"
HASH = Hasher(SALT)


def hmac_sha256(salt: bytes, value: str) -> str:
    """The expected hash, computed independently of the Hasher: HMAC-SHA256, first 32 hex characters."""
    return hmac.new(salt, value.encode("utf-8"), hashlib.sha256).hexdigest()[:32]


TOKEN = re.compile(r"\b(?:SECRET|Zofia Szabo|Zofia|zofia@example\.com)\b")
KINDS = {"SECRET": "PASSWORD", "Zofia Szabo": "NAME", "Zofia": "NAME", "zofia@example.com": "EMAIL"}


def oracle(text: str) -> list[Mapping[str, Any]]:
    """A detector that finds the planted tokens, as Comprehend would report them."""
    return [
        {"Type": KINDS[m.group()], "Score": 0.9, "BeginOffset": m.start(), "EndOffset": m.end()}
        for m in TOKEN.finditer(text)
    ]


class Counting:
    def __init__(self) -> None:
        self.texts: list[str] = []

    def __call__(self, text: str) -> Sequence[Mapping[str, Any]]:
        self.texts.append(text)
        return oracle(text)


def policy(chunk_bytes: int = 1000, **actions: Action) -> PiiPolicy:
    return PiiPolicy(language="en", min_score=0.5, chunk_bytes=chunk_bytes, default_action="mask", actions=actions)


def test_short_text_is_one_piece():
    assert split_text("hello world", 100) == [(0, "hello world")]


def test_long_text_splits_on_the_best_boundary_within_the_byte_limit():
    text = "First paragraph here.\n\nSecond one is a bit longer. It has two sentences.\n\nThird."
    pieces = split_text(text, 40)
    assert "".join(p for _, p in pieces) == text
    assert all(utf8_len(p) <= 40 for _, p in pieces)
    assert pieces[0][1] == "First paragraph here.\n\n"
    assert [start for start, _ in pieces] == [
        0,
        *(len("".join(p for _, p in pieces[:i])) for i in range(1, len(pieces))),
    ]


def test_multibyte_characters_are_never_cut():
    text = "é" * 30  # 2 bytes each
    pieces = split_text(text, 7)
    assert all(utf8_len(p) <= 7 for _, p in pieces)
    assert "".join(p for _, p in pieces) == text


def test_small_fields_of_many_records_share_one_chunk_and_offsets_map_back():
    segments = [Segment(0, "notes", "call Zofia Szabo"), Segment(1, "notes", "mail zofia@example.com now")]
    pieces, chunks = plan_chunks(segments, 1000)
    assert len(chunks) == 1
    assert chunks[0].text == "call Zofia Szabo" + SEPARATOR + "mail zofia@example.com now"
    found = rebase(chunks[0], pieces, oracle(chunks[0].text), 0.5)
    assert [(seg, segments[seg].text[s.begin : s.end], s.type) for seg, s in found] == [
        (0, "Zofia Szabo", "NAME"),
        (1, "zofia@example.com", "EMAIL"),
    ]


def test_an_entity_reported_across_a_piece_boundary_is_clipped_to_each_piece():
    pieces = [Piece(0, 0, "abc"), Piece(1, 5, "def")]
    chunk = Chunk("abc" + SEPARATOR + "def", (0, 5), (0, 1))
    found = rebase(chunk, pieces, [{"Type": "NAME", "Score": 1.0, "BeginOffset": 1, "EndOffset": 7}], 0.5)
    assert found == [(0, Span(1, 3, "NAME", 1.0)), (1, Span(5, 7, "NAME", 1.0))]


def test_entities_below_the_minimum_score_are_ignored():
    chunk = Chunk("abc", (0,), (0,))
    assert (
        rebase(chunk, [Piece(0, 0, "abc")], [{"Type": "NAME", "Score": 0.2, "BeginOffset": 0, "EndOffset": 3}], 0.5)
        == []
    )


def test_overlapping_spans_merge_and_take_the_strictest_action():
    merged = merge([Span(0, 5, "NAME", 0.9), Span(3, 8, "CREDIT_DEBIT_NUMBER", 0.8), Span(10, 12, "NAME", 0.9)], POLICY)
    assert merged == [Span(0, 8, "CREDIT_DEBIT_NUMBER", 0.9), Span(10, 12, "NAME", 0.9)]


def test_one_request_per_planned_chunk():
    segments = [Segment(i, "notes", f"note {i}: call Zofia Szabo. " * 20) for i in range(30)]
    detect = Counting()
    spans, requests = detect_spans(segments, policy(chunk_bytes=2000), detect)
    _, chunks = plan_chunks(segments, 2000)
    assert requests == len(chunks) == len(detect.texts) > 1
    assert all(utf8_len(text) <= 2000 for text in detect.texts)
    assert sum(len(s) for s in spans.values()) == 30 * 20


def test_the_policy_masks_hashes_and_drops_per_entity_type():
    support = SETTINGS.sources["support_contacts"]
    record = {
        "ticket_id": "T1",
        "customer_id": "C1",
        "channel": "email",
        "topic": "billing",
        "resolved": True,
        "notes": "Zofia Szabo wrote from zofia@example.com",
    }
    result = redact_records([(1, record)], support, POLICY, oracle, HASH)
    ((position, redacted),) = result.records
    assert position == 1
    assert redacted["notes"] == f"[NAME] wrote from [EMAIL:{hmac_sha256(SALT, 'zofia@example.com')}]"
    assert result.entities == {"NAME": 1, "EMAIL": 1}
    assert result.records_with_pii == 1
    dropped = redact_records([(1, record | {"notes": "password SECRET"})], support, POLICY, oracle, HASH)
    assert "notes" not in dropped.records[0][1]  # PASSWORD: drop the field, keep the ticket


def test_declared_pii_fields_need_no_detection():
    profiles = SETTINGS.sources["profiles"]
    record = {"customer_id": "C1", "full_name": "Zofia Szabo", "email": " Zofia@Example.com ", "phone": None}
    result = redact_records([(1, record)], profiles, POLICY, lambda _t: pytest.fail("no free text to scan"), HASH)
    redacted = result.records[0][1]
    assert redacted["full_name"] == "[NAME]"
    # normalized (trimmed, case-folded): the join key matches other sources
    assert redacted["email"] == hmac_sha256(SALT, "zofia@example.com") == "681ce7e1188792b45c7736584f71cafb"
    assert redacted["phone"] is None
    assert result.requests == 0


def test_a_document_the_policy_drops_entirely_is_rejected_with_the_reason():
    feedback = SETTINGS.sources["feedback"]
    result = redact_records([(1, {"text": "my password is SECRET"})], feedback, POLICY, oracle, HASH)
    assert result.records == []
    assert result.rejects[0][1] == "PII policy drops the whole document: text (PASSWORD)"


def test_the_salt_must_be_long_and_changes_every_hash():
    with pytest.raises(ValueError, match="16 bytes"):
        Hasher(b"short")
    assert Hasher(b"a" * 16)("x") != Hasher(b"b" * 16)("x")
    assert len(HASH("x")) == 32


# Planted tokens are single words: the split never cuts inside a word, as it never cuts inside a name
# Comprehend would still see whole (a word boundary is always within reach at these sizes).
words = st.sampled_from(["hello", "Zofia", "zofia@example.com", "SECRET", "ünïcödé", "\n\n", ".", "data"])


@settings(max_examples=80, deadline=None)
@given(st.lists(st.lists(words, max_size=60).map(" ".join), min_size=1, max_size=8), st.integers(60, 400))
def test_no_planted_token_survives_whatever_the_chunking(texts, chunk_bytes):
    support = SETTINGS.sources["support_contacts"]
    records = [(i, {"ticket_id": f"T{i}", "notes": text}) for i, text in enumerate(texts)]
    detect = Counting()
    result = redact_records(records, support, policy(chunk_bytes, PASSWORD="drop", EMAIL="hash"), detect, HASH)
    assert all(utf8_len(text) <= chunk_bytes for text in detect.texts)
    assert result.requests == len(detect.texts)
    for _, redacted in result.records:
        notes = redacted.get("notes", "")
        assert not re.search(r"Zofia|zofia@|SECRET", notes), notes


@pytest.mark.parametrize(
    ("value", "normalized"),
    [
        ("zofia@example.com", "zofia@example.com"),
        ("  Zofia@Example.COM\t", "zofia@example.com"),
        ("Zofia   Szabo", "zofia szabo"),
        ("Straße", "strasse"),  # casefold, not lower
        ("Żółć 42", "żółć 42"),  # multibyte: hashed as UTF-8
    ],
)
def test_the_hash_is_hmac_sha256_of_the_normalized_value(value, normalized):
    assert HASH(value) == hmac_sha256(SALT, normalized)
    assert HASH(value) == hmac.new(SALT, normalized.encode(), hashlib.sha256).hexdigest()[:32]
    assert HASH(value) != hashlib.sha256(normalized.encode()).hexdigest()[:32]  # salted, not a bare digest


def test_a_salt_of_exactly_16_bytes_is_enough():
    with pytest.raises(ValueError, match="16 bytes"):
        Hasher(b"x" * 15)
    assert Hasher(b"x" * 16)("v") == hmac_sha256(b"x" * 16, "v")


def test_an_entity_exactly_at_min_score_is_kept_just_below_is_ignored():
    chunk = Chunk("abc", (0,), (0,))
    piece = [Piece(0, 0, "abc")]
    at = rebase(chunk, piece, [{"Type": "NAME", "Score": 0.5, "BeginOffset": 0, "EndOffset": 3}], 0.5)
    assert at == [(0, Span(0, 3, "NAME", 0.5))]
    assert rebase(chunk, piece, [{"Type": "NAME", "Score": 0.4999, "BeginOffset": 0, "EndOffset": 3}], 0.5) == []
