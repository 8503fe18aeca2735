"""`settings_path`, `read_settings_file` and `deployed_settings`: where a function's settings file is, that it is the
deployed one, and the deploy-time values laid over it."""

from __future__ import annotations

from pathlib import Path

import pytest
from common.settings_file import SettingsFileError, deployed_settings, merge, read_settings_file, settings_path
from pydantic import BaseModel, ValidationError

CONTENT = b'{"schema": {"fields": ["id", "amount"]}}\n'
# `sha256sum` of CONTENT, the digest the stack would put in KIT_SETTINGS_SHA256, and of CONTENT plus a space.
CONTENT_SHA256 = "489a4c361ff051d8b4fb0ddcd6bcb03e09b3cbf824dd1d65a990d1036f03c88e"
TAMPERED_SHA256 = "89222cc5a728a2899e6833df8a6e007cebfc101b7509f8f8d2eaa5c96eda11fc"


def test_the_settings_folder_is_the_layer_folder_by_default(monkeypatch):
    monkeypatch.delenv("KIT_SETTINGS_DIR", raising=False)
    assert settings_path("ingest.json") == Path("/opt/settings/ingest.json")


def test_an_empty_settings_dir_variable_means_the_layer_folder(monkeypatch):
    monkeypatch.setenv("KIT_SETTINGS_DIR", "")
    assert settings_path("ingest.json") == Path("/opt/settings/ingest.json")


def test_kit_settings_dir_points_the_reader_at_another_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("KIT_SETTINGS_DIR", str(tmp_path))
    assert settings_path("ingest.json") == tmp_path / "ingest.json"


def test_a_file_with_the_deployed_digest_is_read(tmp_path):
    path = tmp_path / "ingest.json"
    path.write_bytes(CONTENT)
    assert read_settings_file(path, CONTENT_SHA256) == CONTENT


def test_a_file_whose_digest_differs_is_refused_naming_both_digests(tmp_path):
    path = tmp_path / "ingest.json"
    path.write_bytes(CONTENT + b" ")
    deployed = "0" * 64
    with pytest.raises(SettingsFileError) as raised:
        read_settings_file(path, deployed)
    assert str(raised.value) == f"{path}: SHA-256 {TAMPERED_SHA256} differs from the deployed {deployed}"


def test_a_missing_file_is_refused_with_a_hint_at_the_layer(tmp_path):
    path = tmp_path / "missing.json"
    with pytest.raises(SettingsFileError) as raised:
        read_settings_file(path, CONTENT_SHA256)
    assert str(raised.value) == f"{path}: no such settings file; is the stack's settings layer attached?"
    assert raised.value.__cause__ is None
    assert raised.value.__suppress_context__ is True


class Schema(BaseModel):
    fields: list[str]
    bucket: str = "static-bucket"


class Settings(BaseModel):
    schema_: Schema | None = None
    table: str = "t"

    model_config = {"populate_by_name": True, "alias_generator": lambda name: name.rstrip("_")}


def _layer(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, str]:
    (tmp_path / "ingest.json").write_bytes(CONTENT)
    monkeypatch.setenv("KIT_SETTINGS_DIR", str(tmp_path))
    return {"KIT_SETTINGS_FILE": "ingest.json", "KIT_SETTINGS_SHA256": CONTENT_SHA256}


def test_the_deploy_time_values_are_laid_over_the_file_mapping_by_mapping(monkeypatch, tmp_path):
    environ = _layer(monkeypatch, tmp_path)
    settings = deployed_settings(Settings, environ, deployed='{"schema": {"bucket": "filled-in"}, "table": "x"}')
    assert settings == Settings(schema_=Schema(fields=["id", "amount"], bucket="filled-in"), table="x")
    assert deployed_settings(Schema, environ, section="schema") == Schema(fields=["id", "amount"])


def test_without_a_settings_file_the_deploy_time_json_is_the_whole(monkeypatch):
    monkeypatch.delenv("KIT_SETTINGS_DIR", raising=False)
    assert deployed_settings(Schema, {}, deployed='{"fields": ["a"]}') == Schema(fields=["a"])
    with pytest.raises(ValidationError):
        deployed_settings(Schema, {})  # nothing at all: the model says what is missing


def test_a_tampered_file_is_refused_before_anything_is_parsed(monkeypatch, tmp_path):
    environ = {**_layer(monkeypatch, tmp_path), "KIT_SETTINGS_SHA256": TAMPERED_SHA256}
    with pytest.raises(SettingsFileError, match="differs from the deployed"):
        deployed_settings(Settings, environ, deployed="{}")


def test_the_settings_are_read_once_per_container(monkeypatch, tmp_path):
    environ = _layer(monkeypatch, tmp_path)
    first = deployed_settings(Schema, environ, section="schema", deployed='{"bucket": "b1"}')
    (tmp_path / "ingest.json").unlink()  # a second read would fail
    assert deployed_settings(Schema, environ, section="schema", deployed='{"bucket": "b1"}') is first
    assert deployed_settings(Schema, environ, section="schema", deployed='{"bucket": "b2"}').bucket == "b2"


def test_merge_replaces_leaves_and_keeps_what_the_deployed_side_does_not_name():
    assert merge({"a": 1, "b": {"c": 2, "d": 3}}, {"b": {"c": 9}, "e": 5}) == {"a": 1, "b": {"c": 9, "d": 3}, "e": 5}
    assert merge({"a": {"b": 1}}, {"a": [1]}) == {"a": [1]}  # a list replaces a mapping whole
    assert merge("x", None) is None
