"""Big counts are served up to FRESH_FOR stale while one request refreshes; small ones are
always exact."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from emailsched.services.read_cache import FRESH_FOR, BigCountCache


class Clock:
    def __init__(self) -> None:
        self.at = datetime(2026, 1, 1, tzinfo=UTC)

    def now(self) -> datetime:
        return self.at


def test_small_counts_are_computed_every_time() -> None:
    clock, calls = Clock(), []
    cache: BigCountCache[int] = BigCountCache(clock, lambda n: n, exact_below=10)
    for value in (3, 4):
        assert cache.get("k", lambda v=value: calls.append(v) or v) == value  # type: ignore[func-returns-value]
    assert calls == [3, 4]


def test_a_big_count_is_kept_until_it_is_stale_then_recomputed() -> None:
    clock = Clock()
    cache: BigCountCache[int] = BigCountCache(clock, lambda n: n, exact_below=10)
    assert cache.get("k", lambda: 100) == 100
    assert cache.get("k", lambda: 200) == 100
    clock.at += FRESH_FOR + timedelta(seconds=1)
    assert cache.get("k", lambda: 200) == 200


def test_get_many_computes_only_what_is_not_fresh() -> None:
    clock, asked = Clock(), []
    cache: BigCountCache[int] = BigCountCache(clock, lambda n: n, exact_below=10)

    def compute(keys: list[str]) -> dict[str, int]:
        asked.append(keys)
        return {k: 50 if k == "big" else 1 for k in keys}

    assert cache.get_many(["big", "small"], compute) == {"big": 50, "small": 1}
    assert cache.get_many(["big", "small"], compute) == {"big": 50, "small": 1}
    assert asked == [["big", "small"], ["small"]]


def test_get_many_answers_a_stale_key_being_refreshed_with_its_stale_value() -> None:
    clock = Clock()
    cache: BigCountCache[int] = BigCountCache(clock, lambda n: n, exact_below=10)
    cache.get_many(["a", "b"], lambda keys: {k: 50 for k in keys})
    clock.at += FRESH_FOR + timedelta(seconds=1)
    refreshing = cache._lock("a")
    refreshing.acquire()  # another request is recounting "a"
    try:
        asked: list[list[str]] = []

        def compute(keys: list[str]) -> dict[str, int]:
            asked.append(keys)
            return {k: 70 for k in keys}

        assert cache.get_many(["a", "b"], compute) == {"a": 50, "b": 70}
        assert asked == [["b"]]
    finally:
        refreshing.release()
