"""The scheduled quality evaluation: the golden set through the serving pipeline in process, scored, gated.

Two functions of one Step Functions workflow (stacks/observability/evaluation.py): `run_task` sends one task's
golden cases through `api.pipeline.ChatPipeline` (the chat functions' own code and clients, not HTTP) and writes
its predictions to the reports bucket; `score` scores every task with the shared evaluation library, applies the
gate, writes the JSON and Markdown report, puts the metrics to CloudWatch, moves the last accepted run forward
when the gate passes, and fails the execution when it does not.
"""
