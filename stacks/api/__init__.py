"""Api stage: the REST API with streaming, Cognito, WAF, quotas and conversation memory (issue 11).

- `stack`: `ApiStack` and `ApiProps`, the REST API, its two functions and the daily fine-tuning export.
- `settings`: usecases/<id>/api.yaml (`ApiFileSettings`), optional, validated with one-line errors.
- `access`: what the stack uses of other stacks (guardrail, knowledge base, agent, prompts), as protocols the
  kit's stacks satisfy and small `Imported*` classes for a team's own resources.
- `users`, `firewall`, `tables`, `request_models`, `web_adapter`: the user pool, the WAF web ACL, the tables,
  the JSON-schema request models and the Lambda Web Adapter layer.
"""
