"""`api.store` loads its stores on first use, so the Api stack can import its contracts at synth without Powertools."""

from __future__ import annotations

import subprocess
import sys

import api.store
import pytest
from api.store import conversations, errors, quotas, telemetry, tokens


def test_every_exported_name_is_the_one_its_module_defines():
    homes = {
        "Conversations": conversations,
        "SessionDetail": conversations,
        "SessionSummary": conversations,
        "QuotaExceeded": errors,
        "SessionNotFound": errors,
        "Quotas": quotas,
        "Telemetry": telemetry,
        "estimate_tokens": tokens,
    }
    assert sorted(api.store.__all__) == sorted(homes)
    for name, module in homes.items():
        assert getattr(api.store, name) is getattr(module, name)
    with pytest.raises(AttributeError, match="has no attribute 'Nope'"):
        _ = api.store.Nope


def test_importing_the_contracts_does_not_load_the_stores():
    code = (
        "import sys, api.store.schema, api.store.export_contract;"
        "print(sorted(m for m in sys.modules if m.startswith(('api.store.', 'aws_lambda_powertools'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env={"PYTHONPATH": ":".join(sys.path)}
    ).stdout
    assert out.strip() == "['api.store.export_contract', 'api.store.schema']"
