"""Redact step, pure part: plan Comprehend requests, rebase the entities they return, apply the policy.

Free-text fields (`scan: true`, and every text document) of many records are packed into chunks of at
most `chunk_bytes` of UTF-8; a field longer than that is split on a paragraph, line, sentence or word
boundary. Each chunk is exactly one DetectPiiEntities request; the entities it returns are rebased from
chunk offsets to offsets in the field they came from. Fields declared as one PII type (`pii: EMAIL`) need
no detection. The policy then masks (`[NAME]`), drops the field, or replaces the value with a salted
HMAC-SHA256 (`[EMAIL:1f0c...]` in text, the bare digest for a whole field) so it still joins across sources.
"""

from __future__ import annotations

import bisect
import hashlib
import hmac
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pipeline.contract import TEXT_FIELD, PiiPolicy, SourceSpec

SEPARATOR = "\n\n"  # between pieces of different fields in one chunk
_BOUNDARIES = ("\n\n", "\n", ". ", "! ", "? ", "; ", ", ", " ")
_SEVERITY = {"mask": 0, "hash": 1, "drop": 2}
HASH_HEX_CHARS = 32

Detect = Callable[[str], Sequence[Mapping[str, Any]]]


@dataclass(frozen=True)
class Segment:
    """One free-text field of one record."""

    record: int
    field: str
    text: str


@dataclass(frozen=True)
class Piece:
    segment: int  # index into the segments
    start: int  # character offset of the piece in its segment
    text: str


@dataclass(frozen=True)
class Chunk:
    text: str
    offsets: tuple[int, ...]  # character offset of each piece in the chunk, ascending
    pieces: tuple[int, ...]  # the piece at each offset


@dataclass(frozen=True)
class Span:
    begin: int
    end: int
    type: str
    score: float


@dataclass
class Redaction:
    records: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # (position, redacted record)
    rejects: list[tuple[int, str, dict[str, Any]]] = field(default_factory=list)  # (position, reason, record)
    entities: Counter[str] = field(default_factory=Counter)
    records_with_pii: int = 0
    requests: int = 0


def utf8_len(text: str) -> int:
    return len(text.encode())


def split_text(text: str, max_bytes: int) -> list[tuple[int, str]]:
    """(start, piece) pieces of at most ``max_bytes`` UTF-8 bytes each, cut on the best nearby boundary."""
    if utf8_len(text) <= max_bytes:
        return [(0, text)]
    pieces: list[tuple[int, str]] = []
    start = 0
    while start < len(text):
        # The longest prefix from `start` that fits, never cutting a character in half.
        end = start + len(text[start : start + max_bytes].encode()[:max_bytes].decode("utf-8", "ignore"))
        if end < len(text):
            end = _boundary(text, start, end)
        pieces.append((start, text[start:end]))
        start = end
    return pieces


def _boundary(text: str, start: int, end: int) -> int:
    floor = start + (end - start) // 4  # do not cut so early that pieces become tiny
    for mark in _BOUNDARIES:
        found = text.rfind(mark, start, end)
        if found >= floor:
            return found + len(mark)
    return end


def plan_chunks(segments: Sequence[Segment], max_bytes: int) -> tuple[list[Piece], list[Chunk]]:
    """Pack the pieces of every segment, in order, into as few chunks of at most ``max_bytes`` as fit."""
    pieces = [
        Piece(index, start, text)
        for index, segment in enumerate(segments)
        for start, text in split_text(segment.text, max_bytes)
        if text.strip()
    ]
    chunks: list[Chunk] = []
    parts: list[str] = []
    offsets: list[int] = []
    members: list[int] = []
    size = chars = 0
    sep_bytes = utf8_len(SEPARATOR)
    for number, piece in enumerate(pieces):
        piece_bytes = utf8_len(piece.text)
        if parts and size + sep_bytes + piece_bytes > max_bytes:
            chunks.append(Chunk("".join(parts), tuple(offsets), tuple(members)))
            parts, offsets, members, size, chars = [], [], [], 0, 0
        if parts:
            parts.append(SEPARATOR)
            size += sep_bytes
            chars += len(SEPARATOR)
        offsets.append(chars)
        members.append(number)
        parts.append(piece.text)
        size += piece_bytes
        chars += len(piece.text)
    if parts:
        chunks.append(Chunk("".join(parts), tuple(offsets), tuple(members)))
    return pieces, chunks


def rebase(
    chunk: Chunk, pieces: Sequence[Piece], entities: Sequence[Mapping[str, Any]], min_score: float
) -> list[tuple[int, Span]]:
    """(segment, span in segment offsets) for each entity; one crossing a piece boundary is clipped to each piece."""
    out: list[tuple[int, Span]] = []
    for entity in entities:
        score = float(entity["Score"])
        if score < min_score:
            continue
        begin, end = int(entity["BeginOffset"]), int(entity["EndOffset"])
        index = max(bisect.bisect_right(chunk.offsets, begin) - 1, 0)
        while index < len(chunk.offsets) and chunk.offsets[index] < end:
            piece = pieces[chunk.pieces[index]]
            lo = max(begin, chunk.offsets[index])
            hi = min(end, chunk.offsets[index] + len(piece.text))
            if lo < hi:
                out.append(
                    (
                        piece.segment,
                        Span(
                            piece.start + lo - chunk.offsets[index],
                            piece.start + hi - chunk.offsets[index],
                            str(entity["Type"]),
                            score,
                        ),
                    )
                )
            index += 1
    return out


def merge(spans: Sequence[Span], policy: PiiPolicy) -> list[Span]:
    """Overlapping or touching spans become one, typed by the strictest action among them."""
    merged: list[Span] = []
    for span in sorted(spans, key=lambda s: (s.begin, -s.end)):
        if merged and span.begin <= merged[-1].end:
            last = merged[-1]
            stricter = _SEVERITY[policy.action_for(span.type)] > _SEVERITY[policy.action_for(last.type)]
            merged[-1] = Span(
                last.begin, max(last.end, span.end), span.type if stricter else last.type, max(last.score, span.score)
            )
        else:
            merged.append(span)
    return merged


def detect_spans(segments: Sequence[Segment], policy: PiiPolicy, detect: Detect) -> tuple[dict[int, list[Span]], int]:
    """Spans per segment index, and how many requests it took (exactly one per chunk)."""
    pieces, chunks = plan_chunks(segments, policy.chunk_bytes)
    found: dict[int, list[Span]] = {}
    for chunk in chunks:
        for segment, span in rebase(chunk, pieces, detect(chunk.text), policy.min_score):
            found.setdefault(segment, []).append(span)
    return {segment: merge(spans, policy) for segment, spans in found.items()}, len(chunks)


class Hasher:
    """Salted HMAC-SHA256 of a normalized value: equal values hash alike across sources and runs."""

    def __init__(self, salt: bytes) -> None:
        if len(salt) < 16:
            raise ValueError("the hash salt must be at least 16 bytes")
        self._salt = salt

    def __call__(self, value: str) -> str:
        normalized = " ".join(value.split()).casefold()
        return hmac.new(self._salt, normalized.encode(), hashlib.sha256).hexdigest()[:HASH_HEX_CHARS]


def redact_records(
    records: Sequence[tuple[int, dict[str, Any]]],
    source: SourceSpec,
    policy: PiiPolicy,
    detect: Detect,
    hasher: Hasher,
) -> Redaction:
    """Apply the policy to every record; a document left with no content is rejected with the reason."""
    result = Redaction()
    segments = [
        Segment(number, spec.name, value)
        for number, (_, record) in enumerate(records)
        for spec in source.fields
        if spec.scan and isinstance(value := record.get(spec.name), str) and value.strip()
    ]
    spans, result.requests = detect_spans(segments, policy, detect) if segments else ({}, 0)
    by_field: dict[tuple[int, str], list[Span]] = {
        (segments[index].record, segments[index].field): found for index, found in spans.items()
    }
    for number, (position, record) in enumerate(records):
        redacted = dict(record)
        found_any = False
        dropped: list[str] = []
        for spec in source.fields:
            value = redacted.get(spec.name)
            if value is None:
                continue
            if spec.pii is not None:
                found_any = True
                result.entities[spec.pii] += 1
                action = policy.action_for(spec.pii)
                if action == "drop":
                    del redacted[spec.name]
                    dropped.append(f"{spec.name} ({spec.pii})")
                else:
                    redacted[spec.name] = f"[{spec.pii}]" if action == "mask" else hasher(str(value))
            elif spec.scan and (found := by_field.get((number, spec.name))):
                found_any = True
                result.entities.update(span.type for span in found)
                drop_types = sorted({s.type for s in found if policy.action_for(s.type) == "drop"})
                if drop_types:
                    del redacted[spec.name]
                    dropped.append(f"{spec.name} ({', '.join(drop_types)})")
                else:
                    redacted[spec.name] = _replace(str(value), found, policy, hasher)
        result.records_with_pii += found_any
        if source.format == "text" and TEXT_FIELD not in redacted:
            result.rejects.append((position, f"PII policy drops the whole document: {'; '.join(dropped)}", record))
        else:
            result.records.append((position, redacted))
    return result


def _replace(text: str, spans: Sequence[Span], policy: PiiPolicy, hasher: Hasher) -> str:
    out: list[str] = []
    cursor = 0
    for span in spans:  # merged: sorted and disjoint
        out.append(text[cursor : span.begin])
        if policy.action_for(span.type) == "hash":
            out.append(f"[{span.type}:{hasher(text[span.begin : span.end])}]")
        else:
            out.append(f"[{span.type}]")
        cursor = span.end
    out.append(text[cursor:])
    return "".join(out)
