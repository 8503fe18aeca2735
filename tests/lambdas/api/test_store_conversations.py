"""Conversation memory against moto DynamoDB: the token-bounded window, sessions, isolation, TTL."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from api.chat import Turn
from api.store import Conversations, SessionNotFound, estimate_tokens

from tests.lambdas.api.store_world import AtomicUpdates, Clock, mocked_table, raw_items

NOW = 1_714_564_800.0  # 2024-05-01T12:00:00Z
TABLE = "conversations"


@pytest.fixture
def db() -> Iterator[Any]:
    with mocked_table(TABLE) as client:
        yield client


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def conversations(db: Any, clock: Clock) -> Conversations:
    return Conversations(TABLE, db, clock=clock, ttl_days=30)


def u(text: str) -> Turn:
    return Turn(role="user", text=text)


def a(text: str) -> Turn:
    return Turn(role="assistant", text=text)


@pytest.mark.parametrize(
    ("text", "tokens"),
    [("", 0), ("abc", 1), ("abcd", 1), ("abcde", 2), ("é" * 2, 1), ("é" * 3, 2), ("日本", 2), ("x" * 400, 100)],
)
def test_estimate_tokens_is_utf8_bytes_over_four_rounded_up(text: str, tokens: int) -> None:
    assert estimate_tokens(text) == tokens


def test_window_includes_a_turn_that_exactly_fits_the_budget(conversations: Conversations) -> None:
    # 10 + 10 + 5 + 5 = 30 estimated tokens
    turns = [u("q" * 40), a("r" * 40), u("s" * 20), a("t" * 20)]
    conversations.append("alice", "s1", turns, "req1")
    assert conversations.window("alice", "s1", 30) == tuple(turns)


def test_window_one_token_short_leaves_the_oldest_turn_out_and_starts_with_a_user_turn(
    conversations: Conversations,
) -> None:
    conversations.append("alice", "s1", [u("q" * 40), a("r" * 40), u("s" * 20), a("t" * 20)], "req1")
    # 29: the oldest user turn (10) no longer fits; the assistant turn that would lead is left out too.
    assert conversations.window("alice", "s1", 29) == (u("s" * 20), a("t" * 20))
    assert conversations.window("alice", "s1", 10) == (u("s" * 20), a("t" * 20))
    assert conversations.window("alice", "s1", 9) == ()


def test_window_is_a_contiguous_tail(conversations: Conversations) -> None:
    # The big middle turn does not fit; the small older one is not picked past it.
    conversations.append("alice", "s1", [u("ab"), a("x" * 400), u("cd"), a("ef")], "req1")
    assert conversations.window("alice", "s1", 50) == (u("cd"), a("ef"))


def test_window_pages_through_many_turns_newest_first(conversations: Conversations) -> None:
    turns = [(u if seq % 2 else a)(f"t{seq:03d}") for seq in range(1, 61)]  # 1 token each
    for start in range(0, 60, 2):
        conversations.append("alice", "s1", turns[start : start + 2], f"req{start}")
    window = conversations.window("alice", "s1", 55)
    # the newest 55 are t006..t060; t006 is an assistant turn, so the window starts at t007
    assert [turn.text for turn in window] == [f"t{seq:03d}" for seq in range(7, 61)]


def test_window_of_an_unknown_or_malformed_session_is_empty(conversations: Conversations) -> None:
    conversations.append("alice", "s1", [u("hello"), a("hi")], "req1")
    assert conversations.window("alice", "nope", 1000) == ()
    assert conversations.window("alice", "s1#x", 1000) == ()
    assert conversations.window("bob", "s1", 1000) == ()


def test_append_numbers_turns_and_sets_the_ttl(conversations: Conversations, db: Any) -> None:
    conversations.append("alice", "s1", [u("first  question\n here"), a("answer")], "req1")
    items = raw_items(db, TABLE)
    assert [(item["pk"]["S"], item["sk"]["S"]) for item in items] == [
        ("USER#alice", "SESSION#s1"),
        ("USER#alice", "TURN#s1#00000001"),
        ("USER#alice", "TURN#s1#00000002"),
    ]
    expires = str(int(NOW) + 30 * 86_400)
    assert expires == "1717156800"
    assert all(item["expires_at"] == {"N": expires} for item in items)
    session, first, second = items
    assert session["title"] == {"S": "first question here"}
    assert session["turns"] == {"N": "2"}
    assert first["role"] == {"S": "user"}
    assert second["text"] == {"S": "answer"}
    assert second["request_id"] == {"S": "req1"}


def test_concurrent_appends_never_overwrite_a_turn(db: Any, clock: Clock) -> None:
    conversations = Conversations(TABLE, AtomicUpdates(db), clock=clock, ttl_days=30)

    def append(number: int) -> None:
        conversations.append("alice", "s1", [u(f"q{number:02d}"), a(f"a{number:02d}")], f"req{number}")

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(append, range(20)))
    detail = conversations.session("alice", "s1")
    assert detail.summary.turns == 40
    assert sorted(turn.text for turn in detail.turns) == sorted(
        [f"q{n:02d}" for n in range(20)] + [f"a{n:02d}" for n in range(20)]
    )
    # each append's pair stays adjacent, question first
    texts = [turn.text for turn in detail.turns]
    assert all(texts[i][0] == "q" and texts[i + 1] == "a" + texts[i][1:] for i in range(0, 40, 2))


def test_sessions_lists_the_callers_own_newest_first(conversations: Conversations, clock: Clock) -> None:
    conversations.append("alice", "s1", [u("How do I reset my VPN token? " * 5), a("Like so.")], "req1")
    clock.now = NOW + 60
    conversations.append("alice", "s2", [u("printer")], "req2")
    clock.now = NOW + 120
    conversations.append("alice", "s1", [u("thanks"), a("welcome")], "req3")
    conversations.append("bob", "s9", [u("bob's question")], "req4")
    listed = [summary.as_dict() for summary in conversations.sessions("alice")]
    assert listed == [
        {
            "session_id": "s1",
            "title": ("How do I reset my VPN token? " * 5)[:80],
            "created_at": "2024-05-01T12:00:00Z",
            "updated_at": "2024-05-01T12:02:00Z",
            "turns": 4,
        },
        {
            "session_id": "s2",
            "title": "printer",
            "created_at": "2024-05-01T12:01:00Z",
            "updated_at": "2024-05-01T12:01:00Z",
            "turns": 1,
        },
    ]
    assert [summary.session_id for summary in conversations.sessions("bob")] == ["s9"]
    assert conversations.sessions("carol") == []


def test_session_returns_the_turns_oldest_first(conversations: Conversations) -> None:
    conversations.append("alice", "s1", [u("one"), a("two")], "req1")
    conversations.append("alice", "s1", [u("three"), a("four")], "req2")
    detail = conversations.session("alice", "s1")
    assert detail.turns == (u("one"), a("two"), u("three"), a("four"))
    assert detail.as_dict()["messages"][2] == {"role": "user", "text": "three"}


def test_session_of_another_user_is_not_found_like_an_absent_one(conversations: Conversations) -> None:
    conversations.append("bob", "bobs-session", [u("secret plans"), a("ok")], "req1")
    with pytest.raises(SessionNotFound) as other:
        conversations.session("alice", "bobs-session")
    with pytest.raises(SessionNotFound) as absent:
        conversations.session("alice", "never-existed")
    # the same kind of answer, naming only what the caller asked for
    assert str(other.value) == "no session 'bobs-session'"
    assert str(absent.value) == "no session 'never-existed'"
    with pytest.raises(SessionNotFound):
        conversations.session("alice", "x#SESSION#bobs-session")


def test_expired_items_are_ignored_before_dynamodb_deletes_them(conversations: Conversations, clock: Clock) -> None:
    conversations.append("alice", "s1", [u("old"), a("older")], "req1")
    clock.now = NOW + 30 * 86_400  # exactly at expires_at: expired
    assert conversations.window("alice", "s1", 1000) == ()
    assert conversations.sessions("alice") == []
    with pytest.raises(SessionNotFound):
        conversations.session("alice", "s1")
    clock.now = NOW + 30 * 86_400 - 1
    assert conversations.window("alice", "s1", 1000) == (u("old"), a("older"))


def test_ids_with_the_key_separator_are_refused(conversations: Conversations) -> None:
    with pytest.raises(ValueError, match="session_id"):
        conversations.append("alice", "a#b", [u("x")], "req1")
    with pytest.raises(ValueError, match="request_id"):
        conversations.append("alice", "s1", [u("x")], "r#1")
    with pytest.raises(ValueError, match="user_id"):
        conversations.append("", "s1", [u("x")], "req1")
