"""`make prompts-eval` (tools/prompt_eval.py): offline on the shipped example end to end, --select on a copy,
online through a stubbed bedrock-runtime client (botocore's own model checks every request), bad inputs."""

from __future__ import annotations

import difflib
import json
import re
import shlex
import shutil
import struct
import zlib
from pathlib import Path

import boto3
import pytest
import yaml
from botocore.stub import ANY, Stubber
from common.evaluation import label_metrics

from stacks.config import REPO_ROOT as ROOT
from stacks.config import USECASES_DIR
from stacks.prompts.settings import load_prompts_settings
from tools import prompt_eval

USECASE = "customer-retention"
GOLDEN = USECASES_DIR / USECASE / "golden"
EXAMPLE = GOLDEN / "predictions" / "classify" / "few-shot.jsonl"


def readme_command() -> list[str]:
    """The README's `make prompts-eval ...` command (its make-target table row), as the tool's arguments."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    (row,) = [line for line in text.splitlines() if line.startswith("| `make prompts-eval")]
    command = re.match(r"\| `([^`]+)`", row)
    assert command
    words = shlex.split(command[1])
    assert words[:2] == ["make", "prompts-eval"]
    recipe = (ROOT / "Makefile").read_text(encoding="utf-8").split("\nprompts-eval:", 1)[1].split("\n\n", 1)[0]
    assert (
        '$(PY) -m tools.prompt_eval $(if $(USECASE),--usecase "$(USECASE)") $(if $(TASK),--task "$(TASK)") '
        "$(PROMPTS_EVAL_ARGS)" in recipe
    )
    flags = {"USECASE": "--usecase", "TASK": "--task"}
    arguments = []
    for word in words[2:]:
        name, _, value = word.partition("=")
        arguments += shlex.split(value) if name == "PROMPTS_EVAL_ARGS" else [flags[name], value]
    return arguments


def docs_commands() -> list[list[str]]:
    text = (ROOT / "docs" / "evaluation.md").read_text(encoding="utf-8")
    found = []
    for line in re.findall(r"^make prompts-eval[^\n]*", text, re.M):
        words = shlex.split(line.split("  #")[0])
        arguments = []
        for word in words[2:]:
            name, _, value = word.partition("=")
            flags = {"USECASE": "--usecase", "TASK": "--task"}
            arguments += shlex.split(value) if name == "PROMPTS_EVAL_ARGS" else [flags[name], value]
        found.append(arguments)
    assert len(found) == 3
    return found


def png_title(path: Path) -> str:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    offset = 8
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        body = data[offset + 8 : offset + 8 + length]
        if kind == b"tEXt" and body.startswith(b"Title\0"):
            return body.split(b"\0", 1)[1].decode("latin-1")
        if kind == b"iTXt" and body.startswith(b"Title\0"):
            fields = body.split(b"\0", 5)
            text = fields[5]
            return (zlib.decompress(text) if fields[1] == b"\x01" else text).decode("utf-8")
        offset += 12 + length
    raise AssertionError("no Title in the PNG")


def run(capsys, *arguments, **kwargs) -> tuple[int, str, str]:
    code = prompt_eval.main(list(arguments), **kwargs)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def offline(monkeypatch):
    monkeypatch.setattr(prompt_eval, "has_credentials", lambda: False)


def test_the_readme_command_runs_offline_on_the_shipped_example(offline, tmp_path, capsys):
    """No credentials: the default is offline; the only predictions are the example file, and it says so."""
    code, out, err = run(capsys, *readme_command(), "--out", str(tmp_path))
    assert (code, err) == (0, "")
    assert out.startswith(f"prompts-eval: {USECASE}, offline\n")
    tables = out.split("\n\n")
    answer, summarize, classify = tables[1], tables[2], tables[3]
    assert "no predictions for any variant" in answer
    assert "no predictions for any variant" in summarize
    assert re.search(r"^-\s+extract-then-answer\s+multi-prompt\s+no predictions$", answer, re.M)
    title, header, first, second, chart = classify.splitlines()[:5]
    assert title == (f"{USECASE} / classify (label task; primary metric macro-F1) - EXAMPLE DATA — not model output")
    assert header.split() == [
        *["rank", "variant", "technique", "macro-F1", "exact"],
        *["p50", "ms", "in", "tok", "out", "tok", "cost", "perplexity"],
    ]
    # The figures are the library's on the example file, computed here independently.
    cases = [json.loads(line) for line in (GOLDEN / "classify.jsonl").read_text().splitlines()]
    rows = [json.loads(line) for line in EXAMPLE.read_text().splitlines()]
    assert "hand-written example output, not model output" in rows[0]["header"]["note"]
    outputs = {row["id"]: row["output"] for row in rows[1:]}
    predicted = [outputs[case["id"]] for case in cases]
    references = [case["reference"] for case in cases]
    macro = label_metrics.macro_f1(predicted, references, {c["reference"] for c in cases})
    exact = label_metrics.exact_match(predicted, references)
    tokens_in = sum(row["input_tokens"] for row in rows[1:])
    tokens_out = sum(row["output_tokens"] for row in rows[1:])
    assert first.split()[:5] == ["1", "few-shot", "few-shot", f"{macro:.3f}", f"{exact:.3f}"]
    assert first.split()[-2:] == [f"${tokens_in * 0.001 / 1000 + tokens_out * 0.005 / 1000:.6f}", "unavailable"]
    assert second.split() == ["-", "chain-of-thought", "chain-of-thought", "no", "predictions"]
    assert chart == f"chart: {tmp_path / 'classify.png'}"
    assert png_title(tmp_path / "classify.png").endswith("EXAMPLE DATA — not model output")
    assert not (tmp_path / "answer.png").exists()


def test_the_docs_commands_are_the_tools(offline, tmp_path, capsys):
    first, second, third = docs_commands()
    assert run(capsys, *first, "--out", str(tmp_path))[0] == 0
    code, out, _ = run(capsys, *second, "--out", str(tmp_path))
    assert code == 0
    assert "classify" in out
    assert "summarize" not in out
    assert third[-2:] == ["--online", "--select"]  # online: exercised with a stubbed client below
    assert prompt_eval.parse_args(third).select


def test_select_refuses_example_data_and_leaves_prompts_yaml_alone(offline, tmp_path, capsys):
    root = copy_usecase(tmp_path)
    before = (root / USECASE / "prompts.yaml").read_bytes()
    code, _, err = run(
        capsys, "--usecase", USECASE, "--task", "classify", "--select", "--out", str(tmp_path), root=root
    )
    assert code == 1
    assert err == "prompts-eval: --select: classify: refused, the predictions include example data\n"
    assert (root / USECASE / "prompts.yaml").read_bytes() == before


def copy_usecase(tmp_path: Path) -> Path:
    root = tmp_path / "usecases"
    shutil.copytree(USECASES_DIR / USECASE, root / USECASE, ignore=shutil.ignore_patterns("sample-data"))
    return root


def write_predictions(folder: Path, task: str, variant: str, outputs: dict[str, str], **extra) -> None:
    path = folder / task / f"{variant}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps({"header": {"kind": "model", "model_id": "test"}})]
    for case_id, output in outputs.items():
        row = {"id": case_id, "output": output, "latency_ms": 100, "input_tokens": 10, "output_tokens": 1, **extra}
        lines.append(json.dumps(row))
    path.write_text("\n".join(lines) + "\n")


def golden(task: str) -> list[dict]:
    return [json.loads(line) for line in (GOLDEN / f"{task}.jsonl").read_text().splitlines()]


def test_select_writes_the_winner_and_changes_nothing_else(offline, tmp_path, capsys):
    root = copy_usecase(tmp_path)
    predictions = tmp_path / "predictions"
    cases = golden("classify")
    write_predictions(predictions, "classify", "few-shot", {c["id"]: "other" for c in cases})
    write_predictions(predictions, "classify", "chain-of-thought", {c["id"]: c["reference"] for c in cases})
    prompts = root / USECASE / "prompts.yaml"
    before = prompts.read_text()
    code, out, err = run(
        capsys,
        *["--usecase", USECASE, "--task", "classify", "--select"],
        *["--predictions", str(predictions), "--out", str(tmp_path)],
        root=root,
    )
    assert (code, err) == (0, "")
    assert "EXAMPLE" not in out
    assert "selected: classify -> chain-of-thought" in out
    assert re.search(r"^1\s+chain-of-thought\s+chain-of-thought\s+1\.000\s+1\.000", out, re.M)
    after = prompts.read_text()
    settings = load_prompts_settings(USECASE, root)
    assert settings is not None
    assert {v.name: v.selected for v in settings.tasks["classify"].variants} == {
        "few-shot": False,
        "chain-of-thought": True,
    }
    # Only the selection lines changed: few-shot's value, and one line added under chain-of-thought's name.
    diff = [
        line
        for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    assert diff == ["-        selected: true", "+        selected: false", "+        selected: true"]
    assert after.count("# ") == before.count("# ")  # comments kept
    assert png_title(tmp_path / "classify.png") == f"{USECASE} / classify (label task; primary metric macro-F1)"


SAMPLE = """\
# a comment that must stay
tasks:
  t:
    variables: [x]  # inline comment
    variants:
      - name: a
        technique: few-shot
        selected: true   # the old winner
        template: "{{x}}"
      - {name: b, technique: few-shot, selected: false, template: '{{x}}'}
      - name: c
        technique: chain-of-thought
        template: |
          {{x}}
"""


def test_select_winner_edits_values_in_place():
    assert prompt_eval.select_winner(SAMPLE, "t", "b") == SAMPLE.replace(
        "selected: true   # the old winner", "selected: false   # the old winner"
    ).replace("selected: false, template", "selected: true, template")
    to_c = prompt_eval.select_winner(SAMPLE, "t", "c")
    assert to_c == SAMPLE.replace("selected: true   #", "selected: false   #").replace(
        "      - name: c\n", "      - name: c\n        selected: true\n"
    )
    assert prompt_eval.select_winner(SAMPLE, "t", "a") == SAMPLE
    with pytest.raises(prompt_eval.PromptEvalError, match="no variant named 'z'"):
        prompt_eval.select_winner(SAMPLE, "t", "z")
    with pytest.raises(prompt_eval.PromptEvalError, match=r"tasks\.u\.variants: not found"):
        prompt_eval.select_winner(SAMPLE, "u", "a")
    flow = SAMPLE.replace("selected: false, ", "")
    with pytest.raises(prompt_eval.PromptEvalError, match="flow mapping without `selected`"):
        prompt_eval.select_winner(flow, "t", "b")


def test_online_runs_each_variant_through_converse_and_saves_its_predictions(tmp_path, capsys):
    root = copy_usecase(tmp_path)
    cases = golden("classify")[:2]
    (root / USECASE / "golden" / "classify.jsonl").write_text("".join(json.dumps(c) + "\n" for c in cases))
    client = boto3.client("bedrock-runtime", region_name="eu-west-1")
    settings = load_prompts_settings(USECASE, root)
    assert settings is not None
    few_shot = settings.tasks["classify"].variants[0]
    with Stubber(client) as stub:
        for variant_index in range(2):
            for case in cases:
                answer = case["reference"] if variant_index == 1 else "<label>other</label>"
                expected = ANY
                if variant_index == 0:
                    assert few_shot.template is not None
                    assert few_shot.system is not None
                    expected = {
                        "modelId": "global.anthropic.claude-haiku-4-5-20251001-v1:0",
                        "messages": [
                            {
                                "role": "user",
                                "content": [
                                    {"text": few_shot.template.replace("{{notes}}", case["variables"]["notes"])}
                                ],
                            }
                        ],
                        "system": [{"text": few_shot.system}],
                        "inferenceConfig": {"temperature": 0.0, "maxTokens": 5},
                    }
                stub.add_response(
                    "converse",
                    {
                        "output": {"message": {"role": "assistant", "content": [{"text": answer}]}},
                        "stopReason": "end_turn",
                        "usage": {"inputTokens": 300, "outputTokens": 2, "totalTokens": 302},
                        "metrics": {"latencyMs": 400},
                    },
                    expected
                    if isinstance(expected, dict)
                    else {"modelId": ANY, "messages": ANY, "inferenceConfig": ANY},
                )
        predictions = tmp_path / "predictions"
        code, out, err = run(
            capsys,
            *["--usecase", USECASE, "--task", "classify", "--predictions", str(predictions), "--out", str(tmp_path)],
            bedrock=client,
            root=root,
        )
        stub.assert_no_pending_responses()
    assert (code, err) == (0, "")
    assert "online (Bedrock global.anthropic.claude-haiku-4-5-20251001-v1:0)" in out
    assert "EXAMPLE" not in out
    saved = [
        json.loads(line) for line in (predictions / "classify" / "chain-of-thought.jsonl").read_text().splitlines()
    ]
    assert saved[0]["header"]["kind"] == "model"
    assert saved[0]["header"]["model_id"] == "global.anthropic.claude-haiku-4-5-20251001-v1:0"
    assert [row["output"] for row in saved[1:]] == [c["reference"] for c in cases]
    assert [row["input_tokens"] for row in saved[1:]] == [300, 300]
    assert re.search(r"^1\s+chain-of-thought\s+chain-of-thought\s+1\.000", out, re.M)
    # cost of the golden set: 2 cases x (300 in, 2 out) at $1/$5 per 1M tokens
    assert f"${(600 * 1 + 4 * 5) / 1e6:.6f}" in out


def test_a_failed_bedrock_call_is_exit_3(tmp_path, capsys):
    root = copy_usecase(tmp_path)
    client = boto3.client("bedrock-runtime", region_name="eu-west-1")
    with Stubber(client) as stub:
        stub.add_client_error("converse", "AccessDeniedException", "not authorized to invoke this model")
        code, out, err = run(
            capsys,
            *["--usecase", USECASE, "--task", "classify", "--online", "--predictions", str(tmp_path / "p")],
            bedrock=client,
            root=root,
        )
    assert code == 3
    assert out == ""
    assert err.startswith("prompts-eval: bedrock-runtime converse (global.anthropic.claude-haiku-4-5-20251001-v1:0): ")
    assert "AccessDeniedException" in err
    assert len(err.splitlines()) == 1


def test_nothing_to_score_is_exit_1(offline, tmp_path, capsys):
    code, out, err = run(capsys, "--usecase", USECASE, "--task", "answer", "--out", str(tmp_path))
    assert code == 1
    assert "no predictions for any variant" in out
    assert err == "prompts-eval: no predictions to score; run online or add predictions files\n"


@pytest.mark.parametrize(
    ("change", "arguments", "message"),
    [
        (
            None,
            ["--task", "translate"],
            "--task translate: no such task in prompts.yaml (tasks: answer, summarize, classify)",
        ),
        ("unknown-id", [], "predictions/classify/few-shot.jsonl:3: id: 'classify-999' is not a case of the golden set"),
        ("missing-id", [], "predictions/classify/few-shot.jsonl: no prediction for 1 golden case(s): classify-030"),
        ("missing-variable", [], "golden/classify.jsonl:2: variables: missing notes (the task declares ['notes'])"),
        ("extra-variable", [], "golden/classify.jsonl:2: variables: channel not declared by the task"),
        ("bad-header", [], "predictions/classify/few-shot.jsonl:1: header.kind: must be one of model, example"),
        ("not-json", [], "golden/classify.jsonl:2: not JSON (Expecting property name enclosed in double quotes)"),
        ("bad-latency", [], "predictions/classify/few-shot.jsonl:2: latency_ms: must be a number >= 0"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(offline, tmp_path, capsys, change, arguments, message):
    root = copy_usecase(tmp_path)
    folder = root / USECASE / "golden"
    example = folder / "predictions" / "classify" / "few-shot.jsonl"
    lines = example.read_text().splitlines()
    cases = (folder / "classify.jsonl").read_text().splitlines()
    if change == "unknown-id":
        lines[2] = lines[2].replace("classify-002", "classify-999")
    elif change == "missing-id":
        lines = lines[:-1]
    elif change == "bad-header":
        lines[0] = json.dumps({"header": {"kind": "guess"}})
    elif change == "bad-latency":
        lines[1] = lines[1].replace('"latency_ms": ', '"latency_ms": -')
    elif change in {"missing-variable", "extra-variable"}:
        case = json.loads(cases[1])
        case["variables"] = {} if change == "missing-variable" else {**case["variables"], "channel": "chat"}
        cases[1] = json.dumps(case)
    elif change == "not-json":
        cases[1] = "{oops"
    example.write_text("\n".join(lines) + "\n")
    (folder / "classify.jsonl").write_text("\n".join(cases) + "\n")
    task = arguments or ["--task", "classify"]
    code, out, err = run(capsys, "--usecase", USECASE, *task, "--out", str(tmp_path), root=root)
    assert (code, out) == (2, "")
    assert err.startswith("prompts-eval: ")
    assert err.endswith(f"{message}\n")
    assert len(err.splitlines()) == 1


def test_unknown_use_case_is_exit_2(offline, capsys):
    code, _, err = run(capsys, "--usecase", "nope")
    assert code == 2
    assert "no such use case 'nope'" in err


def test_the_golden_sets_fit_the_tasks_and_the_example_is_marked():
    settings = load_prompts_settings(USECASE)
    assert settings is not None
    for name, task in settings.tasks.items():
        cases = prompt_eval.load_golden(GOLDEN / f"{name}.jsonl", task.variables)
        assert len(cases) >= 30, name
        assert all(case.reference.strip() for case in cases)
    labels = {case.reference for case in prompt_eval.load_golden(GOLDEN / "classify.jsonl", ["notes"])}
    assert labels == {"billing", "outage", "cancellation", "upgrade", "other"}
    shipped = sorted(p.relative_to(GOLDEN).as_posix() for p in (GOLDEN / "predictions").rglob("*.jsonl"))
    assert shipped == ["predictions/classify/few-shot.jsonl"]
    header = json.loads(EXAMPLE.read_text().splitlines()[0])["header"]
    assert header["kind"] == "example"
    assert "not model output" in header["note"]
    assert yaml.safe_load((USECASES_DIR / USECASE / "prompts.yaml").read_text())["tasks"]["classify"]
