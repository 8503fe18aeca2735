"""Toxicity: Comprehend DetectToxicContent with per-label thresholds, and an optional custom classifier.

DetectToxicContent takes up to 10 segments of at most 1 KB each (10 KB per request) and scores
each segment on GRAPHIC, HARASSMENT_OR_ABUSE, HATE_SPEECH, INSULT, PROFANITY, SEXUAL and
VIOLENCE_OR_THREAT, plus an overall Toxicity. Text is split at whitespace to fit; a label blocks
when any segment reaches the use case's threshold for it. English only (the API's own limit).

When the use case trained its own classifier (stacks/guardrails/stack.py, ``custom_models``), its
endpoint is also asked (ClassifyDocument); its block labels and threshold come from the settings.
"""

from __future__ import annotations

from typing import Any

from common.safety.chunking import utf8_chunks
from common.safety.policy import ToxicitySettings
from common.safety.result import CheckResult

SEGMENT_BYTES = 1024
SEGMENTS_PER_REQUEST = 10
CLASSIFY_BYTES = 10_000  # ClassifyDocument on a custom endpoint: plain text up to 10,000 bytes


def check_toxicity(text: str, settings: ToxicitySettings, client: Any) -> CheckResult:
    """Call DetectToxicContent over ``text`` and compare every label with its threshold."""
    segments = [piece for _, piece in utf8_chunks(text, SEGMENT_BYTES) if piece.strip()]
    peak: dict[str, float] = {}
    for first in range(0, len(segments), SEGMENTS_PER_REQUEST):
        batch = segments[first : first + SEGMENTS_PER_REQUEST]
        response = client.detect_toxic_content(TextSegments=[{"Text": segment} for segment in batch], LanguageCode="en")
        for result in response.get("ResultList", []):
            _raise(peak, "TOXICITY", float(result.get("Toxicity", 0.0)))
            for label in result.get("Labels", []):
                _raise(peak, str(label["Name"]), float(label["Score"]))
    reasons = tuple(
        sorted(label for label, threshold in settings.thresholds.items() if peak.get(label, 0.0) >= threshold)
    )
    scores = {label: round(score, 4) for label, score in sorted(peak.items())}
    return CheckResult(check="toxicity", cause="toxicity", blocked=bool(reasons), reasons=reasons, scores=scores)


def check_custom_toxicity(text: str, settings: ToxicitySettings, client: Any) -> CheckResult:
    """Ask the use case's own document-classifier endpoint; block on its configured labels."""
    if settings.classifier_endpoint_arn is None:
        raise ValueError("no custom classifier endpoint configured")
    peak: dict[str, float] = {}
    for _, piece in utf8_chunks(text, CLASSIFY_BYTES):
        if not piece.strip():
            continue
        response = client.classify_document(Text=piece, EndpointArn=settings.classifier_endpoint_arn)
        for item in [*response.get("Classes", []), *response.get("Labels", [])]:
            _raise(peak, str(item["Name"]), float(item["Score"]))
    reasons = tuple(
        sorted(
            f"classifier:{label}"
            for label in settings.classifier_block_labels
            if peak.get(label, 0.0) >= settings.classifier_threshold
        )
    )
    scores = {f"classifier:{label}": round(score, 4) for label, score in sorted(peak.items())}
    return CheckResult(check="custom_toxicity", cause="toxicity", blocked=bool(reasons), reasons=reasons, scores=scores)


def _raise(peak: dict[str, float], label: str, score: float) -> None:
    if score > peak.get(label, -1.0):
        peak[label] = score
