"""`{{variable}}` templates: the parser the Prompts stack checks with and the strict renderer the runner uses."""

from __future__ import annotations

import pytest
from common.prompts.template import MAX_VARIABLE, TemplateError, is_variable_name, placeholders, render


def test_placeholders_in_order_of_first_use_each_once():
    assert placeholders("{{b}} then {{a}} and {{b}} again, {{c_2}}") == ["b", "a", "c_2"]


def test_single_braces_and_json_are_plain_text():
    assert placeholders('Reply as {"label": "billing"} for {{notes}}') == ["notes"]
    assert placeholders("no variables at all") == []


@pytest.mark.parametrize(
    "template",
    ["{{ question }}", "{{Question}}", "{{2fast}}", "{{a__b}}", "{{a_}}", "{{a-b}}", "{{}}", "{{a b}}"],
)
def test_a_malformed_placeholder_is_an_error_naming_it(template):
    with pytest.raises(TemplateError, match="malformed placeholder") as error:
        placeholders(template)
    assert template in str(error.value)


def test_an_unclosed_placeholder_is_an_error():
    with pytest.raises(TemplateError, match="never closed"):
        placeholders("Answer {{question} please")


def test_variable_names_and_their_maximum():
    assert is_variable_name("a" * MAX_VARIABLE)
    assert not is_variable_name("a" * (MAX_VARIABLE + 1))
    assert is_variable_name("step_2_output")
    assert not is_variable_name("_x")


def test_render_fills_every_placeholder_once_and_leaves_values_alone():
    text = render("Q: {{q}}\nC: {{c}}\nQ again: {{q}}", {"q": "why {{c}}?", "c": "ctx", "unused": "x"})
    assert text == "Q: why {{c}}?\nC: ctx\nQ again: why {{c}}?"


def test_render_names_every_missing_variable():
    with pytest.raises(TemplateError, match=r"no value for b, c$"):
        render("{{a}} {{b}} {{c}} {{b}}", {"a": "1"})


def test_an_empty_value_is_a_value():
    assert render("[{{a}}]", {"a": ""}) == "[]"
