"""Email events written by the statements that make them happen (issue 23).

A statement that changes emails in a way worth telling (a retry, a pause, a hold, a
suppression at send time, a bounce...) returns the rows it changed from a CTE and writes one
event each in the same statement: `recorded` wraps it. The queue's machinery (scheduled ->
queued -> sending -> sent, and the moves back) writes nothing: domain/events.py derives it
from the email row when read. A trigger would have been one place for all of it, but an
AFTER ROW trigger makes Postgres fetch each updated row's old version again, even when its
WHEN clause says no: the hot-path UPDATEs took 50 to 60 % longer with one (BENCHMARKS.md,
"Email events").
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import Connection, text

from emailsched.domain.events import Actor, EventType


def recorded(update: str, event: str, by: Actor, reason: str = "NULL",
             returning: str = "") -> str:
    """`update` (an `UPDATE emails e ... RETURNING e.id, e.user_id, e.batch_id` and any
    columns `event` and `reason` use) with one event per changed row. `event` and `reason`
    are SQL expressions over those columns (a literal type is quoted: `'paused'`). Answers
    `returning` columns of the changed rows, or nothing; its row count is the changed rows'
    either way."""
    insert = f"""
        INSERT INTO email_events (email_id, user_id, batch_id, type, by, detail)
        SELECT id, user_id, batch_id, {event}, '{by.value}',
               CASE WHEN {reason} IS NULL THEN NULL
                    ELSE jsonb_build_object('reason', {reason}) END
        FROM changed"""
    if not returning:  # the INSERT's row count is the changed rows'
        return f"WITH changed AS ({update}) {insert}"
    return f"WITH changed AS ({update}), noted AS ({insert}) SELECT {returning} FROM changed"


# record_event: one event of one email (a reply received): no change of its status.
RECORD_EVENT = text("""
    INSERT INTO email_events (email_id, user_id, batch_id, type, by, detail)
    SELECT id, user_id, batch_id, :type, :by, CAST(:detail AS jsonb) FROM emails
    WHERE id = :email_id
""")


def record_event(connection: Connection, email_id: uuid.UUID, event: EventType, by: Actor,
                 detail: dict[str, Any] | None = None) -> None:
    connection.execute(RECORD_EVENT, {
        "email_id": email_id, "type": event.value, "by": by.value,
        "detail": None if detail is None else json.dumps(detail)})
