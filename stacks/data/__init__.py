"""Data-evaluation stage: the `Data` stack and the model of usecases/<id>/data.yaml.

- `stack`: `DataStack` and `DataProps`, composed of the four modules below.
- `stores`: buckets (and the prefixes inside them), audit trail, run tables, hash salt.
- `functions`: one function per pipeline step, their settings layer and their grants.
- `orchestration`: the Step Functions workflow and the rule that starts it.
- `monitoring`: run metrics and alarms.
- `settings`: `DataSettings`, data.yaml's model, and the slice of it each step receives.
"""
