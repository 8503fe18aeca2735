"""Entity deny-list: denied terms everywhere, denied entity types through a custom recognizer.

- ``deny_terms`` (case-insensitive, on word boundaries) are matched locally on every text: no AWS
  call, so a use case can ban competitor or internal project names without a model.
- ``deny_types`` need the use case's custom entity recognizer (AWS::Comprehend::EntityRecognizer
  behind an endpoint, see stacks/guardrails/stack.py); when its endpoint is configured, DetectEntities
  runs on it and any entity of a denied type (score >= ``min_score``), or whose text is a denied
  term, blocks. Reasons name the type or ``term``, never the matched text.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from common.safety.chunking import utf8_chunks
from common.safety.policy import EntitySettings
from common.safety.result import CheckResult

ENTITIES_BYTES = 100_000


@cache
def _term_pattern(terms: frozenset[str]) -> re.Pattern[str] | None:
    if not terms:
        return None
    alternatives = "|".join(re.escape(t.casefold()) for t in sorted(terms, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)")


def match_denied_terms(text: str, settings: EntitySettings) -> CheckResult:
    """Local, synchronous: is any denied term in ``text``?"""
    pattern = _term_pattern(settings.deny_terms)
    hits = len(pattern.findall(text.casefold())) if pattern else 0
    reasons = ("term",) if hits else ()
    return CheckResult(check="entity_terms", cause="entity", blocked=bool(hits), reasons=reasons)


def check_entities(text: str, settings: EntitySettings, client: Any) -> CheckResult:
    """DetectEntities on the custom recognizer endpoint; block on denied types or terms."""
    if settings.endpoint_arn is None:
        raise ValueError("no custom entity recognizer endpoint configured")
    denied_terms = {t.casefold() for t in settings.deny_terms}
    reasons: set[str] = set()
    for _, piece in utf8_chunks(text, ENTITIES_BYTES):
        if not piece.strip():
            continue
        response = client.detect_entities(Text=piece, EndpointArn=settings.endpoint_arn)
        for entity in response.get("Entities", []):
            if float(entity.get("Score", 0.0)) < settings.min_score:
                continue
            entity_type = str(entity.get("Type", ""))
            if entity_type in settings.deny_types:
                reasons.add(f"type:{entity_type}")
            if str(entity.get("Text", "")).casefold() in denied_terms:
                reasons.add("term")
    return CheckResult(check="entities", cause="entity", blocked=bool(reasons), reasons=tuple(sorted(reasons)))
