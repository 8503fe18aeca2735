"""usecases/<id>/api.yaml: the shipped files are valid, a missing file means the defaults, and each mistake is one
line naming the file, the field and the reason; what api.yaml asks of switched-off stacks stops the app."""

from __future__ import annotations

import shutil
import textwrap

import pytest
from common.settings_file import merge

from stacks.api.settings import API_FILE, ApiFileSettings, load_api_settings
from stacks.config import USECASES_DIR, ConfigError
from tests.conftest import synthesize


def test_shipped_api_files_are_valid_and_differ():
    retention = load_api_settings("customer-retention")
    helpdesk = load_api_settings("it-helpdesk")
    assert retention.max_prompt_chars == 4000
    assert helpdesk.max_prompt_chars == 3000
    assert retention.per_request == ["direct", "agent", "multi-task"]
    assert set(retention.quotas) == {"users", "admins"}
    assert retention.waf.count_body_rules == []  # every core rule blocks
    assert helpdesk.waf.count_body_rules == ["CrossSiteScripting_BODY", "GenericLFI_BODY"]


def test_a_use_case_without_api_yaml_gets_the_defaults(tmp_path):
    (tmp_path / "x").mkdir()
    assert load_api_settings("x", tmp_path) == ApiFileSettings()


def _write(tmp_path, text: str) -> str:
    folder = tmp_path / "usecases" / "demo"
    folder.mkdir(parents=True)
    (folder / API_FILE).write_text(textwrap.dedent(text))
    return "demo"


@pytest.mark.parametrize(
    ("text", "field", "reason"),
    [
        ("max_prompt_chars: 16001\n", "max_prompt_chars", "must be less than or equal to 16000"),
        ("per_request: [chat]\n", "per_request.0", "must be 'direct', 'rag', 'agent' or 'multi-task'"),
        ("cors_origins: ['*']\n", "cors_origins.0", "must be an https origin"),
        ("cors_origins: ['http://example.com']\n", "cors_origins.0", "must be an https origin"),
        ("cors_origins: []\n", "cors_origins", "at least 1 item"),
        ("quotas: {guests: {tokens_per_day: 1, requests_per_minute: 1}}\n", "quotas.guests", "not an allowed key"),
        ("quotas: {users: {tokens_per_day: 0, requests_per_minute: 1}}\n", "quotas.users.tokens_per_day", "greater"),
        ("waf: {rate_limit: 5}\n", "waf.rate_limit", "greater than or equal to 10"),
        ("throttling: {rate_limit: 50, burst_limit: 10}\n", "throttling.burst_limit", "at least throttling.rate_limit"),
        ("self_signup: true\n", "self_signup", "did you mean 'self_sign_up'?"),
        ("per_request: [direct, direct]\n", "per_request", "twice"),
        ("waf: {count_body_rules: [SizeRestrictions_BODY]}\n", "waf.count_body_rules.0", "must be"),
        ("waf: {count_body_rules: [GenericLFI_BODY, GenericLFI_BODY]}\n", "waf.count_body_rules", "twice"),
    ],
)
def test_a_bad_api_yaml_is_one_line_naming_file_field_and_reason(tmp_path, text, field, reason):
    usecase = _write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_api_settings(usecase, tmp_path / "usecases")
    (problem,) = caught.value.problems
    assert problem[0] == f"usecases/demo/{API_FILE}"
    assert problem[1] == field
    assert reason in problem[2]
    assert "\n" not in str(caught.value)


def test_an_architecture_whose_stack_is_off_stops_synth_with_one_line(tmp_path):
    root = tmp_path / "usecases"
    shutil.copytree(USECASES_DIR / "customer-retention", root / "customer-retention")
    with pytest.raises(ConfigError) as caught:
        synthesize(tmp_path / "out", root, **{"features.agent": False})
    assert caught.value.problems == [
        (
            "usecases/customer-retention/api.yaml",
            "per_request.1",
            "'agent' needs the Agent stack (features.agent and an agent.yaml), which is missing",
        )
    ]
    (root / "customer-retention" / API_FILE).write_text("default_task: nope\n")
    with pytest.raises(ConfigError) as caught:
        synthesize(tmp_path / "out2", root)
    assert caught.value.problems == [
        (
            "usecases/customer-retention/api.yaml",
            "default_task",
            "'nope' is not a task: prompts.yaml has answer, summarize, classify",
        )
    ]


def test_the_api_switch_needs_guardrails(tmp_path):
    with pytest.raises(ConfigError) as caught:
        synthesize(tmp_path, USECASES_DIR, **{"features.guardrails": False, "features.agent": False})
    assert caught.value.problems == [
        ("cdk.json context", "features", "api needs guardrails (the chat pipeline applies the use case's guardrail)")
    ]


def test_deployed_values_are_laid_over_the_static_ones():
    assert merge({"a": 1, "b": {"c": 2, "d": 3}}, {"b": {"c": 9}, "e": 5}) == {"a": 1, "b": {"c": 9, "d": 3}, "e": 5}
