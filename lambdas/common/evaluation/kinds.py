"""Task kinds and the quality metrics of each, by the kit's metric names: the standard library only, so code that
needs the names (the scale stage's acceptance rules, a gate) runs without the evaluation layer; the scores
themselves come from `scoring`, which needs it.

Task kinds (`task_kind`, by task name): ``classify`` is a **label** task, ``extract`` a **span** task, any other
a **text** task.
"""

from __future__ import annotations

TEXT, LABEL, SPAN = "text", "label", "span"
TASK_KINDS = {"classify": LABEL, "extract": SPAN}
QUALITY_METRICS = {
    TEXT: ("BLEU", "ROUGE1", "ROUGE2", "ROUGEL", "WER"),
    LABEL: ("F1", "ExactMatch"),
    SPAN: ("F1", "ExactMatch"),
}


def task_kind(task: str) -> str:
    return TASK_KINDS.get(task, TEXT)
