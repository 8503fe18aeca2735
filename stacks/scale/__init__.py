"""Scale stage: the `Scale` stack, two opt-ins that bill while they run.

- `settings`: the `hosted_model` and `fine_tuning` sections of usecases/<id>/scale.yaml (the TCO tool reads its
  own keys of the same file) and the golden cases the fine-tuning gate scores.
- `hosted_model`: `HostedModel`, an open-weights model on a SageMaker endpoint with the LMI container, quantized
  as configured, autoscaled (to zero through inference components), CMK-encrypted.
- `fine_tuning`: `FineTuningWorkflow`, the Step Functions workflow from the thumbs-up export to a promoted custom
  model: validate, customize, evaluate against the base, gate, human approval, promote, report.
- `stack`: `ScaleStack` and `ScaleProps`.
"""
