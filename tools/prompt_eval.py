"""`make prompts-eval`: compare the prompt variants of a use case's tasks on its golden set, pick a winner.

For each task of usecases/<id>/prompts.yaml, every variant is scored on usecases/<id>/golden/<task>.jsonl
(one case a line: ``id``, ``variables`` (the task's declared variables), ``reference``):

- **online** (default when AWS credentials exist, or ``--online``): each variant runs on every case through
  Bedrock's Converse API (models.text of usecase.yaml; a multi-prompt variant as its chain) and its outputs are
  saved as a predictions file;
- **offline** (default without credentials, or ``--offline``): the predictions files already there are scored,
  saved by an earlier online run or supplied by you.

Predictions live in ``usecases/<id>/golden/predictions/<task>/<variant>.jsonl`` (``--predictions DIR`` for
another folder): an optional first line ``{"header": {"kind": "model" | "example", ...}}``, then one line per
golden case: ``id``, ``output``, ``latency_ms``, ``input_tokens``, ``output_tokens`` and optional ``logprobs``
(the output tokens' natural-log probabilities). A file whose header kind is ``example`` is hand-written example
output: every table and chart made from it is titled "EXAMPLE DATA — not model output", and ``--select``
refuses it. A variant without a predictions file is listed as "no predictions".

Scores come from lambdas/common/evaluation/. The ranking uses one **primary metric per task kind**:
ROUGE-L F1 for text tasks (answer, summarize, and any task not listed in `TASK_KINDS`), macro-F1 over the
golden set's labels for classify, SQuAD token F1 for extract; ties go to the cheaper, then the faster variant.
Also shown: BLEU, ROUGE-1/2, WER (text); exact match (label, span); median latency, mean tokens per case, the
cost of the whole set (lambdas/common/evaluation/cost.py) and perplexity ("unavailable" unless every output has
log-probabilities; Converse returns none). A bar chart of the primary metric goes to
``.build/prompt-eval/<usecase>/<task>.png`` (``--out DIR`` for another folder).

``--select`` marks each scored task's winner ``selected: true`` in prompts.yaml (and its other variants
``false``), changing only those lines: the file keeps its comments, order and formatting.

Exit codes: 0 scored (some variants may have no predictions); 1 nothing to score (no predictions at all), or
``--select`` refused (example data); 2 bad input (unknown use case or task, invalid golden or predictions file,
a case whose variables differ from the task's); 3 a Bedrock call failed.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import yaml
from botocore.exceptions import BotoCoreError, ClientError

from stacks.common.cdk_context import load_cdk_json_context  # importing stacks puts lambdas/ on the import path
from stacks.config import REPO_ROOT, USECASES_DIR, ConfigError, load_usecase
from stacks.prompts.settings import PROMPTS_FILE, PromptsSettings, Task, Variant, load_prompts_settings

# isort: split
from common.evaluation import cost as costs
from common.evaluation import perplexity, scoring
from common.prompts.chain import ChainError, ChainStep, Usage, run_chain
from common.prompts.contract import Inference

NAME = "prompts-eval"
EXAMPLE_TITLE = "EXAMPLE DATA — not model output"
# Task kinds by task name (any other task is "text") and the table's names of the kit's metrics, in column order.
TASK_KINDS = scoring.TASK_KINDS
DISPLAY = {
    "text": {"ROUGEL": "ROUGE-L", "ROUGE1": "ROUGE-1", "ROUGE2": "ROUGE-2", "BLEU": "BLEU", "WER": "WER"},
    "label": {"F1": "macro-F1", "ExactMatch": "exact"},
    "span": {"F1": "token F1", "ExactMatch": "exact"},
}
PRIMARY = {"text": "ROUGE-L", "label": "macro-F1", "span": "token F1"}
HEADER_KINDS = ("model", "example")
OUT_DIR = REPO_ROOT / ".build" / "prompt-eval"

EXIT_OK, EXIT_NOTHING, EXIT_INPUT, EXIT_BEDROCK = 0, 1, 2, 3


class PromptEvalError(Exception):
    """A problem with the input, one line: which file or option, what is wrong."""


class BedrockError(Exception):
    """A Converse call failed (one line)."""


# ----------------------------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class Case:
    id: str
    variables: Mapping[str, str]
    reference: str


@dataclass(frozen=True)
class Prediction:
    id: str
    output: str
    latency_ms: float
    input_tokens: int
    output_tokens: int
    logprobs: tuple[float, ...] | None = None


@dataclass(frozen=True)
class Predictions:
    path: Path
    kind: str  # "model" or "example"; a file without a header counts as "model" (supplied by the user)
    by_id: Mapping[str, Prediction]


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def _json_lines(path: Path) -> list[tuple[int, Any]]:
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rows.append((number, json.loads(line)))
        except json.JSONDecodeError as exc:
            raise PromptEvalError(f"{_display(path)}:{number}: not JSON ({exc.msg})") from None
    return rows


def load_golden(path: Path, variables: Sequence[str] | None) -> list[Case]:
    """The golden cases of one task; each must carry exactly the task's declared variables (``None``: any
    variables, or none, as `python -m tools.evaluate` reads a references file)."""
    if not path.is_file():
        raise PromptEvalError(f"{_display(path)}: no golden set for this task")
    cases: list[Case] = []
    seen: set[str] = set()
    for number, row in _json_lines(path):
        where = f"{_display(path)}:{number}"
        if not isinstance(row, dict):
            raise PromptEvalError(f"{where}: a case must be a JSON object")
        case_id, values, reference = row.get("id"), row.get("variables"), row.get("reference")
        if not isinstance(case_id, str) or not case_id:
            raise PromptEvalError(f"{where}: id: must be a non-empty string")
        if case_id in seen:
            raise PromptEvalError(f"{where}: id: '{case_id}' appears twice")
        if variables is None and values is None:
            values = {}
        if not isinstance(values, dict) or not all(isinstance(v, str) for v in values.values()):
            raise PromptEvalError(f"{where}: variables: must map each variable name to a string")
        if variables is not None:
            missing = [name for name in variables if name not in values]
            unknown = [name for name in values if name not in variables]
            if missing:
                raise PromptEvalError(
                    f"{where}: variables: missing {', '.join(missing)} (the task declares {variables})"
                )
            if unknown:
                raise PromptEvalError(f"{where}: variables: {', '.join(unknown)} not declared by the task")
        if not isinstance(reference, str):
            raise PromptEvalError(f"{where}: reference: must be a string")
        seen.add(case_id)
        cases.append(Case(case_id, values, reference))
    if not cases:
        raise PromptEvalError(f"{_display(path)}: no cases")
    return cases


def _number(row: Mapping[str, Any], key: str, where: str) -> float:
    value = row.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0 or not math.isfinite(value):
        raise PromptEvalError(f"{where}: {key}: must be a number >= 0")
    return float(value)


def load_predictions(path: Path, cases: Sequence[Case]) -> Predictions:
    """One variant's predictions; every golden case exactly once, no other id."""
    rows = _json_lines(path)
    kind = "model"
    if rows and isinstance(rows[0][1], dict) and "header" in rows[0][1]:
        header = rows.pop(0)[1]["header"]
        declared = header.get("kind") if isinstance(header, dict) else None
        if not isinstance(declared, str) or declared not in HEADER_KINDS:
            raise PromptEvalError(f"{_display(path)}:1: header.kind: must be one of {', '.join(HEADER_KINDS)}")
        kind = declared
    golden = {case.id for case in cases}
    found: dict[str, Prediction] = {}
    for number, row in rows:
        where = f"{_display(path)}:{number}"
        if not isinstance(row, dict):
            raise PromptEvalError(f"{where}: a prediction must be a JSON object")
        case_id = row.get("id")
        if case_id not in golden:
            raise PromptEvalError(f"{where}: id: {case_id!r} is not a case of the golden set")
        if case_id in found:
            raise PromptEvalError(f"{where}: id: '{case_id}' appears twice")
        output = row.get("output")
        if not isinstance(output, str):
            raise PromptEvalError(f"{where}: output: must be a string")
        logprobs = row.get("logprobs")
        if logprobs is not None and (
            not isinstance(logprobs, list) or not all(isinstance(v, int | float) for v in logprobs)
        ):
            raise PromptEvalError(f"{where}: logprobs: must be a list of numbers or null")
        found[case_id] = Prediction(
            id=case_id,
            output=output,
            latency_ms=_number(row, "latency_ms", where),
            input_tokens=int(_number(row, "input_tokens", where)),
            output_tokens=int(_number(row, "output_tokens", where)),
            logprobs=tuple(float(v) for v in logprobs) if logprobs else None,
        )
    missing = [case.id for case in cases if case.id not in found]
    if missing:
        shown = ", ".join(missing[:3]) + (", ..." if len(missing) > 3 else "")
        raise PromptEvalError(f"{_display(path)}: no prediction for {len(missing)} golden case(s): {shown}")
    return Predictions(path, kind, found)


def save_predictions(path: Path, predictions: Sequence[Prediction], header: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps({"header": dict(header)})]
    for p in predictions:
        row: dict[str, Any] = {
            "id": p.id,
            "output": p.output,
            "latency_ms": round(p.latency_ms, 1),
            "input_tokens": p.input_tokens,
            "output_tokens": p.output_tokens,
        }
        if p.logprobs is not None:
            row["logprobs"] = list(p.logprobs)
        lines.append(json.dumps(row, ensure_ascii=False))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


# ----------------------------------------------------------------------------------------------- scoring


@dataclass(frozen=True)
class VariantScore:
    variant: str
    technique: str
    predictions: Predictions | None  # None: no predictions file
    metrics: Mapping[str, float] = field(default_factory=dict)
    primary: float | None = None
    latency_p50_ms: float | None = None
    input_tokens: float | None = None  # mean per case
    output_tokens: float | None = None
    cost_usd: float | None = None  # the whole golden set
    perplexity: float | None = None

    @property
    def scored(self) -> bool:
        return self.predictions is not None

    @property
    def example(self) -> bool:
        return self.predictions is not None and self.predictions.kind == "example"


def task_kind(task: str) -> str:
    return scoring.task_kind(task)


def score_variant(
    kind: str, variant: Variant, cases: Sequence[Case], predictions: Predictions, price: costs.Price | None
) -> VariantScore:
    """Every metric of one variant's predictions on the golden set (lambdas/common/evaluation/scoring.py), shown
    under this table's names."""
    rows = [predictions.by_id[case.id] for case in cases]
    scores = scoring.score(
        kind,
        [
            scoring.Scored(p.output, case.reference, p.latency_ms, p.input_tokens, p.output_tokens, p.logprobs)
            for p, case in zip(rows, cases, strict=True)
        ],
    )
    metrics = {shown: scores.quality[name] for name, shown in DISPLAY[kind].items()}
    return VariantScore(
        variant=variant.name,
        technique=variant.technique,
        predictions=predictions,
        metrics=metrics,
        primary=metrics[PRIMARY[kind]],
        latency_p50_ms=scores.latency_p50_ms,
        input_tokens=scores.input_tokens / len(rows),
        output_tokens=scores.output_tokens / len(rows),
        cost_usd=costs.cost(scores.input_tokens, scores.output_tokens, price),
        perplexity=scores.perplexity,
    )


def rank(scores: Sequence[VariantScore]) -> list[VariantScore]:
    """Scored variants by primary metric (best first; ties: cheaper, then faster, then by name), then the rest."""

    def key(score: VariantScore) -> tuple[float, float, float, str]:
        assert score.primary is not None
        cost_key = score.cost_usd if score.cost_usd is not None else math.inf
        latency = score.latency_p50_ms if score.latency_p50_ms is not None else math.inf
        return (-score.primary, cost_key, latency, score.variant)

    scored = sorted((s for s in scores if s.scored), key=key)
    return [*scored, *sorted((s for s in scores if not s.scored), key=lambda s: s.variant)]


def title_of(usecase: str, task: str, ranked: Sequence[VariantScore]) -> str:
    kind = task_kind(task)
    title = f"{usecase} / {task} ({kind} task; primary metric {PRIMARY[kind]})"
    if any(score.example for score in ranked):
        title += f" - {EXAMPLE_TITLE}"
    return title


def format_table(usecase: str, task: str, ranked: Sequence[VariantScore]) -> str:
    kind = task_kind(task)
    metric_names = list(next((s.metrics for s in ranked if s.scored), {})) or [PRIMARY[kind]]
    header = ["rank", "variant", "technique", *metric_names, "p50 ms", "in tok", "out tok", "cost", "perplexity"]
    rows: list[list[str]] = []
    for place, score in enumerate(ranked, start=1):
        if not score.scored:
            rows.append(["-", score.variant, score.technique, "no predictions"])
            continue
        assert score.latency_p50_ms is not None
        assert score.input_tokens is not None
        assert score.output_tokens is not None
        values = [f"{score.metrics[m]:.2f}" if m in {"BLEU"} else f"{score.metrics[m]:.3f}" for m in metric_names]
        rows.append(
            [
                str(place),
                score.variant,
                score.technique,
                *values,
                f"{score.latency_p50_ms:.0f}",
                f"{score.input_tokens:.1f}",
                f"{score.output_tokens:.1f}",
                costs.describe(score.cost_usd),
                perplexity.describe(score.perplexity),
            ]
        )
    full = [header, *(r for r in rows if len(r) == len(header))]
    widths = [max(len(r[i]) for r in full) for i in range(len(header))]
    lines = [title_of(usecase, task, ranked)]
    for row in [header, *rows]:
        cells = [cell.ljust(widths[i]) if i < len(row) - 1 else cell for i, cell in enumerate(row)]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def write_chart(path: Path, usecase: str, task: str, ranked: Sequence[VariantScore]) -> Path:
    """A bar chart of the primary metric of each scored variant (PNG, Agg backend); the title is embedded in the
    PNG's metadata too."""
    import matplotlib  # noqa: PLC0415 - tools only, loaded when a chart is drawn

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    scored = [s for s in ranked if s.scored and s.primary is not None]
    title = title_of(usecase, task, ranked)
    figure, axes = plt.subplots(figsize=(7, 3.5), dpi=100)
    names = [s.variant for s in scored]
    values = [s.primary if s.primary is not None else 0.0 for s in scored]
    bars = axes.bar(names, values, color="#4C72B0")
    axes.bar_label(bars, labels=[f"{v:.3f}" for v in values])
    axes.set_ylim(0, 1)
    axes.set_ylabel(PRIMARY[task_kind(task)])
    axes.set_title(
        title.replace(" - ", "\n"), fontsize=9, color="#B00020" if any(s.example for s in ranked) else "black"
    )
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png", metadata={"Title": title})
    plt.close(figure)
    return path


# ----------------------------------------------------------------------------------------------- --select


def select_winner(text: str, task: str, winner: str) -> str:
    """prompts.yaml's text with ``winner`` the only ``selected: true`` variant of ``task``.

    A minimal text edit, not a YAML dump: the positions of the ``selected`` values come from PyYAML's node
    graph, so only those values change (and a ``selected: true`` line is added after the winner's ``name``
    line when it has none); comments, order, quoting and folding stay byte for byte. The result is parsed
    again and must equal the input with only the selections changed.
    """
    root = yaml.compose(text)
    variants = _variants_node(root, task)
    edits: list[tuple[int, int, str]] = []  # (start, end, replacement) in character offsets
    names = []
    for node in variants.value:
        if not isinstance(node, yaml.MappingNode):
            raise PromptEvalError(f"{PROMPTS_FILE}: tasks.{task}.variants: each variant must be a mapping")
        keys = {key.value: (key, value) for key, value in node.value}
        name = keys["name"][1].value if "name" in keys else None
        names.append(name)
        wanted = "true" if name == winner else "false"
        if "selected" in keys:
            value = keys["selected"][1]
            edits.append((value.start_mark.index, value.end_mark.index, wanted))
        elif name == winner:
            if node.flow_style:
                raise PromptEvalError(
                    f"{PROMPTS_FILE}: tasks.{task}.variants: '{winner}' is a flow mapping without `selected`: "
                    "add `selected: false` to it by hand"
                )
            key, value = keys["name"]
            line_end = text.find("\n", value.end_mark.index)
            line_end = len(text) if line_end < 0 else line_end
            edits.append((line_end, line_end, "\n" + " " * key.start_mark.column + "selected: true"))
    if winner not in names:
        raise PromptEvalError(f"{PROMPTS_FILE}: tasks.{task}: no variant named '{winner}'")
    edited = text
    for start, end, replacement in sorted(edits, reverse=True):
        edited = edited[:start] + replacement + edited[end:]
    before, after = yaml.safe_load(text), yaml.safe_load(edited)
    for variant in before["tasks"][task]["variants"]:
        variant["selected"] = variant.get("name") == winner
    for variant in after["tasks"][task]["variants"]:
        variant.setdefault("selected", False)
    if before != after:  # pragma: no cover - a bug in the edit above, never a user error
        raise AssertionError("the edit of prompts.yaml changed more than the selections")
    return edited


def _variants_node(root: yaml.Node | None, task: str) -> yaml.SequenceNode:
    def child(node: yaml.Node | None, name: str) -> yaml.Node | None:
        if isinstance(node, yaml.MappingNode):
            return next((value for key, value in node.value if key.value == name), None)
        return None

    variants = child(child(child(root, "tasks"), task), "variants")
    if not isinstance(variants, yaml.SequenceNode):
        raise PromptEvalError(f"{PROMPTS_FILE}: tasks.{task}.variants: not found")
    return variants


# ----------------------------------------------------------------------------------------------- online


def steps_of(task_name: str, variant: Variant) -> list[ChainStep]:
    """A variant as chain steps: a multi-prompt variant's steps, or one step named after the task."""
    if variant.steps:
        return [ChainStep(step.name, step.template, step.system) for step in variant.steps]
    assert variant.template is not None
    return [ChainStep(task_name, variant.template, variant.system)]


def converse_invoke(client: Any, model_id: str) -> Callable[[str, str | None, Inference], tuple[str, Usage]]:
    """The chain's ``invoke`` over Bedrock Converse."""

    def invoke(prompt: str, system: str | None, inference: Inference) -> tuple[str, Usage]:
        request: dict[str, Any] = {
            "modelId": model_id,
            "messages": [{"role": "user", "content": [{"text": prompt}]}],
        }
        if system:
            request["system"] = [{"text": system}]
        if config := inference.converse():
            request["inferenceConfig"] = config
        try:
            response = client.converse(**request)
        except (ClientError, BotoCoreError) as exc:
            raise BedrockError(f"bedrock-runtime converse ({model_id}): {exc}") from None
        content = response["output"]["message"]["content"]
        text = "".join(block.get("text", "") for block in content)
        return text, Usage.of(response.get("usage", {}))

    return invoke


def run_variant(
    task_name: str,
    variant: Variant,
    cases: Sequence[Case],
    invoke: Callable[[str, str | None, Inference], tuple[str, Usage]],
) -> list[Prediction]:
    """One variant on every golden case (latency: the chain's wall time, model calls included)."""
    steps = steps_of(task_name, variant)
    predictions = []
    for case in cases:
        try:
            result = run_chain(steps, case.variables, invoke, inference=variant.inference)
        except ChainError as exc:
            raise PromptEvalError(f"{task_name}/{variant.name}: case {case.id}: {exc}") from None
        predictions.append(
            Prediction(case.id, result.text, result.latency_ms, result.usage.input_tokens, result.usage.output_tokens)
        )
    return predictions


# ----------------------------------------------------------------------------------------------- command


@dataclass(frozen=True)
class TaskResult:
    task: str
    ranked: list[VariantScore]
    chart: Path | None


def evaluate_task(
    usecase: str,
    name: str,
    task: Task,
    *,
    golden_dir: Path,
    predictions_dir: Path,
    out_dir: Path,
    price: costs.Price | None,
    invoke: Callable[[str, str | None, Inference], tuple[str, Usage]] | None,
    model_id: str | None,
) -> TaskResult:
    cases = load_golden(golden_dir / f"{name}.jsonl", task.variables)
    scores = []
    for variant in task.variants:
        path = predictions_dir / name / f"{variant.name}.jsonl"
        if invoke is not None:
            predictions = run_variant(name, variant, cases, invoke)
            header = {"kind": "model", "model_id": model_id, "task": name, "variant": variant.name}
            header["created"] = datetime.now(UTC).isoformat(timespec="seconds")
            save_predictions(path, predictions, header)
        if not path.is_file():
            scores.append(VariantScore(variant.name, variant.technique, None))
            continue
        scores.append(score_variant(task_kind(name), variant, cases, load_predictions(path, cases), price))
    ranked = rank(scores)
    chart = write_chart(out_dir / f"{name}.png", usecase, name, ranked) if any(s.scored for s in ranked) else None
    return TaskResult(name, ranked, chart)


def has_credentials() -> bool:
    return boto3.Session().get_credentials() is not None


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=f"make {NAME}", description=__doc__.splitlines()[0])
    parser.add_argument("--usecase", help="use case id (default: cdk.json's usecase)")
    parser.add_argument("--task", help="one task of prompts.yaml (default: every task)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--offline", action="store_true", help="score saved predictions only (default without AWS)")
    mode.add_argument("--online", action="store_true", help="run every variant through Bedrock, then score")
    parser.add_argument("--predictions", type=Path, help="predictions folder (default: golden/predictions)")
    parser.add_argument("--out", type=Path, help="chart folder (default: .build/prompt-eval/<usecase>)")
    parser.add_argument("--select", action="store_true", help="write each task's winner into prompts.yaml")
    parser.add_argument("--region", help="Bedrock Region for --online (default: the SDK's)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None, *, bedrock: Any = None, root: Path = USECASES_DIR) -> int:
    """``bedrock``: a bedrock-runtime client to use online (tests pass a stubbed one)."""
    args = parse_args(argv)
    usecase_id = args.usecase or str(load_cdk_json_context()["usecase"])
    try:
        usecase = load_usecase(usecase_id, root)
        settings = load_prompts_settings(usecase_id, root)
        if settings is None:
            raise PromptEvalError(f"usecases/{usecase_id}/{PROMPTS_FILE}: no such file: nothing to compare")
        tasks = _tasks(settings, args.task)
        online = args.online or (not args.offline and (bedrock is not None or has_credentials()))
        model_id = usecase.models.text if usecase.models else None
        invoke = None
        if online:
            if model_id is None:
                raise PromptEvalError(f"usecases/{usecase_id}/usecase.yaml: models.text: needed to run --online")
            client = bedrock or boto3.client("bedrock-runtime", region_name=args.region)
            invoke = converse_invoke(client, model_id)
        price = costs.price_of(model_id) if model_id else None
        golden_dir = root / usecase_id / "golden"
        results = [
            evaluate_task(
                usecase_id,
                name,
                task,
                golden_dir=golden_dir,
                predictions_dir=args.predictions or golden_dir / "predictions",
                out_dir=args.out or OUT_DIR / usecase_id,
                price=price,
                invoke=invoke,
                model_id=model_id,
            )
            for name, task in tasks.items()
        ]
    except (PromptEvalError, ConfigError) as exc:
        for line in str(exc).splitlines():
            print(f"{NAME}: {line}", file=sys.stderr)
        return EXIT_INPUT
    except BedrockError as exc:
        print(f"{NAME}: {exc}", file=sys.stderr)
        return EXIT_BEDROCK

    print(f"{NAME}: {usecase_id}, {'online (Bedrock ' + str(model_id) + ')' if online else 'offline'}")
    for result in results:
        print()
        print(format_table(usecase_id, result.task, result.ranked))
        if result.chart is not None:
            print(f"chart: {_display(result.chart)}")
        else:
            print("no predictions for any variant")
    if not any(s.scored for r in results for s in r.ranked):
        print(f"{NAME}: no predictions to score; run online or add predictions files", file=sys.stderr)
        return EXIT_NOTHING
    if args.select:
        return _select(root / usecase_id / PROMPTS_FILE, results)
    return EXIT_OK


def _tasks(settings: PromptsSettings, task: str | None) -> dict[str, Task]:
    if task is None:
        return dict(settings.tasks)
    if task not in settings.tasks:
        raise PromptEvalError(f"--task {task}: no such task in {PROMPTS_FILE} (tasks: {', '.join(settings.tasks)})")
    return {task: settings.tasks[task]}


def _select(path: Path, results: Sequence[TaskResult]) -> int:
    text = path.read_text(encoding="utf-8")
    for result in results:
        scored = [s for s in result.ranked if s.scored]
        if not scored:
            continue
        if any(s.example for s in scored):
            print(f"{NAME}: --select: {result.task}: refused, the predictions include example data", file=sys.stderr)
            return EXIT_NOTHING
        text = select_winner(text, result.task, scored[0].variant)
        print(f"selected: {result.task} -> {scored[0].variant}")
    path.write_text(text, encoding="utf-8")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
