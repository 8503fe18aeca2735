"""Step 4: the custom model and the base model on the same golden set, scored with the kit's evaluation library.

Each golden case becomes one user turn (`golden_prompt`: the case's variables, labelled, in file order), sent
unchanged to both models with Converse (temperature 0, ``max_tokens``), so the two runs differ only in the model.
The answers are scored by `common.evaluation.scoring.score` (BLEU, ROUGE, WER for a text task; F1 and exact
match for a label or span task): the numbers mean what they mean on the quality dashboard and in
``make prompts-eval``. A model call that fails fails the step (the workflow reports it): a half-scored run is
never compared.

The custom model is invoked through its evaluation deployment (an on-demand custom model deployment: Bedrock
serves a custom model only through a deployment or provisioned throughput), the base model by its model or
inference-profile id.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from common.clients import client
from common.evaluation.scoring import Scored, Scores, score, task_kind
from common.observability import powertools

from finetune.contract import FinetuneSettings, GoldenCase, settings_from_deployment

logger, tracer = powertools()


def golden_prompt(case: GoldenCase) -> str:
    """The user turn for one golden case: each variable as ``name:`` then its value, in the file's order."""
    return "\n\n".join(f"{name}:\n{value}" for name, value in case.variables.items())


def run_golden(
    runtime: Any,
    model_id: str,
    cases: Sequence[GoldenCase],
    *,
    max_tokens: int,
    clock: Callable[[], float] = time.perf_counter,
) -> list[Scored]:
    """One Converse call per case on ``model_id``; the answers with their latency and token counts."""
    scored = []
    for case in cases:
        started = clock()
        response = runtime.converse(
            modelId=model_id,
            messages=[{"role": "user", "content": [{"text": golden_prompt(case)}]}],
            inferenceConfig={"temperature": 0, "maxTokens": max_tokens},
        )
        latency = (clock() - started) * 1000
        content = response.get("output", {}).get("message", {}).get("content", [])
        usage = response.get("usage", {})
        scored.append(
            Scored(
                output="".join(part.get("text", "") for part in content),
                reference=case.reference,
                latency_ms=round(latency, 3),
                input_tokens=int(usage.get("inputTokens", 0)),
                output_tokens=int(usage.get("outputTokens", 0)),
            )
        )
    return scored


def scores_dict(scores: Scores) -> dict[str, Any]:
    return {
        "kind": scores.kind,
        "count": scores.count,
        "values": scores.values(),
        "input_tokens": scores.input_tokens,
        "output_tokens": scores.output_tokens,
    }


def evaluate_custom_against_base(
    custom_model: str,
    *,
    settings: FinetuneSettings,
    runtime: Any,
    clock: Callable[[], float] = time.perf_counter,
) -> dict[str, Any]:
    """Both models on the golden set: ``{"custom": scores, "base": scores}`` (see `scores_dict`)."""
    kind = task_kind(settings.task)
    results = {}
    for side, model_id in (("custom", custom_model), ("base", settings.base_inference_model)):
        cases = run_golden(runtime, model_id, settings.golden, max_tokens=settings.max_tokens, clock=clock)
        results[side] = {"model": model_id, **scores_dict(score(kind, cases))}
    return results


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = evaluate_custom_against_base(
        str(event["custom_model"]), settings=settings_from_deployment(), runtime=client("bedrock-runtime")
    )
    logger.info("golden-set comparison", extra={side: result[side]["values"] for side in ("custom", "base")})
    return result
