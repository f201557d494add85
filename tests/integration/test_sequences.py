"""Sequences end to end on real services: the HTTP API, Postgres, Redis, SQS (moto), an
SMTP sink (aiosmtpd) and a real IMAP server (Dovecot): follow-ups that thread, and stop for
a reply or a hard bounce read from the sender's mailbox."""

from __future__ import annotations

import email
import email.policy
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy

from emailsched.local.inbound_samples import bounce_for
from tests.support.mailbox_pipeline import (
    WAIT_SECONDS,
    add_sender,
    append,
    by_recipient,
    schedule,
)
from tests.support.smtp_sinks import ReceivedMessage
from tests.support.stack import Pipeline, wait_until

pytestmark = pytest.mark.integration
pytest_plugins = ["tests.support.dovecot", "tests.support.mailbox_pipeline"]




def reply(to: ReceivedMessage, *, automatic: bool = False, text: str = "Sounds good") -> bytes:
    headers = [f"From: {to.to[0]}", f"To: {to.mail_from}", f"Subject: Re: {to.subject}",
               f"Message-ID: <{uuid.uuid4()}@people.example.org>",
               f"In-Reply-To: {to.message_id}", f"References: {to.message_id}"]
    if automatic:
        headers += ["Auto-Submitted: auto-replied", "X-Autoreply: yes"]
    return ("\r\n".join(headers) + f"\r\n\r\n{text}\r\n").encode()


def headers_of(message: ReceivedMessage) -> Any:
    return email.message_from_bytes(message.raw, policy=email.policy.default)


def rows(pipeline: Pipeline, sql: str, **params: Any) -> list[Any]:
    with pipeline.container.engine.connect() as connection:
        return list(connection.execute(sqlalchemy.text(sql), params))


def test_a_reply_and_a_hard_bounce_stop_their_follow_ups_an_auto_reply_does_not(
        pipeline, sink, dovecot, mailbox):
    stack, api = pipeline
    sender_id = add_sender(api, dovecot, mailbox)
    people = [f"person{i}@example.org" for i in range(5)]
    batch_id = schedule(api, sender_id, people)
    first = {m.to[0]: m for m in sink.wait_for(5, timeout=30)}
    assert set(first) == set(people)
    append(dovecot, mailbox, reply(first[people[0]]))
    append(dovecot, mailbox, reply(first[people[1]], automatic=True, text="I am away"))
    append(dovecot, mailbox, bounce_for(first[people[2]].raw))
    report = stack.container.replies.run()
    assert (report.replies, report.auto_replies, report.hard_bounces) == (1, 1, 1)

    messages = sink.wait_for(8, timeout=WAIT_SECONDS + 30)
    time.sleep(2)  # a follow-up that should not go out would arrive now
    sent = by_recipient(sink.messages)
    assert len(sink.messages) == 8
    assert len(sent[people[0]]) == 1 and len(sent[people[2]]) == 1
    for person in (people[1], people[3], people[4]):
        original, follow_up = sent[person]
        headers = headers_of(follow_up)
        assert headers["Subject"] == "Re: Quick question"
        assert headers["In-Reply-To"] == original.message_id
        assert headers["References"] == original.message_id
        assert follow_up.received_at - original.received_at >= WAIT_SECONDS - 0.5
    assert len(messages) >= 8

    batch = api.get(f"/batches/{batch_id}").json()
    assert batch["counts"]["replied"] == 1
    statuses = dict(rows(stack, "SELECT recipient_email || ':' || step, status FROM emails "
                                "WHERE batch_id = :b", b=batch_id))
    assert statuses[f"{people[0]}:2"] == "replied"
    assert statuses[f"{people[2]}:1"] == "failed"
    # Its follow-up is `suppressed` when it was planned before the bounce was read, and
    # never planned when the bounce came first (a failed email plans nothing).
    assert statuses.get(f"{people[2]}:2", "suppressed") == "suppressed"
    suppressed = api.get("/suppressions").json()["suppressions"]
    assert [(s["email"], s["reason"]) for s in suppressed] == [(people[2], "hard_bounce")]
    listed = api.get("/emails/sent", batchId=batch_id, limit=100).json()["emails"]
    assert sorted(e["step"] for e in listed) == [1] * 5 + [2] * 3


def test_a_restarted_poller_neither_misses_nor_double_counts_and_uidvalidity_resets(
        pipeline, sink, dovecot, mailbox):
    stack, api = pipeline
    sender_id = add_sender(api, dovecot, mailbox)
    people = [f"reader{i}@example.org" for i in range(4)]
    schedule(api, sender_id, people, wait=3600)
    first = {m.to[0]: m for m in sink.wait_for(4, timeout=30)}
    append(dovecot, mailbox, reply(first[people[0]]))
    append(dovecot, mailbox, reply(first[people[1]]))
    poller = stack.container.replies
    mailboxes = stack.container.replies._store.mailboxes_to_poll(False, 10)
    # A poller that reads one message per chunk and "dies" after the first chunk.
    from emailsched.services.replies import ReplyConfig, ReplyPoller

    small = ReplyPoller(poller._store, poller._opener, stack.container.clock, ReplyConfig(chunk=1),
                        stack.container.metrics)
    assert small.run(time_budget_seconds=0.0).replies == 0  # out of budget before reading
    report = small.poll(mailboxes[0], deadline=0.0)  # one chunk, then the deadline stops it
    assert report.replies == 1
    append(dovecot, mailbox, reply(first[people[2]]))
    again = poller.run()
    assert (again.replies, again.duplicates) == (2, 0)
    assert poller.run().messages == 0
    # UIDVALIDITY changes (the folder recreated with the same messages): read from the
    # start, nothing counted twice.
    position = stack.container.replies._store.position(uuid.UUID(sender_id), "INBOX")
    assert position is not None
    with stack.container.engine.begin() as connection:
        connection.execute(sqlalchemy.text(
            "UPDATE mailbox_checkpoints SET uidvalidity = uidvalidity - 1"))
    reread = poller.run()
    assert (reread.messages, reread.replies, reread.duplicates) == (3, 0, 3)
    stops = rows(stack, "SELECT count(*) FROM sequence_stops")
    assert stops[0][0] == 3


def test_a_reply_after_the_follow_up_was_claimed_stops_it_before_the_point_of_no_return(
        pipeline, sink, dovecot, mailbox):
    """The stop is checked at claim time (CLAIM skips stopped recipients), and a stop moves
    a `sending` follow-up too, so a worker that claimed it just before the reply was
    recorded finds its claim gone at the point of no return and sends nothing."""
    stack, api = pipeline
    sender_id = add_sender(api, dovecot, mailbox)
    people = ["early@example.org", "late@example.org"]
    batch_id = schedule(api, sender_id, people, wait=3600)
    first = {m.to[0]: m for m in sink.wait_for(2, timeout=30)}
    wait_until(lambda: len(rows(stack, "SELECT 1 FROM emails WHERE step = 2")) == 2, 15)
    ledger = stack.container.ledger
    ids = {r[0]: r[1] for r in rows(stack, "SELECT recipient_email, id FROM emails "
                                           "WHERE step = 2 AND batch_id = :b", b=batch_id)}
    with stack.container.engine.begin() as connection:  # both due now, on the queue
        connection.execute(sqlalchemy.text(
            "UPDATE emails SET status = 'queued', wake_at = now() WHERE step = 2"))
    # "early": the reply is recorded while its follow-up is still queued: the claim skips it.
    append(dovecot, mailbox, reply(first["early@example.org"]))
    stack.container.replies.run()
    token = uuid.uuid4()
    from datetime import timedelta

    lease = datetime.now(UTC) + timedelta(seconds=60)
    assert ledger.claim([ids["early@example.org"]], lease, token) == []
    # "late": claimed first, then the reply arrives, then the worker reaches the point of
    # no return: its mark_sent finds nothing, so nothing is delivered.
    claimed = ledger.claim([ids["late@example.org"]], lease, token)
    assert [c.id for c in claimed] == [ids["late@example.org"]]
    assert claimed[0].references == (first["late@example.org"].message_id,)
    append(dovecot, mailbox, reply(first["late@example.org"]))
    stack.container.replies.run()
    marked = ledger.mark_sent([(ids["late@example.org"], "<x@example.com>")], token,
                              datetime.now(UTC))
    assert marked == set()
    statuses = dict(rows(stack, "SELECT recipient_email, status FROM emails WHERE step = 2"))
    assert statuses == {"early@example.org": "replied", "late@example.org": "replied"}


WaitFor = Callable[[], bool]


def test_a_bounce_read_later_keeps_the_emails_send_time(pipeline, sink, dovecot, mailbox):
    stack, api = pipeline
    sender_id = add_sender(api, dovecot, mailbox)
    batch_id = schedule(api, sender_id, ["gone@example.org"], wait=3600)
    [sent] = sink.wait_for(1, timeout=30)
    before = api.get("/emails/sent", batchId=batch_id).json()["emails"][0]["sentTime"]
    time.sleep(1.5)  # the bounce is read visibly later than the send
    append(dovecot, mailbox, bounce_for(sent.raw))
    assert stack.container.replies.run().hard_bounces == 1

    [listed] = api.get("/emails/sent", batchId=batch_id).json()["emails"]
    assert listed["status"] == "failed"
    assert listed["sentTime"] == before
    [(sent_at, finished_at)] = rows(stack, "SELECT sent_at, finished_at FROM emails "
                                           "WHERE batch_id = :b AND step = 1", b=batch_id)
    assert abs(datetime.fromisoformat(listed["sentTime"]) - sent_at) < timedelta(milliseconds=1)
    assert finished_at - sent_at >= timedelta(seconds=1)  # the bounce's own time
