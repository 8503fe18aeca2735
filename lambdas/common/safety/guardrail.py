"""ApplyGuardrail: the Bedrock guardrail as a standalone check.

For architectures whose model call does not carry the guardrail (an agent's tool output, a
retrieved passage, a model outside Bedrock), the same guardrail the stack deployed is applied to
the text directly. An intervention that only anonymized (PII masked) is not a block: the masked
text is returned in ``text``. For the contextual-grounding check on an answer, pass the retrieved
passages as ``grounding_source`` and the user's question as ``query``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from common.safety.policy import GuardrailSettings
from common.safety.result import CheckResult


def apply_guardrail(
    text: str,
    source: Literal["INPUT", "OUTPUT"],
    settings: GuardrailSettings,
    client: Any,
    *,
    grounding_source: Sequence[str] = (),
    query: str | None = None,
) -> CheckResult:
    if not settings.identifier:
        raise ValueError("no guardrail identifier configured")
    content: list[dict[str, Any]] = [
        {"text": {"text": passage, "qualifiers": ["grounding_source"]}} for passage in grounding_source
    ]
    if query is not None:
        content.append({"text": {"text": query, "qualifiers": ["query"]}})
    guarded: dict[str, Any] = {"text": text}
    if content:
        guarded["qualifiers"] = ["guard_content"]
    content.append({"text": guarded})
    response = client.apply_guardrail(
        guardrailIdentifier=settings.identifier,
        guardrailVersion=settings.version,
        source=source,
        content=content,
    )
    if response.get("action") != "GUARDRAIL_INTERVENED":
        return CheckResult.passed("guardrail", "guardrail")
    blocked, reasons, scores = _assess(response.get("assessments", []))
    outputs = response.get("outputs", [])
    masked = "".join(str(o.get("text", "")) for o in outputs) if outputs else None
    if not blocked and masked is None:  # intervened without saying why: treat as a block
        blocked, reasons = True, (*reasons, "intervened")
    return CheckResult(
        check="guardrail",
        cause="guardrail",
        blocked=blocked,
        reasons=reasons,
        scores=scores,
        text=None if blocked else masked,
    )


def _assess(assessments: list[dict[str, Any]]) -> tuple[bool, tuple[str, ...], dict[str, float]]:
    """Which policies acted, as ``policy:name`` reasons; blocked unless every action was ANONYMIZED."""
    reasons: set[str] = set()
    scores: dict[str, float] = {}
    blocked = False

    def note(kind: str, name: str, action: str) -> None:
        nonlocal blocked
        if action in {"BLOCKED", "ANONYMIZED"}:
            reasons.add(f"{kind}:{name}" if action == "BLOCKED" else f"{kind}:{name}:anonymized")
            blocked = blocked or action == "BLOCKED"

    for assessment in assessments:
        for topic in assessment.get("topicPolicy", {}).get("topics", []):
            note("topic", str(topic["name"]), str(topic["action"]))
        for item in assessment.get("contentPolicy", {}).get("filters", []):
            note("content", str(item["type"]), str(item["action"]))
        words = assessment.get("wordPolicy", {})
        for _ in words.get("customWords", []):
            note("word", "custom", str(_["action"]))
        for item in words.get("managedWordLists", []):
            note("word", str(item["type"]), str(item["action"]))
        sensitive = assessment.get("sensitiveInformationPolicy", {})
        for item in sensitive.get("piiEntities", []):
            note("pii", str(item["type"]), str(item["action"]))
        for item in sensitive.get("regexes", []):
            note("regex", str(item.get("name", "regex")), str(item["action"]))
        for item in assessment.get("contextualGroundingPolicy", {}).get("filters", []):
            scores[f"grounding:{item['type']}"] = float(item["score"])
            note("grounding", str(item["type"]), str(item["action"]))
    return blocked, tuple(sorted(reasons)), scores
