"""Counts over big sets, served a few seconds stale while one request refreshes them.

With a million emails stored, the exact counts behind `pagination.total`, the stats and a
batch's progress each scan hundreds of thousands of index entries (150 to 600 ms), on every
request. Below `exact_below` (a set that small costs a few milliseconds) every answer is
exact, as before. At or above it the value is kept for `fresh_for`; after that, the first
request to find it stale recomputes it while concurrent ones get the stale value, so only
one request per key and period waits (measured by the api_load benchmark).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Generic, TypeVar

from emailsched.ports import Clock

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
EXACT_BELOW = 10_000
FRESH_FOR = timedelta(seconds=10)
MAX_KEYS = 10_000


@dataclass(frozen=True)
class _Entry(Generic[V]):
    value: V
    at: datetime


class BigCountCache(Generic[V]):
    def __init__(self, clock: Clock, size: Callable[[V], int], *,
                 exact_below: int = EXACT_BELOW, fresh_for: timedelta = FRESH_FOR):
        self._clock, self._size = clock, size
        self._exact_below, self._fresh_for = exact_below, fresh_for
        self._entries: dict[Hashable, _Entry[V]] = {}
        self._locks: dict[Hashable, threading.Lock] = {}
        self._guard = threading.Lock()

    def get(self, key: Hashable, compute: Callable[[], V]) -> V:
        entry = self._entries.get(key)
        if entry is not None and self._clock.now() - entry.at < self._fresh_for:
            return entry.value
        lock = self._lock(key)
        if entry is not None:  # stale and big: one refreshes, the others answer with it
            if not lock.acquire(blocking=False):
                return entry.value
        else:
            lock.acquire()
        try:
            again = self._entries.get(key)
            if again is not None and again is not entry:
                return again.value  # refreshed while this request waited
            return self._compute(key, compute)
        finally:
            lock.release()

    def get_many(self, keys: list[K], compute: Callable[[list[K]], dict[K, V]]) -> dict[K, V]:
        """Fresh values from the cache, the rest computed together (one query for a page).
        A stale key that another request is already refreshing is answered with its stale
        value, as in `get`: when a page's entries expire together, one request recounts
        them, not every request that asks in the meantime (at 1,000,000 stored that
        stampede held every database slot for ~0.3 s and set all routes' p99)."""
        now = self._clock.now()
        found: dict[K, V] = {}
        missing: list[K] = []
        held: list[threading.Lock] = []
        try:
            for key in keys:
                entry = self._entries.get(key)
                if entry is not None and now - entry.at < self._fresh_for:
                    found[key] = entry.value
                    continue
                lock = self._lock(key)
                if lock.acquire(blocking=entry is None):
                    held.append(lock)
                    missing.append(key)
                else:  # stale, and another request is refreshing it
                    assert entry is not None
                    found[key] = entry.value
            if missing:
                computed = compute(missing)
                with self._guard:
                    for key, value in computed.items():
                        if self._size(value) >= self._exact_below:
                            self._entries[key] = _Entry(value, now)
                found.update(computed)
        finally:
            for lock in held:
                lock.release()
        return found

    def _compute(self, key: Hashable, compute: Callable[[], V]) -> V:
        value = compute()
        with self._guard:
            if self._size(value) >= self._exact_below:
                if len(self._entries) >= MAX_KEYS:
                    self._entries.clear()
                self._entries[key] = _Entry(value, self._clock.now())
            else:
                self._entries.pop(key, None)
        return value

    def _lock(self, key: Hashable) -> threading.Lock:
        with self._guard:
            if len(self._locks) >= MAX_KEYS:
                self._locks = {k: v for k, v in self._locks.items() if v.locked()}
            return self._locks.setdefault(key, threading.Lock())
