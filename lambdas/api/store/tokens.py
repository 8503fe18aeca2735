"""The one token estimate of the Api stage: what bounds the conversation window and the export's records.

``estimate_tokens(text)`` is the UTF-8 length of ``text`` divided by 4, rounded up (0 for the empty text).
Four bytes per token is the usual rule of thumb for English with the BPE tokenizers of Claude, Nova, Llama
and Titan; counting bytes rather than characters keeps the estimate conservative for scripts whose
characters take several bytes and often a token each (Chinese, Japanese: 3 bytes, about 1 token). It is an
estimate for budgeting, never a bill: the model's own usage figures (Converse ``usage``) are what quotas charge.
"""

from __future__ import annotations

BYTES_PER_TOKEN = 4


def estimate_tokens(text: str) -> int:
    """ceil(len(text.encode("utf-8")) / 4)."""
    return -(-len(text.encode()) // BYTES_PER_TOKEN)
