"""Validation limits exactly at their values, the verdict's types, and which Unicode steps act on what."""

from __future__ import annotations

import pytest
from common.safety.policy import InputLimits
from common.safety.validation import ValidationResult, estimate_tokens, validate_payload, validate_text


def test_text_of_exactly_max_chars_is_accepted():
    assert validate_text("hello", InputLimits(max_chars=5)) == ValidationResult(ok=True, text="hello")
    assert validate_text("hello!", InputLimits(max_chars=5)) == ValidationResult(
        ok=False, text="", reasons=("too_many_chars",)
    )


def test_non_ascii_text_of_exactly_max_chars_is_accepted():
    text = "caf\u00e9 cr\u00e8me"  # 10 code points, unchanged by normalization
    assert validate_text(text, InputLimits(max_chars=10)) == ValidationResult(ok=True, text=text)
    assert validate_text(text, InputLimits(max_chars=9)).reasons == ("too_many_chars",)


def test_normalized_text_of_exactly_max_chars_is_accepted():
    # U+FB01 (one code point) becomes "fi": 3 code points arrive, 4 remain after NFKC
    result = validate_text("\ufb01le", InputLimits(max_chars=4))
    assert (result.ok, result.text, result.changes) == (True, "file", ("nfkc",))
    assert validate_text("\ufb01les", InputLimits(max_chars=4)).reasons == ("too_many_chars",)


def test_text_of_exactly_max_tokens_is_accepted():
    text = "password reset"
    assert estimate_tokens(text) == 3  # "passwo", "rd", "reset": letter runs count 6 letters at most
    assert validate_text(text, InputLimits(max_tokens=3)) == ValidationResult(ok=True, text=text)
    assert validate_text(text, InputLimits(max_tokens=2)).reasons == ("too_many_tokens",)


def test_a_rejection_is_ok_false_not_just_falsy():
    result = validate_payload([], InputLimits())
    assert result.ok is False
    assert (result.text, result.reasons, result.changes) == ("", ("payload_not_object",), ())


def test_newlines_survive_a_compatibility_fold():
    result = validate_text("\uff48\uff49\nthere\tfriend", InputLimits())
    assert (result.ok, result.text, result.changes) == (True, "hi\nthere\tfriend", ("nfkc",))


@pytest.mark.parametrize("confusables", ["fold", "reject"])
def test_a_word_mixing_two_non_latin_scripts_is_left_alone(confusables):
    # Greek omicron + Cyrillic er, ie, o: look-alikes of "oreo", but no Latin letter in the word
    text = "\u03bf\u0440\u0435\u043e"
    assert validate_text(text, InputLimits(confusables=confusables)) == ValidationResult(ok=True, text=text)
