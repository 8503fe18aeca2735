"""Prompt-security stage: the `Guardrails` stack and the models of guardrail.yaml and safety.yaml.

- `guardrail`: `Guardrail`, the construct of one Bedrock guardrail, the version of its current policy and
  `grant_apply`.
- `stack`: `GuardrailsStack` and `GuardrailsProps`: the Bedrock guardrail, its versions, the optional custom
  Comprehend models, and the grants a function using the safety library needs.
- `policy`: `GuardrailPolicy`, the model of usecases/<id>/guardrail.yaml.
- `safety_settings`: `SafetyConfig`, the model of usecases/<id>/safety.yaml (the runtime safety library's settings).
"""
