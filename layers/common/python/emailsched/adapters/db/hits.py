"""Tracking hits into email_events (issue 27), a flush at a time, and bursts marked.

Hits reach here from a process's write-ahead file (adapters/hit_log.py) or an SQS batch,
at least once: each carries its own id (`detail.hit`), and one already stored is not
stored again, so a replay after a crash writes nothing twice.
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, text

from emailsched.adapters.db.errors import transaction
from emailsched.domain.events import Actor
from emailsched.domain.tracking import BURST_SECONDS, Click, burst_clicks
from emailsched.domain.tracking_links import tracked_links

BURST_REASON = "every link within 2 s"

# hits_insert: one statement per flush. The NOT EXISTS looks among one email's events
# (ix_email_events_email), a handful of rows; an unknown email (a token of a batch since
# deleted) joins nothing and is dropped. Answers the emails that got clicks.
INSERT_HITS = text(f"""
    WITH h AS (
        SELECT DISTINCT ON (hit) * FROM jsonb_to_recordset(CAST(:hits AS jsonb))
            AS h(hit text, "emailId" uuid, type text, at timestamptz, detail jsonb)
    ), inserted AS (
        INSERT INTO email_events (email_id, user_id, batch_id, type, at, by, detail)
        SELECT e.id, e.user_id, e.batch_id, h.type, h.at, '{Actor.API.value}',
               h.detail || jsonb_build_object('hit', h.hit)
        FROM h JOIN emails e ON e.id = h."emailId"
        WHERE NOT EXISTS (SELECT 1 FROM email_events v
                          WHERE v.email_id = h."emailId" AND v.type = h.type
                            AND v.detail ->> 'hit' = h.hit)
        RETURNING email_id, type, at
    )
    SELECT email_id, min(at) AS first_at FROM inserted WHERE type = 'clicked'
    GROUP BY email_id
""")

# hits_recent_clicks: the clicks of these emails from BURST_SECONDS before their first new
# one (a burst may straddle two flushes), with the body of the email's step, whose links
# say how many make a burst.
RECENT_CLICKS = text("""
    SELECT v.id, v.email_id, v.at, v.detail ->> 'url' AS url,
           COALESCE((v.detail ->> 'machine')::boolean, false) AS machine,
           CASE WHEN e.step > 1 THEN b.steps -> (e.step - 2) ->> 'body' ELSE b.body END
               AS body
    FROM unnest(CAST(:ids AS uuid[]), CAST(:since AS timestamptz[])) AS n(id, since)
    JOIN email_events v ON v.email_id = n.id AND v.type = 'clicked' AND v.at >= n.since
    JOIN emails e ON e.id = n.id JOIN batches b ON b.id = e.batch_id
""")

MARK_MACHINE = text("""
    UPDATE email_events
    SET detail = detail || jsonb_build_object('machine', true, 'reason', CAST(:reason AS text))
    WHERE id = ANY(:ids)
""")


class PgHits:
    def __init__(self, engine: Engine):
        self.engine = engine

    def write(self, hits: Sequence[dict[str, Any]]) -> int:
        """Store hits not stored yet; mark the clicks that make a burst. Answers how many
        emails got new clicks."""
        if not hits:
            return 0
        with transaction(self.engine) as connection:
            clicked = connection.execute(INSERT_HITS, {"hits": json.dumps(list(hits))}).all()
            if clicked:
                _mark_bursts(connection, {row.email_id: row.first_at for row in clicked})
        return len(clicked)


def _mark_bursts(connection: Connection, first_at: dict[uuid.UUID, datetime]) -> None:
    window = timedelta(seconds=BURST_SECONDS)
    rows = connection.execute(RECENT_CLICKS, {
        "ids": list(first_at), "since": [at - window for at in first_at.values()]}).all()
    by_email: dict[uuid.UUID, list[Any]] = defaultdict(list)
    for row in rows:
        by_email[row.email_id].append(row)
    machine: list[int] = []
    for clicks in by_email.values():
        links = len(set(tracked_links(clicks[0].body or "")))
        burst = burst_clicks([Click(c.url, c.at) for c in clicks], links)
        machine += [clicks[i].id for i in burst if not clicks[i].machine]
    if machine:
        connection.execute(MARK_MACHINE, {"ids": machine, "reason": BURST_REASON})
