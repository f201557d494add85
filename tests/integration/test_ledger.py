"""The sender's side of the ledger on real Postgres: a round's `sent` in one statement."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy

from tests.support.ledger import schedule_due_now
from tests.support.stack import Services

pytestmark = pytest.mark.integration


def claimed_emails(services: Services, count: int):  # type: ignore[no-untyped-def]
    container = schedule_due_now(services, count)
    with container.engine.begin() as connection:
        connection.execute(sqlalchemy.text("UPDATE emails SET status = 'queued'"))
        ids = [row[0] for row in connection.execute(sqlalchemy.text(
            "SELECT id FROM emails ORDER BY seq"))]
    token = uuid.uuid4()
    lease = datetime.now(UTC) + timedelta(minutes=1)
    claimed = container.ledger.claim(ids, lease, token)
    assert [email.id for email in claimed] == ids
    return container, ids, token


def test_a_round_is_marked_sent_in_one_statement_with_its_message_ids(services: Services):
    container, ids, token = claimed_emails(services, 3)
    sends = [(email_id, f"<{email_id}@test>") for email_id in ids]
    assert container.ledger.mark_sent(sends, token, datetime.now(UTC)) == set(ids)
    assert container.ledger.sent_by(ids, token) == set(ids)
    with container.engine.connect() as connection:
        rows = connection.execute(sqlalchemy.text(
            "SELECT id, status, message_id, attempts FROM emails")).all()
    assert {(row[0], row[1], row[2], row[3]) for row in rows} == {
        (email_id, "sent", f"<{email_id}@test>", 1) for email_id in ids}


def test_only_the_emails_still_claimed_by_the_token_are_marked(services: Services):
    container, ids, token = claimed_emails(services, 3)
    with container.engine.begin() as connection:  # the pump took the second one back
        connection.execute(sqlalchemy.text(
            "UPDATE emails SET status = 'scheduled', claim_token = NULL WHERE id = :id"),
            {"id": ids[1]})
    sends = [(email_id, f"<{email_id}@test>") for email_id in ids]
    marked = container.ledger.mark_sent(sends, token, datetime.now(UTC))
    assert marked == {ids[0], ids[2]}
    assert container.ledger.sent_by(ids, token) == {ids[0], ids[2]}


def test_postponing_never_moves_an_email_earlier(services: Services):
    container = schedule_due_now(services, 2)
    later = datetime.now(UTC) + timedelta(minutes=5)
    with container.engine.begin() as connection:
        connection.execute(sqlalchemy.text(
            "UPDATE emails SET status = 'queued', wake_at = CASE WHEN seq = 0 THEN now() "
            "ELSE CAST(:later AS timestamptz) END"), {"later": later})
        ids = [row[0] for row in connection.execute(sqlalchemy.text(
            "SELECT id FROM emails ORDER BY seq"))]
    soon = datetime.now(UTC) + timedelta(seconds=30)
    container.ledger.postpone(ids, soon)
    states = {state.id: state.ready_at for state in container.ledger.look(ids)}
    assert states[ids[0]] == soon and states[ids[1]] == later
