"""`SettingsLayer`: static settings as files in a layer, the environment pinning each file by its SHA-256."""

from __future__ import annotations

import hashlib
import json
import tempfile
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from common import settings_file
from common.settings_file import SettingsFileError, read_settings_file, settings_path

from stacks.common import settings_layer
from stacks.common.settings_layer import SettingsLayer, settings_bytes, write_settings_files
from tests.lambdas.pipeline.harness import settings_layer_id, synth_data_stack


def test_the_stack_and_the_runtime_agree_on_names_and_place():
    assert settings_layer.SETTINGS_FILE_ENV == settings_file.SETTINGS_FILE_ENV
    assert settings_layer.SETTINGS_SHA256_ENV == settings_file.SETTINGS_SHA256_ENV
    # Lambda extracts a layer's zip under /opt: the layer's settings/ folder is the runtime's default.
    assert f"/opt/{settings_layer.SETTINGS_FOLDER}" == settings_file.DEFAULT_SETTINGS_DIR


def test_files_are_compact_json_in_the_given_key_order_and_their_digest_is_their_sha256(tmp_path):
    settings = {"sources": {"b": {"fields": {"z": 1, "a": 2}}, "a": {}}, "pii": {"language": "é"}}
    digests = write_settings_files(tmp_path, {"validate": settings})
    data = (tmp_path / "validate.json").read_bytes()
    assert data == settings_bytes(settings)
    assert list(json.loads(data)["sources"]["b"]["fields"]) == ["z", "a"]  # CSV column order survives
    assert b" " not in data
    assert digests == {"validate": hashlib.sha256(data).hexdigest()}


def _synth_layer(outdir: Path, files: dict[str, object]) -> tuple[SettingsLayer, dict[str, Any]]:
    app = cdk.App(outdir=str(outdir))
    stack = cdk.Stack(app, "S")
    layer = SettingsLayer(stack, "Settings", files=files, description="settings")
    template: dict[str, Any] = app.synth().get_stack_by_name("S").template
    return layer, template


def test_the_layer_holds_one_file_per_name_and_changed_settings_change_the_environment(tmp_path):
    first, template = _synth_layer(tmp_path / "a", {"validate": {"limits": 1}, "redact": {"pii": 1}})
    (resource,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::LayerVersion"]
    props = resource["Properties"]
    assert props["CompatibleRuntimes"] == ["python3.13"]
    assert props["CompatibleArchitectures"] == ["arm64"]
    asset = tmp_path / "a" / f"asset.{props['Content']['S3Key'].removesuffix('.zip')}"
    assert sorted(p.relative_to(asset).as_posix() for p in asset.rglob("*.json")) == [
        "settings/redact.json",
        "settings/validate.json",
    ]
    environment = first.environment("validate")
    assert environment == {
        "KIT_SETTINGS_FILE": "validate.json",
        "KIT_SETTINGS_SHA256": hashlib.sha256((asset / "settings" / "validate.json").read_bytes()).hexdigest(),
    }
    # Other settings: another digest for the function (CloudFormation updates it) and another layer version.
    second, changed = _synth_layer(tmp_path / "b", {"validate": {"limits": 2}, "redact": {"pii": 1}})
    assert second.environment("validate") != environment
    assert second.environment("redact") == first.environment("redact")
    (other,) = [r for r in changed["Resources"].values() if r["Type"] == "AWS::Lambda::LayerVersion"]
    assert other["Properties"]["Content"]["S3Key"] != props["Content"]["S3Key"]
    with pytest.raises(KeyError, match="holds no 'publish'"):
        first.environment("publish")
    # The same settings synthesize to the same layer version: a synth without changes shows no diff.
    _, again = _synth_layer(tmp_path / "c", {"validate": {"limits": 1}, "redact": {"pii": 1}})
    (same,) = [r for r in again["Resources"].values() if r["Type"] == "AWS::Lambda::LayerVersion"]
    assert same["Properties"]["Content"]["S3Key"] == props["Content"]["S3Key"]


def test_the_temporary_folder_is_gone_once_the_asset_is_staged(tmp_path, monkeypatch):
    made: list[Path] = []
    real = tempfile.mkdtemp

    def mkdtemp(**kwargs: str) -> str:
        made.append(Path(real(**kwargs)))
        return str(made[-1])

    monkeypatch.setattr(tempfile, "mkdtemp", mkdtemp)
    _synth_layer(tmp_path / "out", {"validate": {}})
    assert made
    assert not made[0].exists()


def test_the_runtime_reads_the_file_only_with_its_deployed_digest(tmp_path, monkeypatch):
    digests = write_settings_files(tmp_path, {"assess": {"profile": None}})
    monkeypatch.setenv("KIT_SETTINGS_DIR", str(tmp_path))
    path = settings_path("assess.json")
    assert path == tmp_path / "assess.json"
    assert json.loads(read_settings_file(path, digests["assess"])) == {"profile": None}
    with pytest.raises(SettingsFileError, match="differs from the deployed"):
        read_settings_file(path, "0" * 64)
    with pytest.raises(SettingsFileError, match="is the stack's settings layer attached"):
        read_settings_file(tmp_path / "missing.json", digests["assess"])
    monkeypatch.delenv("KIT_SETTINGS_DIR")
    assert settings_path("assess.json") == Path("/opt/settings/assess.json")


def test_kit_function_takes_extra_layers_beside_powertools():
    """The Data stack's functions get Powertools, the dependency layer and the settings layer (/opt/python and
    /opt/settings: no file of the settings shadows a package, whatever their order)."""
    data = synth_data_stack().data
    (validate,) = [
        r["Properties"]
        for k, r in data["Resources"].items()
        if r["Type"] == "AWS::Lambda::Function" and k.startswith("ValidateFunction")
    ]
    layers = validate["Layers"]
    assert len(layers) == 3
    assert {"Ref": settings_layer_id(data)} in layers
    assert any(isinstance(layer, dict) and layer["Ref"].startswith("DependencyLayer") for layer in layers)
    assert any(isinstance(layer, str) and "powertools" in layer.lower() for layer in layers)
