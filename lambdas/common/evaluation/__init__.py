"""The evaluation library: metric values for model output against references, shared by `make prompts-eval`
(tools/prompt_eval.py) and the observability stage's scheduled evaluation.

- `text_metrics`: BLEU (sacrebleu), ROUGE-1/2/L (rouge-score), WER (jiwer): the libraries' own values.
- `label_metrics`: exact match, SQuAD token F1 (extract tasks), macro-F1 (classify tasks).
- `cost`: tokens x the price per 1K tokens of a pinned table.
- `perplexity`: from token log-probabilities only; unavailable otherwise, never estimated.
- `scoring`: every metric of one task's predictions by task kind (`kinds`: the kinds and metric names alone).
- `gate`: pass or fail on thresholds and the margin to a baseline; `compare` for model acceptance.

The submodules are imported by name: `text_metrics` (and `scoring`, which uses it) needs the evaluation layer
(requirements-evaluation.txt), the others only the standard library, so this package imports none of them.
"""
