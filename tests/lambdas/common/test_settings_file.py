"""`settings_path` and `read_settings_file`: where a function's settings file is and that it is the deployed one."""

from __future__ import annotations

from pathlib import Path

import pytest
from common.settings_file import SettingsFileError, read_settings_file, settings_path

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
