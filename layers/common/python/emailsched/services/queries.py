"""Read models for the dashboard: lists, batches with progress, stats."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from emailsched.domain.model import PENDING_EMAIL_STATUSES, EmailStatus
from emailsched.domain.records import BatchRow, EmailRow
from emailsched.errors import NotFound
from emailsched.ports import Clock, ReadStore
from emailsched.services.read_cache import BigCountCache


@dataclass(frozen=True)
class Page:
    page: int
    limit: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.limit


@dataclass(frozen=True)
class BatchView:
    row: BatchRow
    counts: dict[str, int]

    @property
    def pending(self) -> int:
        return sum(self.counts.get(s.value, 0) for s in PENDING_EMAIL_STATUSES)


@dataclass(frozen=True)
class Stats:
    counts: dict[str, int]
    sent_last_hour: int
    per_hour: list[tuple[str, int, int]]


class QueryService:
    """Big counts (a user's or a batch's 10,000 emails or more) may be up to 10 s old:
    read_cache.py says why."""

    def __init__(self, store: ReadStore, clock: Clock):
        self._store, self._clock = store, clock
        self._totals: BigCountCache[int] = BigCountCache(clock, lambda total: total)
        self._stats: BigCountCache[Stats] = BigCountCache(clock, lambda s: s.counts["total"])
        self._batch_counts: BigCountCache[dict[str, int]] = BigCountCache(
            clock, lambda counts: sum(counts.values()))

    def emails(self, user_id: uuid.UUID, *, finished: bool, page: Page,
               batch_id: uuid.UUID | None) -> tuple[list[EmailRow], int]:
        with self._store.reading() as reads:
            rows = reads.email_rows(user_id, finished=finished, batch_id=batch_id,
                                    limit=page.limit, offset=page.offset)
            total = self._totals.get((user_id, finished, batch_id), lambda: reads.count_emails(
                user_id, finished=finished, batch_id=batch_id))
        return rows, total

    def batches(self, user_id: uuid.UUID, page: Page) -> tuple[list[BatchView], int]:
        with self._store.reading() as reads:
            rows, total = reads.list_batches(user_id, page.limit, page.offset)
            counts = self._batch_counts.get_many([r.id for r in rows], reads.batch_counts)
        return [BatchView(r, counts[r.id]) for r in rows], total

    def batch(self, user_id: uuid.UUID, batch_id: uuid.UUID) -> BatchView:
        with self._store.reading() as reads:
            row = reads.get_batch(user_id, batch_id)
            if row is None:
                raise NotFound("no such batch")
            return BatchView(row, reads.batch_counts([row.id])[row.id])

    def stats(self, user_id: uuid.UUID) -> Stats:
        return self._stats.get(user_id, lambda: self._exact_stats(user_id))

    def _exact_stats(self, user_id: uuid.UUID) -> Stats:
        now = self._clock.now()
        this_hour = now.replace(minute=0, second=0, microsecond=0)
        first_hour = this_hour - timedelta(hours=23)
        with self._store.reading() as reads:
            counts = reads.status_counts(user_id)
            hours = reads.per_hour(user_id, first_hour)
            last_hour = reads.sent_since(user_id, now - timedelta(hours=1))
        series = []
        for i in range(24):
            hour = first_hour + timedelta(hours=i)
            sent, failed = hours.get(hour, (0, 0))
            series.append((hour.isoformat().replace("+00:00", "Z"), sent, failed))
        full = {status.value: counts.get(status.value, 0) for status in EmailStatus}
        full["total"] = sum(counts.values())
        return Stats(full, last_hour, series)
