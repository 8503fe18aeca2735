"""The evaluation library: metric values for model output against references, shared by `make prompts-eval`
(tools/prompt_eval.py) and the observability stage's scheduled evaluation.

- `text_metrics`: BLEU (sacrebleu), ROUGE-1/2/L (rouge-score), WER (jiwer): the libraries' own values.
- `label_metrics`: exact match, SQuAD token F1 (extract tasks), macro-F1 (classify tasks).
- `cost`: tokens x the price per 1K tokens of a pinned table.
- `perplexity`: from token log-probabilities only; unavailable otherwise, never estimated.

The submodules are imported by name: `text_metrics` needs the evaluation layer (requirements-evaluation.txt),
the others only the standard library, so this package imports none of them.
"""
