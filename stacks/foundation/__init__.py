"""Foundation stage: the key, access-log bucket and alarm topic every other stack builds on.

- `stack`: `FoundationStack` and its props.
"""
