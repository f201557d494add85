"""Writing email events that are no change of status, and saying who made a change.

Changes of status write their own events (migration 0012's trigger); a statement that
changes statuses on someone's behalf other than the transition's usual actor says so
first with `act_as`, in the same transaction.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import Connection, text

from emailsched.domain.events import Actor, EventType

# Transaction-local settings the trigger reads (current_setting('emailsched.actor')).
ACT_AS = text("""
    SELECT set_config('emailsched.actor', :actor, true),
           set_config('emailsched.reason', :reason, true)
""")
# record_event: an event of one email, scoped by its user (no row: not theirs, nothing).
RECORD_EVENT = text("""
    INSERT INTO email_events (email_id, user_id, batch_id, type, by, detail)
    SELECT id, user_id, batch_id, :type, :by, CAST(:detail AS jsonb) FROM emails
    WHERE id = :email_id
""")


def act_as(connection: Connection, actor: Actor, reason: str | None = None) -> None:
    """The status changes of this transaction were made by `actor` (for `reason`)."""
    connection.execute(ACT_AS, {"actor": actor.value, "reason": reason or ""})


def record_event(connection: Connection, email_id: uuid.UUID, event: EventType, by: Actor,
                 detail: dict[str, Any] | None = None) -> None:
    connection.execute(RECORD_EVENT, {
        "email_id": email_id, "type": event.value, "by": by.value,
        "detail": None if detail is None else json.dumps(detail)})
