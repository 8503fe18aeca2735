"""The store's refusals, which the app turns into HTTP answers (404 and 429 + Retry-After)."""

from __future__ import annotations


class SessionNotFound(LookupError):  # noqa: N818 - the name agreed in INTERFACES.md
    """No such session for this user: absent, expired, malformed, or another user's (the same answer for all)."""

    def __init__(self, session_id: str) -> None:
        super().__init__(f"no session {session_id!r}")
        self.session_id = session_id


class QuotaExceeded(Exception):  # noqa: N818 - the name agreed in INTERFACES.md
    """The caller's allowance of ``kind`` ("requests_per_minute" or "tokens_per_day") is spent; it renews in
    ``retry_after`` whole seconds (at the next UTC minute or UTC day)."""

    def __init__(self, retry_after: int, kind: str) -> None:
        super().__init__(f"quota {kind} exceeded; retry after {retry_after} s")
        self.retry_after = retry_after
        self.kind = kind
