"""`apply_redactions` (spans of the checked text become ``[TYPE]``) and `CheckResult.passed`."""

from __future__ import annotations

import pytest
from common.safety.result import CheckResult, Redaction, apply_redactions

TEXT = "abcdefghij"  # offsets are easy to read: "a" is 0, "j" is 9


@pytest.mark.parametrize(
    ("spans", "expected"),
    [
        ([], "abcdefghij"),
        ([(0, 3, "A")], "[A]defghij"),  # a span at the very start
        ([(7, 10, "A")], "abcdefg[A]"),  # ... and at the very end
        ([(2, 4, "A"), (6, 8, "B")], "ab[A]ef[B]ij"),
        ([(6, 8, "B"), (2, 4, "A")], "ab[A]ef[B]ij"),  # given in any order
        ([(0, 3, "A"), (3, 6, "B")], "[A][B]ghij"),  # adjacent spans stay two
        ([(0, 5, "A"), (3, 8, "B")], "[A]ij"),  # overlapping spans merge into the first one's type
        ([(0, 5, "A"), (3, 8, "B"), (9, 10, "C")], "[A]i[C]"),  # ... and the spans after them still apply
        ([(0, 8, "A"), (2, 4, "B")], "[A]ij"),  # a span inside another adds nothing
        ([(0, 8, "A"), (2, 4, "B"), (9, 10, "C")], "[A]i[C]"),
        ([(0, 4, "SHORT"), (0, 8, "LONG")], "[LONG]ij"),  # same start: the longer span wins
        ([(5, 5, "EMPTY")], "abcdefghij"),  # an empty span is ignored
        ([(10, 14, "PAST")], "abcdefghij"),  # a span past the end is ignored
        ([(12, 14, "PAST"), (1, 2, "B")], "a[B]cdefghij"),
        ([(8, 14, "TAIL")], "abcdefgh[TAIL]"),  # a span running past the end is cut at the end
        ([(-3, 2, "HEAD")], "[HEAD]cdefghij"),  # ... and one starting before the start, at the start
    ],
)
def test_apply_redactions(spans, expected):
    assert apply_redactions(TEXT, [Redaction(begin, end, kind) for begin, end, kind in spans]) == expected


def test_apply_redactions_takes_a_tuple_too():
    assert apply_redactions("call 555-0100 now", (Redaction(5, 13, "PHONE"),)) == "call [PHONE] now"


def test_a_passed_result_is_not_blocked_and_keeps_the_extra_fields():
    result = CheckResult.passed("pii", "pii", reasons=("EMAIL",), scores={"EMAIL": 0.99}, text="[EMAIL]")
    assert result.blocked is False
    assert (result.check, result.cause, result.reasons, result.scores, result.text) == (
        "pii",
        "pii",
        ("EMAIL",),
        {"EMAIL": 0.99},
        "[EMAIL]",
    )
    assert (result.error, result.redactions, result.elapsed_ms) == (False, (), None)
