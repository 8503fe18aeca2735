"""What every check returns, so the chain can combine, log and count them the same way."""

from __future__ import annotations

from dataclasses import dataclass, field

from common.safety.policy import Cause


@dataclass(frozen=True)
class Redaction:
    """A span of the checked text to replace with ``[TYPE]``. Held in memory only, never logged."""

    begin: int
    end: int
    entity_type: str


@dataclass(frozen=True)
class CheckResult:
    """One check's verdict. ``reasons`` are rule or label names, never the user's text.

    ``text`` is a rewritten version of the checked text (guardrail anonymization) when the check
    produced one; ``redactions`` are spans to mask in the original text.
    """

    check: str
    cause: Cause
    blocked: bool
    reasons: tuple[str, ...] = ()
    scores: dict[str, float] = field(default_factory=dict)
    text: str | None = None
    redactions: tuple[Redaction, ...] = ()
    error: bool = False
    elapsed_ms: float | None = None

    @classmethod
    def passed(cls, check: str, cause: Cause, **kwargs: object) -> CheckResult:
        return cls(check=check, cause=cause, blocked=False, **kwargs)  # type: ignore[arg-type]


def apply_redactions(text: str, redactions: tuple[Redaction, ...] | list[Redaction]) -> str:
    """Replace each span with ``[TYPE]``; overlapping spans merge into the earliest one's type."""
    out: list[str] = []
    cursor = 0
    for span in sorted(redactions, key=lambda r: (r.begin, -r.end)):
        begin, end = max(span.begin, 0), min(span.end, len(text))
        if end <= cursor or begin >= end:
            continue
        if begin < cursor:  # overlap with the previous span: extend it
            cursor = end
            continue
        out.append(text[cursor:begin])
        out.append(f"[{span.entity_type}]")
        cursor = end
    out.append(text[cursor:])
    return "".join(out)
