"""Campaign analytics for the API (SPEC.md "Engagement"): a batch's, or a user's over a
date range (default: the last 30 days)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol

from emailsched.domain.analytics import Analytics
from emailsched.errors import InvalidRequest, NotFound
from emailsched.ports import Clock

DEFAULT_DAYS = 30
MAX_DAYS = 366


class AnalyticsStore(Protocol):
    def batch(self, user_id: uuid.UUID, batch_id: uuid.UUID) -> Analytics | None: ...

    def range(self, user_id: uuid.UUID, since: datetime, until: datetime) -> Analytics: ...


class AnalyticsService:
    def __init__(self, store: AnalyticsStore, clock: Clock):
        self._store, self._clock = store, clock

    def batch(self, user_id: uuid.UUID, batch_id: uuid.UUID) -> Analytics:
        found = self._store.batch(user_id, batch_id)
        if found is None:
            raise NotFound("batch not found")
        return found

    def between(self, user_id: uuid.UUID, since: str | None, until: str | None) -> Analytics:
        """`from` and `to` are dates (YYYY-MM-DD, `to` included) or ISO 8601 times."""
        end = _moment("to", until, end_of_day=True) if until else self._clock.now()
        start = _moment("from", since) if since else end - timedelta(days=DEFAULT_DAYS)
        if start >= end or end - start > timedelta(days=MAX_DAYS):
            raise InvalidRequest("from must come before to, at most a year apart", details=[
                {"field": "from", "message": f"before `to`, within {MAX_DAYS} days of it"}])
        return self._store.range(user_id, start, end)


def _moment(field: str, value: str, end_of_day: bool = False) -> datetime:
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return datetime.combine(day + timedelta(days=1) if end_of_day else day, time(),
                                    UTC)
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidRequest(f"{field} is not a date", details=[
            {"field": field, "message": "a date (YYYY-MM-DD) or an ISO 8601 time"}]) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
