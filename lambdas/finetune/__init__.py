"""The fine-tuning workflow's functions: validate, evaluate, gate, approval request, report (stacks/scale)."""
