"""Command-line tools: synth summary, IAM check, configuration reference.

The register has its own module (test_register.py).
"""

from __future__ import annotations

import json
import typing
from pathlib import Path
from typing import Any

import pytest

from stacks.config import KitConfig
from stacks.knowledge.settings import KnowledgeSettings
from stacks.synth_gate import NAG_PACKS
from stacks.usecase_files import UseCaseFiles
from tools import config_reference, iam_check, synth_summary

STACK = "kit-dev-S"


def write_assembly(
    folder: Path, template: dict[str, Any] | None = None, packs: tuple[str, ...] | None = NAG_PACKS
) -> Path:
    """A hand-made cloud assembly: one stack in a stage, and a validation report from ``packs`` (None: no report)."""
    folder.mkdir(parents=True, exist_ok=True)
    artifacts: dict[str, Any] = {}
    if template is not None:
        (folder / "S.template.json").write_text(json.dumps(template))
        artifacts["S"] = {
            "type": "aws:cloudformation:stack",
            "displayName": "kit-dev/S",
            "properties": {"templateFile": "S.template.json", "stackName": STACK},
        }
    (folder / "manifest.json").write_text(json.dumps({"version": "55.0.0", "artifacts": artifacts}))
    if packs is not None:
        finding = {"ruleName": "R1", "violatingConstructs": [{"constructPath": "kit-dev/S/Bucket/Resource"}]}
        reports = [
            {"pluginName": pack, "violations": [finding] if pack == "AwsSolutions" else [], "suppressedViolations": []}
            for pack in packs
        ]
        (folder / "validation-report.json").write_text(json.dumps({"pluginReports": reports}))
    return folder


ONE_BUCKET = {"Resources": {"Bucket": {"Type": "AWS::S3::Bucket"}}}


def _not_assemblies(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    """Folders that hold no synth, each with the reason the tools must give."""
    stray = tmp_path / "stray"
    stray.mkdir()
    (stray / "tree.json").write_text("{}")
    (tmp_path / "empty").mkdir()
    return {
        "missing folder": (tmp_path / "cdk.out", f"{tmp_path / 'cdk.out'}: no such folder — run `make synth` first"),
        "empty folder": (tmp_path / "empty", f"{tmp_path / 'empty'}: empty folder — run `make synth` first"),
        "no manifest": (
            stray,
            f"{stray}: no manifest.json, so not a cloud assembly — run `make synth` first",
        ),
        "no stacks": (
            write_assembly(tmp_path / "stackless"),
            f"{tmp_path / 'stackless'}: the cloud assembly holds no stacks — run `make synth` first",
        ),
    }


CASES = ["missing folder", "empty folder", "no manifest", "no stacks"]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("tool", ["synth_summary", "iam_check"])
def test_tools_fail_loudly_without_a_cloud_assembly(tool, case, tmp_path, capsys):
    folder, reason = _not_assemblies(tmp_path)[case]
    main = synth_summary.main if tool == "synth_summary" else iam_check.main
    assert main([str(folder)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == f"{tool}: {reason}\n"


def test_synth_summary_fails_on_a_synth_without_the_nag_packs(tmp_path, capsys):
    folder = write_assembly(tmp_path / "cdk.out", ONE_BUCKET, packs=None)
    assert synth_summary.main([str(folder)]) == 2
    report = folder / "validation-report.json"
    assert capsys.readouterr().err == (
        f"synth_summary: {report}: missing, so the synth ran without the nag packs — run `make synth` first\n"
    )


def test_synth_summary_fails_when_a_nag_pack_did_not_report(tmp_path, capsys):
    folder = write_assembly(tmp_path / "cdk.out", ONE_BUCKET, packs=("AwsSolutions", "CloudFormationValidate"))
    assert synth_summary.main([str(folder)]) == 2
    report = folder / "validation-report.json"
    assert capsys.readouterr().err == (
        f"synth_summary: {report}: no report from NIST.800.53.R5, HIPAA.Security, Serverless, "
        "so the synth was not gated — run `make synth` first\n"
    )


def test_synth_summary_counts_findings_of_a_gated_assembly(tmp_path, capsys):
    folder = write_assembly(tmp_path / "cdk.out", ONE_BUCKET)
    assert synth_summary.main([str(folder)]) == 1
    assert capsys.readouterr().out == (
        "stack      resources  nag findings  acknowledged\n"
        "kit-dev-S  1          1             0\n"
        "1 stacks, 1 resources, 1 nag findings\n"
    )


def test_synth_summary_counts_resources_and_findings(synth):
    text, findings = synth_summary.summarize(synth.outdir)
    assert findings == 0
    rows = {line.split()[0]: line.split() for line in text.splitlines()[1:-1]}
    assert set(rows) == set(synth.templates)
    foundation = next(name for name in rows if name.endswith("-dev-Foundation"))
    assert rows[foundation][1] == str(len(synth.templates[foundation]["Resources"]))
    assert int(rows[foundation][3]) > 0  # acknowledged findings are counted apart
    assert synth_summary.main([str(synth.outdir)]) == 0


PROVIDER_ROLE = "CustomS3AutoDeleteObjectsCustomResourceProviderRole3B1BD092"
EXCEPTIONS = {
    "Resources": {
        "BucketPolicy": {
            "Type": "AWS::S3::BucketPolicy",
            "Properties": {
                "PolicyDocument": {
                    "Statement": [
                        {
                            "Sid": "TlsOnly",
                            "Effect": "Deny",
                            "Principal": {"AWS": "*"},
                            "Action": "s3:*",
                            "Resource": "*",
                            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                        }
                    ]
                }
            },
        },
        PROVIDER_ROLE: {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": {
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "lambda.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ]
                },
                "Policies": [
                    {
                        "PolicyName": "Inline",
                        "PolicyDocument": {"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]},
                    }
                ],
            },
        },
        "Tracing": {
            "Type": "AWS::IAM::Policy",
            "Properties": {
                "PolicyDocument": {
                    "Statement": [{"Effect": "Allow", "Action": "xray:PutTraceSegments", "Resource": "*"}]
                }
            },
        },
    }
}


def test_iam_check_lists_every_exception_it_allowed():
    result = iam_check.review({STACK: EXCEPTIONS}, iam_check.load_allowlist())
    assert result.findings == []
    assert result.checked == 4
    assert result.exceptions == [
        "wildcard in Deny: kit-dev-S/BucketPolicy (AWS::S3::BucketPolicy) sid TlsOnly: s3:* "
        "(narrows access: Bool aws:SecureTransport=false)",
        f"framework provider, skipped: kit-dev-S/{PROVIDER_ROLE} (AWS::IAM::Role) sid -: sts:AssumeRole "
        "(provider's own resource)",
        f"framework provider, skipped: kit-dev-S/{PROVIDER_ROLE} (AWS::IAM::Role) sid -: s3:* "
        "(provider's own resource)",
    ]


def test_iam_check_prints_exceptions_and_counts_and_passes(tmp_path, capsys):
    folder = write_assembly(tmp_path / "cdk.out", EXCEPTIONS)
    assert iam_check.main([str(folder)]) == 0
    assert capsys.readouterr().out == (
        "exceptions (allowed by rule):\n"
        "  wildcard in Deny: kit-dev-S/BucketPolicy (AWS::S3::BucketPolicy) sid TlsOnly: s3:* "
        "(narrows access: Bool aws:SecureTransport=false)\n"
        f"  framework provider, skipped: kit-dev-S/{PROVIDER_ROLE} (AWS::IAM::Role) sid -: sts:AssumeRole "
        "(provider's own resource)\n"
        f"  framework provider, skipped: kit-dev-S/{PROVIDER_ROLE} (AWS::IAM::Role) sid -: s3:* "
        "(provider's own resource)\n"
        "4 statements checked, 0 findings, 3 exceptions\n"
    )


def test_iam_check_prints_findings_first_and_fails(tmp_path, capsys):
    grant = {"Effect": "Allow", "Action": "s3:GetObject*", "Resource": "arn:aws:s3:::b/*"}
    template = {
        "Resources": {"P": {"Type": "AWS::IAM::Policy", "Properties": {"PolicyDocument": {"Statement": [grant]}}}}
    }
    folder = write_assembly(tmp_path / "cdk.out", template)
    assert iam_check.main([str(folder)]) == 1
    assert capsys.readouterr().out == (
        "kit-dev-S/P (AWS::IAM::Policy): wildcard action s3:GetObject*\n"
        "exceptions (allowed by rule):\n"
        "  (none)\n"
        "1 statements checked, 1 findings, 0 exceptions\n"
    )


def test_iam_check_names_templates_by_stack(synth):
    templates = iam_check.load_templates(synth.outdir)
    assert set(templates) == set(synth.templates)


def test_readme_configuration_reference_is_generated_from_the_models():
    assert config_reference.main(["--check"]) == 0, "run `make docs` to regenerate the generated references"


def test_every_use_case_file_has_a_generated_reference():
    """A file model added to `UseCaseFiles` must be rendered on some page (and so checked for staleness)."""
    hints = typing.get_type_hints(UseCaseFiles).values()  # an optional file (prompts.yaml) is `Model | None`
    # Only file models: `golden_dir` is the golden set's folder, read by the evaluation, not a settings file.
    file_models = {
        arg for hint in hints for arg in (typing.get_args(hint) or (hint,)) if arg is not type(None) and arg is not Path
    }
    assert file_models | {KitConfig} == config_reference.RENDERED_MODELS
    pages = {(page, *config_reference.markers(name)) for page, name in config_reference.STAGE_FILES.values()}
    assert pages <= {(page, start, end) for page, start, end, _ in config_reference.PAGES}


def test_a_tagged_union_lists_its_members_and_names_them_on_each_field():
    """knowledge.yaml's `chunking`: one row for `strategy`, each other field once, with the strategies it takes."""
    rows = config_reference.model_table(KnowledgeSettings)
    strategy = [r for r in rows if r.startswith("| `chunking.strategy`")]
    assert len(strategy) == 1
    assert "`fixed` \\| `hierarchical` \\| `semantic` \\| `none` | `fixed` |" in strategy[0]
    assert [r for r in rows if r.startswith("| `chunking.max_tokens`")] == [
        "| `chunking.max_tokens` (strategy `fixed`, `semantic`) | int | `300` | Chunk size in tokens. (ge=1, le=8192) |"
    ]
