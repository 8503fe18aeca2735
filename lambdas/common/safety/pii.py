"""PII on output: Comprehend DetectPiiEntities, then the spans are replaced with ``[TYPE]``.

The model's answer is redacted before it is returned: every entity whose type is configured (all
types when none are) and whose score reaches ``min_score`` becomes ``[EMAIL]``, ``[NAME]``, ...
DetectPiiEntities takes at most 100 KB of UTF-8 per call; longer text is split and the offsets
(characters of the piece) are shifted back onto the whole text. The spans never leave memory: the
result carries only the entity types, for the decision log.
"""

from __future__ import annotations

from typing import Any

from common.safety.chunking import utf8_chunks
from common.safety.policy import PiiSettings
from common.safety.result import CheckResult, Redaction, apply_redactions

PII_BYTES = 100_000


def redact_pii(text: str, settings: PiiSettings, client: Any) -> CheckResult:
    """Find PII in ``text``; ``result.text`` is the redacted text and ``redactions`` the spans."""
    spans: list[Redaction] = []
    for offset, piece in utf8_chunks(text, PII_BYTES):
        if not piece.strip():
            continue
        response = client.detect_pii_entities(Text=piece, LanguageCode=settings.language_code)
        for entity in response.get("Entities", []):
            entity_type = str(entity["Type"])
            if settings.entity_types and entity_type not in settings.entity_types:
                continue
            if float(entity.get("Score", 0.0)) < settings.min_score:
                continue
            spans.append(Redaction(offset + int(entity["BeginOffset"]), offset + int(entity["EndOffset"]), entity_type))
    types = tuple(sorted({s.entity_type for s in spans}))
    return CheckResult(
        check="pii",
        cause="pii",
        blocked=False,
        reasons=types,
        text=apply_redactions(text, spans) if spans else text,
        redactions=tuple(spans),
    )
