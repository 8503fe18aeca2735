"""Command-line tools: register, synth summary, configuration reference."""

from __future__ import annotations

import shutil

from stacks.config import USECASES_DIR
from tools import config_reference, register, synth_summary


def test_register_lists_valid_use_cases_and_reports_broken_ones(tmp_path, capsys):
    shutil.copytree(USECASES_DIR / "customer-retention", tmp_path / "customer-retention")
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "usecase.yaml").write_text("id: broken\n")
    assert register.main(["--root", str(tmp_path)]) == 1
    out, err = capsys.readouterr()
    assert out.startswith("customer-retention")
    assert "knew_which" in out
    assert "broken/usecase.yaml: title: Field required" in err


def test_synth_summary_counts_resources_and_findings(synth):
    text, findings = synth_summary.summarize(synth.outdir)
    assert findings == 0
    rows = {line.split()[0]: line.split() for line in text.splitlines()[1:-1]}
    assert rows["journey-dev-Foundation"][1] == str(len(synth.templates["journey-dev-Foundation"]["Resources"]))
    assert int(rows["journey-dev-Foundation"][3]) > 0  # acknowledged findings are counted apart


def test_readme_configuration_reference_is_generated_from_the_models():
    assert config_reference.main(["--check"]) == 0, "run `make docs` to regenerate the README reference"
