"""Observability stage: the journey seen whole (issue 13).

- `stack`: `ObservabilityStack` and `ObservabilityProps`: the dashboard, the alarms, the investigations, opt-in
  model invocation logging and, where the use case has a golden set, the scheduled quality evaluation.
- `evaluation`: `QualityEvaluation`, that evaluation and its gate (docs/observability-evaluation.md).
- `dashboard`, `alarms`, `queries`, `invocation_logging`: one concern each; `journey_metrics` reads every metric the
  way its publisher writes it, `signals` names what is observed (filled by stacks/stage.py or by a team).
- `quality_metrics`: the names the scheduled evaluation (`evaluation`) publishes and the dashboard reads.
- `settings`: usecases/<id>/observability.yaml (`ObservabilitySettings`), optional, validated with one-line errors.
"""
