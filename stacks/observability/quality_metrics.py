"""The quality metrics the scheduled evaluation publishes and the Observability dashboard and alarms read.

One agreement in one place: the evaluation workflow (lambdas/evaluation, stacks/observability/evaluation.py)
imports these names to publish, the dashboard and the quality-regression alarm import them to read, so the two
cannot drift apart. Every metric is published with the dimensions `UseCase` (usecase.yaml `id`) and `Task` (the
golden set's task; `OVERALL_TASK` for the run as a whole). `GATE_PASSED` is 1 when the run met every threshold
and margin of the use case and 0 when it did not; the alarm reads it for `OVERALL_TASK`.
"""

from __future__ import annotations

from typing import Final

NAMESPACE: Final = "JourneyKit/Quality"  # the kit's convention: JourneyKit/<Part> (Api, Knowledge, Agent)
USECASE_DIMENSION: Final = "UseCase"
TASK_DIMENSION: Final = "Task"
DIMENSIONS: Final = (USECASE_DIMENSION, TASK_DIMENSION)
OVERALL_TASK: Final = "all"  # the Task value of the run's overall figures and of its gate verdict

BLEU: Final = "BLEU"
ROUGE1: Final = "ROUGE1"
ROUGE2: Final = "ROUGE2"
ROUGEL: Final = "ROUGEL"
WER: Final = "WER"
EXACT_MATCH: Final = "ExactMatch"
F1: Final = "F1"
PERPLEXITY: Final = "Perplexity"  # published only when the model returned token log-probabilities
GATE_PASSED: Final = "GatePassed"

# Scores in [0, 1] where higher is better, then the ones where lower is better.
HIGHER_IS_BETTER: Final = (BLEU, ROUGE1, ROUGE2, ROUGEL, EXACT_MATCH, F1)
LOWER_IS_BETTER: Final = (WER, PERPLEXITY)
SCORES: Final = (*HIGHER_IS_BETTER, *LOWER_IS_BETTER)
ALL: Final = (*SCORES, GATE_PASSED)
