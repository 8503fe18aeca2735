"""Prompts of prompts.yaml at run time: `{{variable}}` templates, the chain runner, the serving contract.

- `template`: parse and strictly render `{{variable}}` templates (also what the Prompts stack checks at synth).
- `chain`: `run_chain(steps, variables, invoke)`, an ordered chain of prompts with an injected model call.
- `contract`: `TaskPrompts`, the JSON of `/<prefix>/prompts/<task>`, and `stored_prompt` for a GetPrompt response.

Standard library and pydantic only (pydantic comes with the Powertools layer).
"""
