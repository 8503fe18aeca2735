"""Where a retrieved passage came from, and the excerpt a citation shows."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

EXCERPT_CHARS = 300


def source_of(location: Mapping[str, Any] | None, fallback: str = "") -> str:
    """The URI of a Bedrock `RetrievalResultLocation`: s3Location.uri, webLocation.url, ... or ``fallback``."""
    if not location:
        return fallback
    for key, value in location.items():
        if key == "type" or not isinstance(value, Mapping):
            continue
        for name in ("uri", "url", "id"):
            if isinstance(value.get(name), str) and value[name]:
                return str(value[name])
    return fallback


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """The first ``limit`` characters of ``text``, cut at a word, with an ellipsis when cut."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat.rfind(" ", 0, limit)
    return flat[: cut if cut > limit // 2 else limit].rstrip() + "…"
