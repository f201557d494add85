"""Sender domain health in Postgres (issue 29): each sender's DKIM selector and last domain
check (table sender_domain_checks, one row per sender once either is set)."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, text

from emailsched.adapters.db.errors import transaction
from emailsched.services.domain_health import DomainTarget

# sender_domain_target: a user's sender with its selector and last check.
TARGET = text("""
    SELECT s.id, s.email, s.kind, c.dkim_selector, c.report FROM senders s
    LEFT JOIN sender_domain_checks c ON c.sender_id = s.id
    WHERE s.id = :sender_id AND s.user_id = :user_id
""")

# sender_domains_due: senders never checked or checked before :before, the oldest first
# (never-checked ones, NULLS FIRST, lead), at most :limit a run.
DUE = text("""
    SELECT s.id, s.email, s.kind, c.dkim_selector, c.report FROM senders s
    LEFT JOIN sender_domain_checks c ON c.sender_id = s.id
    WHERE c.checked_at IS NULL OR c.checked_at < :before
    ORDER BY c.checked_at NULLS FIRST LIMIT :limit
""")

SET_SELECTOR = text("""
    INSERT INTO sender_domain_checks (sender_id, dkim_selector) VALUES (:sender_id, :selector)
    ON CONFLICT (sender_id) DO UPDATE SET dkim_selector = EXCLUDED.dkim_selector
""")

SAVE = text("""
    INSERT INTO sender_domain_checks (sender_id, report, checked_at)
    VALUES (:sender_id, CAST(:report AS jsonb), :checked_at)
    ON CONFLICT (sender_id) DO UPDATE SET report = EXCLUDED.report,
                                          checked_at = EXCLUDED.checked_at
""")

SELECTORS = text("""
    SELECT sender_id, dkim_selector FROM sender_domain_checks
    WHERE sender_id = ANY(CAST(:ids AS uuid[])) AND dkim_selector IS NOT NULL
""")


def _target(row: Any) -> DomainTarget:
    return DomainTarget(row[0], row[1], row[2], row[3], row[4])


class PgSenderDomains:
    def __init__(self, engine: Engine):
        self._engine = engine

    def target(self, user_id: uuid.UUID, sender_id: uuid.UUID) -> DomainTarget | None:
        with transaction(self._engine) as connection:
            row = connection.execute(TARGET, {"sender_id": sender_id,
                                              "user_id": user_id}).first()
        return None if row is None else _target(row)

    def due(self, before: datetime, limit: int) -> list[DomainTarget]:
        with transaction(self._engine) as connection:
            rows = connection.execute(DUE, {"before": before, "limit": limit}).all()
        return [_target(row) for row in rows]

    def set_selector(self, sender_id: uuid.UUID, selector: str | None) -> None:
        with transaction(self._engine) as connection:
            connection.execute(SET_SELECTOR, {"sender_id": sender_id, "selector": selector})

    def save(self, sender_id: uuid.UUID, report: dict[str, Any], checked_at: datetime) -> None:
        with transaction(self._engine) as connection:
            connection.execute(SAVE, {"sender_id": sender_id, "report": json.dumps(report),
                                      "checked_at": checked_at})

    def selectors(self, sender_ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
        if not sender_ids:
            return {}
        with transaction(self._engine) as connection:
            rows = connection.execute(SELECTORS, {"ids": [str(i) for i in sender_ids]}).all()
        return {row[0]: row[1] for row in rows}
