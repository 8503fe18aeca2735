"""Safety library: validation, sanitization, injection prefilter, Comprehend and guardrail checks.

One module per concern; `chain.SafetyChain` runs them (see docs/security.md).
"""
