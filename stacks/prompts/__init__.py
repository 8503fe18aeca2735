"""Prompt-design stage: the `Prompts` stack and the model of prompts.yaml.

- `settings`: `PromptsSettings`, the model of usecases/<id>/prompts.yaml (tasks, variants, techniques, variables,
  inference settings), with the variable checks run before anything is synthesized.
- `prompt`: `ManagedPrompt`, one Bedrock Prompt Management prompt of one variant and the version of its content.
- `stack`: `PromptsStack` and `PromptsProps`: every variant as a prompt, the selected ones exported for the
  serving stage (attributes, one SSM parameter per task, outputs), and the grants a caller needs.
"""
