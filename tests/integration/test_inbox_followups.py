"""The follow-up planner honours an away lead's return (issue 26): a step planned after an
out-of-office reply named a return date is due the morning after it, plus the batch's
jitter; everyone else's steps are due as planned."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy

from emailsched.adapters.db.engine import make_engine, migrate
from emailsched.adapters.db.sequences import PgFollowUpStore
from emailsched.ports import NewStep
from tests.support.stack import Services, create_database

pytestmark = pytest.mark.integration
BACK = datetime(2027, 1, 5, 9, tzinfo=UTC)


def test_a_step_planned_for_an_away_lead_waits_for_their_return(services: Services) -> None:
    admin = sqlalchemy.engine.make_url(services.database_url).set(database="postgres")
    url, drop = create_database(admin.render_as_string(hide_password=False))
    engine = make_engine(url)
    try:
        migrate(engine)
        with engine.begin() as c:
            user = c.exec_driver_sql("INSERT INTO users (email) VALUES ('u@x.example') "
                                     "RETURNING id").scalar_one()
            sender = c.execute(sqlalchemy.text(
                "INSERT INTO senders (user_id, email) VALUES (:u, 's@x.example') RETURNING id"),
                {"u": user}).scalar_one()
            batch = c.execute(sqlalchemy.text(
                "INSERT INTO batches (user_id, sender_id, subject, body, start_time, delay_ms, "
                "hourly_limit, email_count, estimated_end_time, random_delay_ms) VALUES "
                "(:u, :s, 's', 'b', now(), 0, 10, 2, now(), 5000) RETURNING id"),
                {"u": user, "s": sender}).scalar_one()
            c.execute(sqlalchemy.text(
                "INSERT INTO inbox_threads (user_id, batch_id, recipient_email, sender_id, "
                "resume_at) VALUES (:u, :b, 'away@x.example', :s, :back), "
                "(:u, :b, 'here@x.example', :s, NULL)"),
                {"u": user, "b": batch, "s": sender, "back": BACK})
        due = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=5)
        due_ms = int(due.timestamp() * 1000)
        with PgFollowUpStore(engine).transaction() as session:
            session.insert_steps([NewStep(batch, user, sender, who, 2, n, due_ms, "scheduled",
                                          False) for n, who in enumerate(
                ("away@x.example", "here@x.example", "other@x.example"))])
        with engine.connect() as c:
            planned = dict(c.exec_driver_sql(
                "SELECT recipient_email, due_at FROM emails WHERE wake_at = due_at").all())
        assert BACK <= planned["away@x.example"] <= BACK + timedelta(seconds=5)
        assert planned["here@x.example"] == planned["other@x.example"] == due
    finally:
        engine.dispose()
        drop()
