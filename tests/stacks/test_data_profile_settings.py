"""data.yaml's bias profile at synth: the outcome's favourable value fits its field, group values are text,
YAML booleans where text was meant are named as written, and the profile's new settings reach the contract."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from stacks.config import USECASES_DIR, ConfigError, load_usecase, validation_error
from stacks.data.settings import DataSettings, load_data_settings

GOOD = (USECASES_DIR / "customer-retention" / "data.yaml").read_text()
OUTCOME = "outcome: {field: retained, positive: true}"
REGION = "      region: {type: string, required: true, allowed: [north, south, east, west]}\n"
ANSWER = "      answer: {type: string, required: true, max_length: 8}\n"


def load(tmp_path: Path, text: str) -> DataSettings:
    root = tmp_path / "usecases"
    folder = root / "customer-retention"
    folder.mkdir(parents=True)
    (folder / "usecase.yaml").write_text((USECASES_DIR / "customer-retention" / "usecase.yaml").read_text())
    (folder / "data.yaml").write_text(text)
    return load_data_settings(load_usecase("customer-retention", root), root)


def with_outcome(outcome: str) -> str:
    assert OUTCOME in GOOD
    return GOOD.replace(OUTCOME, f"outcome: {outcome}")


def with_answer_group(reference: str) -> str:
    assert REGION in GOOD
    text = GOOD.replace(REGION, REGION + ANSWER)
    return text.replace("  groups:\n", f"  groups:\n    answer:\n      reference: {reference}\n", 1)


def error_of(tmp_path: Path, text: str, problems: int = 1) -> ConfigError:
    with pytest.raises(ConfigError) as error:
        load(tmp_path, text)
    assert error.value.source.endswith("customer-retention/data.yaml")
    assert len(error.value.problems) == problems
    assert "\n" not in error.value.reason
    return error.value


@pytest.mark.parametrize(
    ("outcome", "reason"),
    [
        (
            "{field: retained, positive: 'true'}",
            "'true' is not a boolean, but 'retained' is a boolean field: write true or false",
        ),
        (
            "{field: retained, positive: 1}",
            "1 is not a boolean, but 'retained' is a boolean field: write true or false",
        ),
        ("{field: plan, positive: gold}", "'gold' is not a value 'plan' allows (basic, plus, premium)"),
        ("{field: plan, positive: 3}", "'plan' is a string field: quote 3"),
        ("{field: plan, positive: yes}", "YAML read `yes` as true; quote it ('plan' is a string field)"),
        ("{field: plan, positive: Off}", "YAML read `Off` as false; quote it ('plan' is a string field)"),
        ("{field: tenure_months, positive: 'x'}", "'x' is not an integer, but 'tenure_months' is an integer field"),
        ("{field: tenure_months, positive: true}", "True is not an integer, but 'tenure_months' is an integer field"),
    ],
)
def test_a_favourable_value_the_field_cannot_hold_fails_synth(tmp_path, outcome, reason):
    error = error_of(tmp_path, with_outcome(outcome))
    assert (error.field, error.reason) == ("profile.outcome.positive", reason)


@pytest.mark.parametrize(
    ("outcome", "positive"),
    [
        ("{field: retained, positive: true}", True),
        ("{field: retained, positive: no}", False),  # a YAML boolean is what a boolean field needs
        ("{field: plan, positive: premium}", "premium"),
        ("{field: tenure_months, positive: 12}", 12),
    ],
)
def test_a_favourable_value_of_the_fields_type_reaches_the_contract(tmp_path, outcome, positive):
    profile = load(tmp_path, with_outcome(outcome)).contract().profile
    assert profile is not None
    assert profile.outcome_positive == positive
    assert type(profile.outcome_positive) is type(positive)


def test_a_string_field_without_allowed_takes_any_quoted_value(tmp_path):
    text = GOOD.replace(REGION, REGION + ANSWER).replace(OUTCOME, "outcome: {field: answer, positive: 'Yes'}")
    profile = load(tmp_path, text).contract().profile
    assert profile is not None
    assert profile.outcome_positive == "Yes"


def test_each_unquoted_yes_or_no_as_a_group_value_is_named_as_written(tmp_path):
    error = error_of(tmp_path, with_answer_group("{Yes: 0.5, No: 0.5}"), problems=2)
    field = "profile.groups.answer.reference"
    assert [(f, r) for _, f, r in error.problems] == [
        (field, "YAML read `Yes` as true; quote it"),
        (field, "YAML read `No` as false; quote it"),
    ]


def test_one_unquoted_word_among_quoted_ones(tmp_path):
    error = error_of(tmp_path, with_answer_group("{'Yes': 0.5, off: 0.5}"))
    assert (error.field, error.reason) == ("profile.groups.answer.reference", "YAML read `off` as false; quote it")


def test_quoted_group_values_are_accepted(tmp_path):
    profile = load(tmp_path, with_answer_group("{'Yes': 0.5, 'No': 0.5}")).contract().profile
    assert profile is not None
    assert profile.groups["answer"] == {"Yes": 0.5, "No": 0.5}


def test_without_the_document_the_yaml_hint_says_which_words_it_could_be():
    raw = yaml.safe_load(with_answer_group("{Yes: 0.5, No: 0.5}"))
    with pytest.raises(ValidationError) as exc:
        DataSettings.model_validate(raw)
    error = validation_error("data.yaml", exc.value, model=DataSettings)
    assert error.reason == "YAML read an unquoted yes/no/on/off/true/false as true; quote it"


def test_profile_settings_reach_the_contract(tmp_path):
    text = GOOD.replace("  min_records_per_value: 30", "  min_records_per_value: 12").replace(
        "  confidence: 0.95", "  confidence: 0.9"
    )
    text = text.replace("fail_above: 0.25, fail_on: interval}", "fail_above: 0.25, fail_on: estimate}")
    profile = load(tmp_path, text).contract().profile
    assert profile is not None
    assert (profile.min_records_per_value, profile.confidence) == (12, 0.9)
    bands = profile.thresholds
    assert bands.psi.fail_on == "estimate"
    assert bands.parity_difference.fail_on == "interval"  # the default of figures with an interval
    assert bands.disparate_impact.fail_on == "interval"
    assert bands.chi_square_p.fail_on == "estimate"  # no interval: the estimate decides
    assert bands.missing_rate.fail_on == "estimate"


def test_the_defaults_of_the_new_profile_settings(tmp_path):
    text = GOOD.replace("  min_records_per_value: 30", "").replace("  confidence: 0.95", "")
    profile = load(tmp_path, text).contract().profile
    assert profile is not None
    assert (profile.min_records_per_value, profile.confidence) == (30, 0.95)


@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [
        (
            ("chi_square_p: {warn_below: 0.01}", "chi_square_p: {warn_below: 0.01, fail_on: interval}"),
            "profile.thresholds.chi_square_p.fail_on",
            "unknown field",
        ),
        (
            ("fail_above: 0.25, fail_on: interval}", "fail_above: 0.25, fail_on: ci}"),
            "profile.thresholds.psi.fail_on",
            "'interval' or 'estimate'",
        ),
        (
            ("  min_records_per_value: 30", "  min_records_per_value: 0"),
            "profile.min_records_per_value",
            "greater than or equal to 1",
        ),
        (("  confidence: 0.95", "  confidence: 1.0"), "profile.confidence", "less than or equal"),
    ],
)
def test_bad_profile_settings_name_the_field(tmp_path, change, field, reason):
    old, new = change
    assert old in GOOD
    error = error_of(tmp_path, GOOD.replace(old, new))
    assert error.field == field
    assert reason in error.reason
