"""`python -m tools.evaluate`: the scheduled evaluation's scores, locally, for one predictions file.

    python -m tools.evaluate --predictions p.jsonl --references g.jsonl [--kind text|label|span]
                             [--model MODEL_ID] [--usecase ID]

``--references`` is a golden file (usecases/<id>/golden/<task>.jsonl: ``id``, ``reference``, optional
``variables``), ``--predictions`` a predictions file in `make prompts-eval`'s format (optional header line, then
``id``, ``output``, ``latency_ms``, ``input_tokens``, ``output_tokens``, optional ``logprobs``), one line per
golden case. Both are read by tools/prompt_eval.py's readers and scored by the library the deployed evaluation
uses (lambdas/common/evaluation/scoring.py), so the table shows the very numbers the dashboard would:
BLEU, ROUGE-1/2/L and WER for a text task, F1 and exact match for classify (label) and extract (span) tasks,
latency p50/p90, tokens, the cost at ``--model``'s price, and perplexity ("unavailable" without log-probabilities).
The kind defaults to the references file's name (classify.jsonl: label; extract.jsonl: span; else text).

``--usecase ID`` also applies the gate with that use case's thresholds (usecase.yaml `evaluation`) and prints
the verdict. Exit codes: 0 scored (and passed, with ``--usecase``); 1 the gate failed; 2 bad input.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from stacks.config import USECASES_DIR, ConfigError, load_usecase
from tools.prompt_eval import EXAMPLE_TITLE, PromptEvalError, load_golden, load_predictions

# isort: split
from common.evaluation import cost as costs
from common.evaluation import gate, perplexity, scoring

NAME = "evaluate"
EXIT_OK, EXIT_GATE, EXIT_INPUT = 0, 1, 2


def format_table(scores: scoring.Scores, price: costs.Price | None) -> str:
    rows = [(name, f"{value:.2f}" if name == "BLEU" else f"{value:.3f}") for name, value in scores.quality.items()]
    rows += [
        ("Perplexity", perplexity.describe(scores.perplexity)),
        ("Latency p50 ms", f"{scores.latency_p50_ms:.0f}"),
        ("Latency p90 ms", f"{scores.latency_p90_ms:.0f}"),
        ("Input tokens", str(scores.input_tokens)),
        ("Output tokens", str(scores.output_tokens)),
        ("Cost", costs.describe(costs.cost(scores.input_tokens, scores.output_tokens, price))),
    ]
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name.ljust(width)}  {value}" for name, value in rows)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=f"python -m tools.{NAME}", description=__doc__.splitlines()[0])
    parser.add_argument("--predictions", type=Path, required=True, help="predictions JSONL (prompts-eval format)")
    parser.add_argument("--references", type=Path, required=True, help="golden JSONL: id, reference")
    parser.add_argument("--kind", choices=sorted(scoring.QUALITY_METRICS), help="default: from the references name")
    parser.add_argument("--model", help="model or inference-profile id, for the cost column")
    parser.add_argument("--usecase", help="apply this use case's thresholds (usecase.yaml `evaluation`)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None, *, root: Path = USECASES_DIR) -> int:
    args = parse_args(argv)
    kind = args.kind or scoring.task_kind(args.references.stem)
    try:
        cases = load_golden(args.references, None)
        predictions = load_predictions(args.predictions, cases)
        thresholds = load_usecase(args.usecase, root).evaluation_for(NAME).gate_thresholds() if args.usecase else None
    except (PromptEvalError, ConfigError) as exc:
        for line in str(exc).splitlines():
            print(f"{NAME}: {line}", file=sys.stderr)
        return EXIT_INPUT
    rows = [predictions.by_id[case.id] for case in cases]
    scores = scoring.score(
        kind,
        [
            scoring.Scored(p.output, case.reference, p.latency_ms, p.input_tokens, p.output_tokens, p.logprobs)
            for p, case in zip(rows, cases, strict=True)
        ],
    )
    title = f"{args.predictions.name} against {args.references.name} ({kind} task, {scores.count} cases)"
    if predictions.kind == "example":
        title += f" - {EXAMPLE_TITLE}"
    print(title)
    print(format_table(scores, costs.price_of(args.model) if args.model else None))
    if thresholds is None:
        return EXIT_OK
    values = scores.values()
    verdict = gate.gate(values, {m: v for m, v in thresholds.items() if m in values})
    print(f"gate ({args.usecase}): {'PASSED' if verdict.passed else 'FAILED'}")
    for reason in verdict.reasons:
        print(f"- {reason.message}")
    return EXIT_OK if verdict.passed else EXIT_GATE


if __name__ == "__main__":
    sys.exit(main())
