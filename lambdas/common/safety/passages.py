"""Screening of retrieved passages and tool results: the flagged segments removed, or the passage dropped.

`screen_passage(text, policy)` runs the passage detector (passage.scan_passage) on text that is data, not a
request: a knowledge-base passage the RAG path is about to put in front of the model, a string an agent's
tool returned. What it finds is an instruction aimed at the model planted in the document (OWASP LLM01,
indirect). With ``action="remove"`` the flagged character spans are cut out and the rest of the passage kept,
unless they make up more than ``max_removed_share`` of it: then the whole passage is dropped, as it is with
``action="drop"``. The result carries the spans removed (in the original text), the cause (the detector's
reason names, never the text) and the score, so a caller can log and count the decision without the passage.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from common.safety.passage import scan_passage

Action = Literal["remove", "drop"]


@dataclass(frozen=True)
class PassagePolicy:
    """How a flagged passage is handled (safety.yaml ``passages``)."""

    threshold: float = 0.5  # detector score at or above which a segment is flagged
    action: Action = "remove"  # remove the flagged segments, or drop the whole passage
    max_removed_share: float = 0.5  # with "remove": drop the passage when more than this share would go


@dataclass(frozen=True)
class ScreenedPassage:
    """What the model may read: ``text`` (None = the passage was dropped), the ``removed`` spans of the
    original text, the ``cause`` (reason names, None when nothing was flagged) and the detector's score."""

    text: str | None
    removed: tuple[tuple[int, int], ...]
    cause: str | None
    score: float

    @property
    def dropped(self) -> bool:
        return self.text is None

    @property
    def flagged(self) -> bool:
        return self.cause is not None


def screen_passage(text: str, policy: PassagePolicy) -> ScreenedPassage:
    """Screen one passage under ``policy``; an unflagged passage comes back as it was."""
    verdict = scan_passage(text, threshold=policy.threshold)
    if not verdict.flagged:
        return ScreenedPassage(text=text, removed=(), cause=None, score=verdict.score)
    cause = ", ".join(verdict.reasons) or "prompt injection"
    spans = verdict.spans
    removed_chars = sum(end - start for start, end in spans)
    if policy.action == "drop" or not spans or removed_chars > policy.max_removed_share * max(len(text), 1):
        return ScreenedPassage(text=None, removed=spans, cause=cause, score=verdict.score)
    return ScreenedPassage(text=remove_spans(text, spans), removed=spans, cause=cause, score=verdict.score)


def remove_spans(text: str, spans: tuple[tuple[int, int], ...]) -> str:
    """``text`` without the characters of ``spans`` (sorted, non-overlapping)."""
    kept: list[str] = []
    position = 0
    for start, end in spans:
        kept.append(text[position:start])
        position = end
    kept.append(text[position:])
    return "".join(kept)
