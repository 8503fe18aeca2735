"""A wide, long use case: every name at its maximum, 8 sources of 60 fields, both stages in one synth.

It synthesizes with zero unacknowledged nag findings, passes the deploy-time limits check with every function's
environment within a 1 KB budget, and its functions read all 480 fields from the settings layer. One character
or item past a documented maximum fails with the clean one-line message, never a traceback.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
import yaml
from common.settings_file import SETTINGS_DIR_ENV, deployed_settings
from pipeline.contract import FUNCTION_SECTIONS, PipelineSettings

import app as app_module
from stacks.app_builder import build_app, cdk_json_context
from stacks.config import MAX_PREFIX, MAX_SOURCES, ConfigError, kit_config_from_context, load_usecase
from stacks.data.settings import MAX_FIELDS_PER_SOURCE, load_data_settings
from stacks.limits import Stack, assembly_stacks, check_templates, environment_sizes
from stacks.synth_gate import report_findings
from tests.conftest import Synth, synthesize
from tests.lambdas.pipeline.harness import layer_folder, settings_layer_id
from tests.stacks.wide_usecase import FIELDS_PER_SOURCE, PROJECT, USECASE, WideCase, write_wide_usecase
from tools.iam_check import FRAMEWORK_PROVIDERS

# Settings left the environment for the layer; what stays (names, ARNs, a digest) must stay small: a quarter of
# Lambda's 4 KB at the longest values the references can resolve to (the data part function holds a table name of
# up to 255 characters and a secret ARN besides the settings file's name and digest: 1,149 bytes at worst).
ENVIRONMENT_BUDGET = 1280


@pytest.fixture(scope="module")
def wide(tmp_path_factory: pytest.TempPathFactory) -> WideCase:
    return write_wide_usecase(tmp_path_factory.mktemp("usecases"))


@pytest.fixture(scope="module")
def wide_synth(wide: WideCase, tmp_path_factory: pytest.TempPathFactory) -> Synth:
    """The one extra synth of the suite: dev and prod of the wide use case."""
    return synthesize(tmp_path_factory.mktemp("cdk.out.wide"), wide.root, stage="all", **wide.context())


def test_the_generated_use_case_is_at_its_maxima(wide: WideCase):
    context = wide.context()
    assert (len(context["project"]), len(context["usecase"]), len(context["prefix"])) == (20, 30, MAX_PREFIX)
    usecase = load_usecase(USECASE, wide.root)
    settings = load_data_settings(usecase, wide.root)
    assert len(settings.sources) == MAX_SOURCES == 8
    assert {len(s.fields) for s in settings.sources.values()} == {FIELDS_PER_SOURCE}
    assert max(len(name) for s in settings.sources.values() for name in s.fields) == 63
    assert max(len(name) for name in settings.sources) == 63


@pytest.mark.synth
def test_both_stages_synthesize_with_zero_unacknowledged_findings(wide_synth: Synth):
    assert report_findings(wide_synth.outdir) == []
    assert report_findings(wide_synth.outdir, acknowledged=True)  # the packs ran
    assert sorted(wide_synth.templates) == sorted(
        f"{PROJECT}-customer-rete-{stage}-{part}"
        for stage in ("dev", "prod")
        for part in ("Foundation", "Data", "Knowledge", "Guardrails", "Prompts", "Agent", "Api", "Web", "Observability")
    )


@pytest.mark.synth
def test_the_limits_check_passes_and_every_environment_is_within_the_budget(wide_synth: Synth):
    stacks = assembly_stacks(wide_synth.outdir)
    assert check_templates(stacks) == []
    sizes = environment_sizes(stacks)
    kit = {key: size for key, size in sizes.items() if not key[1].startswith(FRAMEWORK_PROVIDERS)}
    # pipeline steps with settings, assemble (none), start, knowledge sync, the agent's tools and loader, the chat
    # API's buffered and streaming functions and its fine-tuning export, the quality evaluation's RunTask and Score;
    # two stages
    assert len(kit) == 2 * (len(FUNCTION_SECTIONS) + 1 + 1 + 1 + 2 + 3 + 2)
    over = {f"{stack}/{logical}": size for (stack, logical), size in kit.items() if size > ENVIRONMENT_BUDGET}
    assert over == {}


@pytest.mark.synth
def test_the_longest_name_is_exactly_at_its_limit(wide_synth: Synth):
    """MAX_PREFIX is tight: the prod knowledge-sync rule name is exactly EventBridge's 64 characters."""
    rules = [
        r["Properties"]["Name"] for _, _, r in wide_synth.resources("AWS::Events::Rule") if "Name" in r["Properties"]
    ]
    assert max(len(name) for name in rules) == 64


@pytest.mark.synth
def test_one_more_character_of_prefix_fails_the_limits_check_with_one_clean_line(wide_synth: Synth):
    """What a 35-character prefix would synthesize (the same templates, the prefix one character longer), as a
    forked stack that bypasses the config check would produce: the limits check names the rule."""
    prefix = wide_synth_prefix(wide_synth)
    longer = prefix + "x"

    def renamed(s: Stack) -> Stack:
        return Stack(s.name.replace(prefix, longer), json.loads(json.dumps(s.template).replace(prefix, longer)), s.size)

    (violation,) = check_templates([renamed(s) for s in assembly_stacks(wide_synth.outdir)])
    rule = f"{prefix}-prod-knowledge-sync-published"
    ((stack, logical_id, _),) = [
        r for r in wide_synth.resources("AWS::Events::Rule") if r[2]["Properties"].get("Name") == rule
    ]
    assert str(violation) == (
        f"{stack.replace(prefix, longer)}/{logical_id} (AWS::Events::Rule): Name '{longer}-prod-knowledge-sync-"
        "published': 65 characters, over EventBridge's maximum of 64 (a hard limit)"
    )


def wide_synth_prefix(synth: Synth) -> str:
    return next(iter(synth.templates)).rsplit("-", 2)[0]


@pytest.mark.synth
def test_every_step_reads_all_its_fields_from_the_synthesized_layer(
    wide_synth: Synth, wide: WideCase, monkeypatch: pytest.MonkeyPatch
):
    for stage in ("dev", "prod"):
        name = f"{wide_synth_prefix(wide_synth)}-{stage}-Data"  # each stage's Data stack has its own layer
        template = wide_synth.templates[name]
        folder = layer_folder(wide_synth.outdir, template, settings_layer_id(template))
        by_file = {
            f["Environment"]["Variables"]["KIT_SETTINGS_FILE"]: f["Environment"]["Variables"]["KIT_SETTINGS_SHA256"]
            for stack, _, r in wide_synth.resources("AWS::Lambda::Function")
            if stack == name
            for f in [r["Properties"]]
            if "KIT_SETTINGS_FILE" in f.get("Environment", {}).get("Variables", {})
        }
        assert sorted(by_file) == sorted(f"{step}.json" for step in FUNCTION_SECTIONS)
        monkeypatch.setenv(SETTINGS_DIR_ENV, str(folder))  # the runtime's reader, on the synthesized layer

        environments = {
            name: {"KIT_SETTINGS_FILE": name, "KIT_SETTINGS_SHA256": sha256} for name, sha256 in by_file.items()
        }
        validate = deployed_settings(PipelineSettings, environments["validate.json"])
        assert list(validate.sources) == list(wide.sources)
        assert sum(len(s.fields) for s in validate.sources.values()) == MAX_SOURCES * FIELDS_PER_SOURCE
        assert deployed_settings(PipelineSettings, environments["redact.json"]).pii.language == "en"


# -------------------------------------------------------------------------------- one past a maximum: clean errors


def _app_exit(wide: WideCase, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, **overrides: Any) -> int:
    """app.py's main over the wide use case with ``overrides`` in the context: its exit code."""
    context = {**wide.context(), **overrides}

    def synthesize_wide(folder: Path) -> None:
        app = cdk.App(
            outdir=str(folder), auto_synth=False, context={**app_module.APP_MODE_CONTEXT, **cdk_json_context(**context)}
        )
        build_app(app, wide.root)
        app.synth()

    monkeypatch.setenv("CDK_OUTDIR", str(tmp_path / "cdk.out"))
    monkeypatch.setattr(app_module, "synthesize", synthesize_wide)
    return app_module.main()


def test_a_35_character_prefix_is_one_clean_config_error_not_a_traceback(wide, monkeypatch, tmp_path, capsys):
    assert _app_exit(wide, monkeypatch, tmp_path, prefix=wide.context(MAX_PREFIX + 1)["prefix"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "config error: cdk.json context: prefix: must have at most 34 characters (it has 35)"
    ]
    assert not (tmp_path / "cdk.out").exists() or not any((tmp_path / "cdk.out").iterdir())


def _rewrite(wide: WideCase, file: str, change: Any) -> None:
    path = wide.root / wide.usecase / file
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def _add_source(wide: WideCase) -> None:
    def add(register: dict[str, Any]) -> None:
        register["data"]["sources"].append({**register["data"]["sources"][0], "name": "s8_more"})

    _rewrite(wide, "usecase.yaml", add)


def _add_field(wide: WideCase) -> None:
    def add(data: dict[str, Any]) -> None:
        fields = data["sources"]["s0_events"]["fields"]
        for i in range(MAX_FIELDS_PER_SOURCE - len(fields) + 1):
            fields[f"extra_{i}"] = {"type": "string"}

    _rewrite(wide, "data.yaml", add)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            _add_source,
            f"usecases/{USECASE}/usecase.yaml: data.sources: must have at most 8 items (it has 9)",
        ),
        (
            _add_field,
            f"usecases/{USECASE}/data.yaml: sources.s0_events.fields: must have at most 100 items (it has 101)",
        ),
    ],
    ids=["a ninth source", "a 101st field"],
)
def test_one_item_past_a_documented_maximum_is_one_clean_config_error(tmp_path, monkeypatch, capsys, change, expected):
    wide = write_wide_usecase(tmp_path / "usecases")
    change(wide)
    assert _app_exit(wide, monkeypatch, tmp_path) == 2
    assert capsys.readouterr().err.splitlines() == [f"config error: {expected}"]


def test_the_use_case_id_and_the_default_prefix_at_their_maximum_and_one_past():
    assert len(kit_config_from_context(cdk_json_context(usecase="u" * 30, prefix="team-a")).usecase) == 30
    with pytest.raises(ConfigError) as raised:
        kit_config_from_context(cdk_json_context(usecase="u" * 31, prefix="team-a"))
    assert (raised.value.field, raised.value.reason) == ("usecase", "must have at most 30 characters (it has 31)")
