"""Analytics read in one statement per question (issue 27): every grouping of a batch (or
of a user's date range) in one pass, by GROUPING SETS.

`sent` comes from emails (a send is the row's sent_at, not an event); everything else
from email_events, folded to one row per email first, so that an email opened twice
counts once. A batch's events are read through ix_email_events_batch (batch_id, type).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, Row, text

from emailsched.adapters.db.errors import transaction
from emailsched.domain.analytics import Analytics, Counts

_PER_EMAIL = """
    SELECT email_id,
           bool_or(type = 'opened' AND NOT machine) AS opened,
           bool_or(type = 'clicked' AND NOT machine) AS clicked,
           count(*) FILTER (WHERE type = 'opened' AND machine) AS machine_opens,
           count(*) FILTER (WHERE type = 'clicked' AND machine) AS machine_clicks,
           bool_or(type = 'reply_received') AS replied,
           bool_or(type = 'bounced') AS bounced,
           bool_or(type = 'unsubscribed') AS unsubscribed
    FROM (SELECT email_id, type, COALESCE((detail ->> 'machine')::boolean, false) AS machine
          FROM email_events
          WHERE {where} AND type IN ('opened', 'clicked', 'reply_received', 'bounced',
                                      'unsubscribed')) AS x
    GROUP BY email_id
"""
_COUNTS = """
    count(*) AS sent,
    count(*) FILTER (WHERE v.bounced) AS bounced,
    count(*) FILTER (WHERE v.opened) AS opened,
    count(*) FILTER (WHERE v.clicked) AS clicked,
    count(*) FILTER (WHERE v.replied) AS replied,
    count(*) FILTER (WHERE v.unsubscribed) AS unsubscribed,
    COALESCE(sum(v.machine_opens), 0) AS machine_opens,
    COALESCE(sum(v.machine_clicks), 0) AS machine_clicks
"""

# analytics_batch: a batch's totals, per step and per sender in one pass over its sent
# emails (ix_emails_batch...) and its events (ix_email_events_batch).
BATCH = text(f"""
    WITH v AS ({_PER_EMAIL.format(where="batch_id = :batch_id")})
    SELECT GROUPING(e.step) AS no_step, GROUPING(e.sender_id) AS no_sender,
           e.step, e.sender_id, {_COUNTS}
    FROM emails e LEFT JOIN v ON v.email_id = e.id
    WHERE e.batch_id = :batch_id AND e.sent_at IS NOT NULL
    GROUP BY GROUPING SETS ((), (e.step), (e.sender_id))
""")

# analytics_range: the same over a user's emails sent in [from, to), and per day (UTC) of
# sending. Their events are read by the user's batches (ix_email_events_batch), not by email:
# at 1,000,000 emails a probe of ix_email_events_email per email took 11 of 15 s, the batch
# scans 5 (a daily rollup would do better).
RANGE = text(f"""
    WITH sent AS (
        SELECT id, step, sender_id, sent_at FROM emails
        WHERE user_id = :user_id AND sent_at >= :since AND sent_at < :until
    ), v AS ({_PER_EMAIL.format(
        where="batch_id IN (SELECT id FROM batches WHERE user_id = :user_id)")})
    SELECT GROUPING(e.step) AS no_step, GROUPING(e.sender_id) AS no_sender,
           GROUPING(date_trunc('day', e.sent_at AT TIME ZONE 'UTC')) AS no_day,
           e.step, e.sender_id,
           to_char(date_trunc('day', e.sent_at AT TIME ZONE 'UTC'), 'YYYY-MM-DD') AS day,
           {_COUNTS}
    FROM sent e LEFT JOIN v ON v.email_id = e.id
    GROUP BY GROUPING SETS ((), (e.step), (e.sender_id),
                            (date_trunc('day', e.sent_at AT TIME ZONE 'UTC')))
""")


OWNED = text("SELECT 1 FROM batches WHERE id = :batch_id AND user_id = :user_id")
# Folding a batch's events per email is one hash aggregate of an entry per email: with the
# default work_mem it spilled to disk at 100,000 emails, and JIT compiling the plan cost
# 0.8 s more than it saved (batch of 100,000 emails, 300,000 events: 550 -> 400 ms).
ROOMY = ("SET LOCAL work_mem = '64MB'", "SET LOCAL jit = off")


class PgAnalytics:
    def __init__(self, engine: Engine):
        self.engine = engine

    def batch(self, user_id: uuid.UUID, batch_id: uuid.UUID) -> Analytics | None:
        """None when the user has no such batch."""
        with transaction(self.engine) as connection:
            if connection.execute(OWNED, {"batch_id": batch_id, "user_id": user_id}).first() \
                    is None:
                return None
            _roomy(connection)
            rows = connection.execute(BATCH, {"batch_id": batch_id}).all()
        return _analytics(rows, per_day=False)

    def range(self, user_id: uuid.UUID, since: datetime, until: datetime) -> Analytics:
        with transaction(self.engine) as connection:
            _roomy(connection)
            rows = connection.execute(RANGE, {"user_id": user_id, "since": since,
                                              "until": until}).all()
        return _analytics(rows, per_day=True)


def _roomy(connection: Connection) -> None:
    for setting in ROOMY:
        connection.exec_driver_sql(setting)


def _analytics(rows: Sequence[Row[Any]], per_day: bool) -> Analytics:
    total, steps, senders, days = Counts(), [], [], []
    for row in rows:
        counts = _counts(row)
        m = row._mapping
        if not m["no_step"]:
            steps.append((int(m["step"]), counts))
        elif not m["no_sender"]:
            senders.append((str(m["sender_id"]), counts))
        elif per_day and not m["no_day"]:
            days.append((str(m["day"]), counts))
        else:
            total = counts
    return Analytics(total, sorted(steps), sorted(senders, key=lambda s: s[0]),
                     sorted(days) if per_day else None)


def _counts(row: Row[Any]) -> Counts:
    m = row._mapping
    return Counts(**{name: int(m[name]) for name in Counts.__dataclass_fields__})
