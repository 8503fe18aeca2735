"""Per-user quotas against moto DynamoDB: exact limits, exact retry_after, concurrency, UTC day rollover."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from api.contract import ApiSettings, QuotaSpec
from api.store import QuotaExceeded, Quotas

from tests.lambdas.api.store_world import AtomicUpdates, Clock, mocked_table, raw_items

NOW = 1_714_564_800.0  # 2024-05-01T12:00:00Z, the start of a minute
MIDNIGHT = 1_714_608_000.0  # 2024-05-02T00:00:00Z
TABLE = "quotas"


@pytest.fixture
def db() -> Iterator[Any]:
    with mocked_table(TABLE) as client:
        yield client


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def quotas(db: Any, clock: Clock) -> Quotas:
    return Quotas(TABLE, db, clock=clock)


def spec(rpm: int = 1000, tpd: int = 1_000_000) -> QuotaSpec:
    return QuotaSpec(requests_per_minute=rpm, tokens_per_day=tpd)


def test_the_nth_request_is_admitted_and_the_next_refused_until_the_next_minute(
    quotas: Quotas, clock: Clock, db: Any
) -> None:
    clock.now = NOW + 17.25
    for _ in range(3):
        quotas.admit("alice", spec(rpm=3))
    with pytest.raises(QuotaExceeded) as refused:
        quotas.admit("alice", spec(rpm=3))
    assert (refused.value.retry_after, refused.value.kind) == (43, "requests_per_minute")  # 60 - 17.25, up
    clock.now = NOW + 59.5
    with pytest.raises(QuotaExceeded) as last_second:
        quotas.admit("alice", spec(rpm=3))
    assert last_second.value.retry_after == 1
    # refusals are not counted
    [minute] = raw_items(db, TABLE)
    assert minute["requests"] == {"N": "3"}
    clock.now = NOW + 60  # the next minute starts with a fresh counter
    quotas.admit("alice", spec(rpm=3))
    assert [item["sk"]["S"] for item in raw_items(db, TABLE)] == ["MINUTE#2024-05-01T12:00", "MINUTE#2024-05-01T12:01"]


def test_users_have_separate_counters(quotas: Quotas) -> None:
    quotas.admit("alice", spec(rpm=1))
    quotas.admit("bob", spec(rpm=1))
    with pytest.raises(QuotaExceeded):
        quotas.admit("alice", spec(rpm=1))


def test_concurrent_admits_never_exceed_the_limit(db: Any, clock: Clock) -> None:
    quotas = Quotas(TABLE, AtomicUpdates(db), clock=clock)

    def attempt(_: int) -> bool:
        try:
            quotas.admit("alice", spec(rpm=10))
        except QuotaExceeded:
            return False
        return True

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(attempt, range(40)))
    assert results.count(True) == 10
    assert results.count(False) == 30
    [minute] = raw_items(db, TABLE)
    assert minute["requests"] == {"N": "10"}


def test_tokens_exactly_at_the_daily_allowance_refuse_until_utc_midnight(quotas: Quotas, clock: Clock) -> None:
    quotas.charge_tokens("alice", spec(tpd=1000), 999)
    quotas.admit("alice", spec(tpd=1000))  # 999 < 1000: admitted
    quotas.charge_tokens("alice", spec(tpd=1000), 1)
    with pytest.raises(QuotaExceeded) as refused:
        quotas.admit("alice", spec(tpd=1000))
    assert (refused.value.retry_after, refused.value.kind) == (43_200, "tokens_per_day")
    assert quotas.tokens_today("alice") == 1000


def test_day_rolls_over_at_utc_midnight(quotas: Quotas, clock: Clock, db: Any) -> None:
    clock.now = MIDNIGHT - 0.5  # 23:59:59.5
    quotas.charge_tokens("alice", spec(tpd=100), 150)  # one answer may cross the allowance
    with pytest.raises(QuotaExceeded) as refused:
        quotas.admit("alice", spec(tpd=100))
    assert (refused.value.retry_after, refused.value.kind) == (1, "tokens_per_day")
    clock.now = MIDNIGHT
    quotas.admit("alice", spec(tpd=100))
    assert quotas.tokens_today("alice") == 0
    quotas.charge_tokens("alice", spec(tpd=100), 7)
    days = {item["sk"]["S"]: item["tokens"]["N"] for item in raw_items(db, TABLE) if "tokens" in item}
    assert days == {"DAY#2024-05-01": "150", "DAY#2024-05-02": "7"}


def test_a_request_refused_for_tokens_is_not_counted(quotas: Quotas, db: Any) -> None:
    quotas.charge_tokens("alice", spec(tpd=10), 10)
    with pytest.raises(QuotaExceeded):
        quotas.admit("alice", spec(tpd=10, rpm=1))
    assert [item["sk"]["S"] for item in raw_items(db, TABLE)] == ["DAY#2024-05-01"]


def test_counters_carry_their_ttl(quotas: Quotas, clock: Clock, db: Any) -> None:
    clock.now = NOW + 30
    quotas.admit("alice", spec())
    quotas.charge_tokens("alice", spec(), 42)
    items = {item["sk"]["S"]: item for item in raw_items(db, TABLE)}
    # the minute's end + 1 hour; the UTC day's end + 2 days
    assert items["MINUTE#2024-05-01T12:00"]["expires_at"] == {"N": "1714568460"}
    assert items["DAY#2024-05-01"]["expires_at"] == {"N": "1714780800"}
    assert items["DAY#2024-05-01"]["tokens"] == {"N": "42"}
    assert {item["pk"]["S"] for item in items.values()} == {"USER#alice"}


def test_charge_tokens_refuses_negative_and_skips_zero(quotas: Quotas, db: Any) -> None:
    with pytest.raises(ValueError, match="negative"):
        quotas.charge_tokens("alice", spec(), -1)
    quotas.charge_tokens("alice", spec(), 0)
    assert raw_items(db, TABLE) == []


def test_the_group_with_the_largest_quota_wins(quotas: Quotas) -> None:
    settings = ApiSettings(
        usecase="it-helpdesk",
        architecture="direct",
        model_id="amazon.nova-lite-v1:0",
        conversations_table="c",
        quotas_table=TABLE,
        telemetry_table="t",
        metrics_namespace="Journey",
        quotas={
            "users": QuotaSpec(requests_per_minute=2, tokens_per_day=100_000),
            "power": QuotaSpec(requests_per_minute=5, tokens_per_day=50_000),
        },
    )
    quota = settings.quota_for(("users", "power", "unlisted"))
    assert quota == QuotaSpec(requests_per_minute=5, tokens_per_day=100_000)
    for _ in range(5):
        quotas.admit("alice", quota)
    with pytest.raises(QuotaExceeded):
        quotas.admit("alice", quota)
    only_users = settings.quota_for(("users",))
    assert only_users is not None
    for _ in range(2):
        quotas.admit("bob", only_users)
    with pytest.raises(QuotaExceeded):
        quotas.admit("bob", only_users)
