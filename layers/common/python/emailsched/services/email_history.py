"""Every email of a user, whatever became of it, and one email's timeline (GET /emails,
GET /emails/{id})."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Protocol

from emailsched.domain.email_history import EmailFilter, EmailRecord
from emailsched.domain.events import timeline
from emailsched.errors import NotFound
from emailsched.ports import Clock
from emailsched.services.queries import Page
from emailsched.services.read_cache import BigCountCache


class EmailHistoryStore(Protocol):
    def page(self, user_id: uuid.UUID, where: EmailFilter, limit: int,
             offset: int) -> list[EmailRecord]: ...

    def count(self, user_id: uuid.UUID, where: EmailFilter) -> int: ...

    def email(self, user_id: uuid.UUID, email_id: uuid.UUID) -> EmailRecord | None:
        """The email with its stored events, oldest first; None when not the user's."""


class EmailHistoryService:
    def __init__(self, store: EmailHistoryStore, clock: Clock):
        self._store = store
        self._totals: BigCountCache[int] = BigCountCache(clock, lambda total: total)

    def emails(self, user_id: uuid.UUID, where: EmailFilter,
               page: Page) -> tuple[list[EmailRecord], int]:
        rows = self._store.page(user_id, where, page.limit, page.offset)
        total = self._totals.get((user_id, where), lambda: self._store.count(user_id, where))
        return rows, total

    def email(self, user_id: uuid.UUID, email_id: uuid.UUID) -> EmailRecord:
        """The email with its whole timeline: stored events and the derived ones."""
        found = self._store.email(user_id, email_id)
        if found is None:
            raise NotFound("no such email")
        return replace(found, events=timeline(found.facts, found.events))
