"""The inbox end to end on real services (issue 26): the HTTP API, Postgres, Redis, SQS
(moto), a real IMAP server (Dovecot) read by the reply poller, and an SMTP sink with TLS and
AUTH standing for the sender's own mailbox. Replies are kept sanitised and threaded, an
out-of-office moves the lead's follow-up past its return date, "remove me" suppresses, a
reply written in the product goes out once, threaded, through the sender's own login, and
another user sees none of it."""

from __future__ import annotations

import email
import email.policy
import imaplib
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy

from emailsched.local.inbound_samples import bounce_for
from tests.support.dovecot import DovecotServer
from tests.support.smtp_sinks import ReceivedMessage, TlsAuthSink
from tests.support.stack import Api, Pipeline, Services, prepare, wait_until

pytestmark = pytest.mark.integration
pytest_plugins = ["tests.support.dovecot"]
IMAP_PASSWORD = "imap-secret"
SMTP_PASSWORD = "smtp-Secret-of-the-box"


@pytest.fixture
def box(dovecot: DovecotServer) -> str:
    user = f"sales-{uuid.uuid4().hex[:8]}@example.com"
    dovecot.add_user(user, IMAP_PASSWORD)
    return user


@pytest.fixture
def smtp(box: str) -> Iterator[TlsAuthSink]:
    sink = TlsAuthSink(box, SMTP_PASSWORD).start()
    try:
        yield sink
    finally:
        sink.stop()


@pytest.fixture
def stack(services: Services) -> Iterator[tuple[Pipeline, Api]]:
    container = prepare(services.settings(SMTP_TLS_VERIFY=False, RATE_WINDOW_SECONDS=60))
    started = Pipeline(container, pollers=2).start()
    try:
        yield started, Api(started.url)
    finally:
        started.close()
        container.close()


def add_sender(api: Api, dovecot: DovecotServer, smtp: TlsAuthSink, user: str) -> str:
    answer = api.post("/senders", {
        "email": user, "name": "Sales",
        "smtp": {"host": smtp.host, "port": smtp.port, "security": "starttls",
                 "username": user, "password": SMTP_PASSWORD},
        "imap": {"host": dovecot.host, "port": dovecot.port, "security": "none",
                 "username": user, "password": IMAP_PASSWORD}})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def schedule(api: Api, sender_id: str, recipients: list[str], wait: int,
             jitter_ms: int = 0) -> str:
    answer = api.post("/emails/schedule", {
        "subject": "Quick question", "body": "<p>Hello there</p>", "recipients": recipients,
        "startTime": datetime.now(UTC).isoformat(), "delayMs": 0, "hourlyLimit": 1000,
        "senderIds": [sender_id], "randomDelayMs": jitter_ms,
        "steps": [{"body": "<p>Just following up</p>", "waitSeconds": wait}]})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["batchId"])


def append(dovecot: DovecotServer, user: str, raw: bytes) -> None:
    connection = dovecot.imap(user, IMAP_PASSWORD)
    try:
        status, _ = connection.append("INBOX", "", imaplib.Time2Internaldate(time.time()), raw)
        assert status == "OK"
    finally:
        connection.logout()


def answer_to(to: ReceivedMessage, body: str, *, html: str | None = None,
              automatic: bool = False, subject: str | None = None) -> tuple[bytes, str]:
    message_id = f"<{uuid.uuid4()}@people.example.org>"
    message = email.message.EmailMessage()
    message["From"] = to.to[0]
    message["To"] = to.mail_from
    message["Subject"] = subject or f"Re: {to.subject}"
    message["Message-ID"] = message_id
    message["In-Reply-To"] = to.message_id
    message["References"] = to.message_id
    if automatic:
        message["Auto-Submitted"] = "auto-replied"
    message.set_content(body)
    if html is not None:
        message.add_alternative(html, subtype="html")
    return message.as_bytes(), message_id


def rows(stack: Pipeline, sql: str, **params: Any) -> list[Any]:
    with stack.container.engine.connect() as connection:
        return list(connection.execute(sqlalchemy.text(sql), params))


def thread_of(api: Api, recipient: str) -> dict[str, Any]:
    threads = api.get("/inbox", limit=100).json()["threads"]
    [found] = [t for t in threads if t["recipientEmail"] == recipient]
    return found


HOSTILE = ('<p onmouseover="steal()">Yes, <b>call me</b></p><script>alert(1)</script>'
           '<img src="https://tracker.example/p.gif" onerror="alert(2)">'
           '<a href="javascript:alert(3)">click</a>')


def test_a_reply_is_kept_sanitised_and_answered_once_through_the_senders_login(
        stack, smtp, dovecot, box):
    pipeline, api = stack
    sender_id = add_sender(api, dovecot, smtp, box)
    people = ["ann@people.example.org", "bob@people.example.org"]
    schedule(api, sender_id, people, wait=3600)
    first = {m.to[0]: m for m in smtp.wait_for(2, timeout=30)}
    raw, their_id = answer_to(first[people[0]], "Yes, call me", html=HOSTILE)
    append(dovecot, box, raw)
    assert pipeline.container.replies.run().replies == 1

    listed = api.get("/inbox").json()
    assert listed["pagination"]["total"] == 1
    [thread] = listed["threads"]
    assert (thread["recipientEmail"], thread["leadStatus"], thread["unread"],
            thread["messageCount"], thread["senderId"]) == (people[0], "replied", True, 2,
                                                            sender_id)
    assert api.get("/inbox", unread="true").json()["pagination"]["total"] == 1
    assert api.get("/inbox", q="call").json()["pagination"]["total"] == 1
    for address_words in ("ann", people[0], "people.example.org"):
        assert api.get("/inbox", q=address_words).json()["pagination"]["total"] == 1
    assert api.get("/inbox", q="bob").json()["pagination"]["total"] == 0  # never answered
    assert api.get("/inbox", q="pricing").json()["pagination"]["total"] == 0

    detail = api.get(f"/inbox/{thread['id']}").json()
    ours, theirs = detail["messages"]
    assert (ours["direction"], ours["kind"], ours["messageId"]) == \
        ("out", "email", first[people[0]].message_id)
    assert (theirs["direction"], theirs["kind"], theirs["messageId"]) == ("in", "reply", their_id)
    assert "<b>call me</b>" in theirs["html"] and theirs["text"].strip() == "Yes, call me"
    for gone in ("<script", "alert(1)", "onmouseover", "onerror", "javascript:",
                 ' src="https://tracker'):
        assert gone not in theirs["html"]
    assert 'data-remote-src="https://tracker.example/p.gif"' in theirs["html"]
    assert api.get("/inbox", unread="true").json()["pagination"]["total"] == 0

    # Read again from the start: nothing is stored twice.
    rows(pipeline, "SELECT 1")  # the engine is shared; the checkpoint is reset below
    with pipeline.container.engine.begin() as c:
        c.execute(sqlalchemy.text("DELETE FROM mailbox_checkpoints"))
    pipeline.container.replies.run()
    assert rows(pipeline, "SELECT count(*) FROM inbox_messages")[0][0] == 1

    other = Api(pipeline.url, "mallory@example.com")
    assert other.get(f"/inbox/{thread['id']}").status_code == 404
    assert other.post(f"/inbox/{thread['id']}/reply", {"body": "<p>x</p>"}).status_code == 404
    assert other.session.patch(f"{pipeline.url}/inbox/{thread['id']}",
                               json={"leadStatus": "closed"}).status_code == 404
    assert other.get("/inbox").json()["threads"] == []

    logins_before = len(smtp.messages)
    created = api.post(f"/inbox/{thread['id']}/reply", {"body": "<p>Great, Tuesday?</p>"})
    assert created.status_code == 201, created.text
    assert (created.json()["direction"], created.json()["subject"]) == ("out",
                                                                       "Re: Quick question")
    [sent] = smtp.wait_for(logins_before + 1, timeout=30)[logins_before:]
    time.sleep(2)  # a second copy would arrive now
    assert len(smtp.messages) == logins_before + 1
    headers = email.message_from_bytes(sent.raw, policy=email.policy.default)
    assert list(sent.to) == [people[0]] and headers["Subject"] == "Re: Quick question"
    assert headers["In-Reply-To"] == their_id
    assert headers["References"].split() == [first[people[0]].message_id, their_id]
    assert "Great, Tuesday?" in sent.raw.decode()

    conversation = wait_until(lambda: [m for m in api.get(f"/inbox/{thread['id']}").json()[
        "messages"] if m["kind"] == "reply" and m["direction"] == "out" and m["messageId"]],
        timeout=10)
    assert conversation[0]["messageId"] == sent.message_id
    assert rows(pipeline, "SELECT kind, status FROM emails WHERE step < 1") == [("reply", "sent")]


def test_out_of_office_moves_the_follow_up_past_the_return_date(stack, smtp, dovecot, box):
    pipeline, api = stack
    sender_id = add_sender(api, dovecot, smtp, box)
    people = ["away@people.example.org", "here@people.example.org"]
    batch_id = schedule(api, sender_id, people, wait=20, jitter_ms=5000)
    first = {m.to[0]: m for m in smtp.wait_for(2, timeout=30)}
    back = (datetime.now(UTC) + timedelta(days=3)).date()
    raw, _ = answer_to(first[people[0]], f"I am out of the office until {back:%d %B %Y}.",
                       automatic=True, subject="Automatic reply: Quick question")
    append(dovecot, box, raw)
    assert pipeline.container.replies.run().auto_replies == 1
    assert thread_of(api, people[0])["leadStatus"] == "out_of_office"

    due = wait_until(lambda: dict(rows(
        pipeline, "SELECT recipient_email, due_at FROM emails WHERE batch_id = :b AND step = 2",
        b=batch_id)) if len(rows(pipeline, "SELECT 1 FROM emails WHERE batch_id = :b AND "
                                           "step = 2", b=batch_id)) == 2 else None,
        timeout=40)
    morning = datetime.combine(back + timedelta(days=1), datetime.min.time(), UTC).replace(hour=9)
    assert morning <= due[people[0]] <= morning + timedelta(seconds=5)  # the batch's jitter
    assert due[people[1]] < datetime.now(UTC) + timedelta(minutes=1)
    follow_ups = wait_until(lambda: [m for m in smtp.messages if "following up" in
                                     m.raw.decode()], timeout=40)
    assert [list(m.to) for m in follow_ups] == [[people[1]]]


def test_remove_me_suppresses_a_bounce_shows_and_a_lead_status_ends_follow_ups(
        stack, smtp, dovecot, box):
    pipeline, api = stack
    sender_id = add_sender(api, dovecot, smtp, box)
    people = ["stop@people.example.org", "meh@people.example.org", "gone@people.example.org"]
    batch_id = schedule(api, sender_id, people, wait=3600)
    first = {m.to[0]: m for m in smtp.wait_for(3, timeout=30)}
    append(dovecot, box, answer_to(first[people[0]], "Please remove me from your list.")[0])
    append(dovecot, box, answer_to(first[people[1]], "Hm, maybe. What does it cost?")[0])
    append(dovecot, box, bounce_for(first[people[2]].raw))
    pipeline.container.replies.run()

    suppressed = api.get("/suppressions").json()["suppressions"]
    assert sorted((s["email"], s["reason"]) for s in suppressed) == [
        (people[2], "hard_bounce"), (people[0], "unsubscribed")]
    bounced = thread_of(api, people[2])
    assert bounced["leadStatus"] == "bounced"
    assert [m["kind"] for m in api.get(f"/inbox/{bounced['id']}").json()["messages"]] == \
        ["email", "bounce"]
    removed = thread_of(api, people[0])
    assert removed["leadStatus"] == "unsubscribed"
    assert api.post(f"/inbox/{removed['id']}/reply", {"body": "<p>Sorry</p>"}).status_code \
        == 409

    maybe = thread_of(api, people[1])
    patched = api.session.patch(f"{pipeline.url}/inbox/{maybe['id']}",
                                json={"leadStatus": "not_interested", "unread": False})
    assert patched.status_code == 200, patched.text
    assert (patched.json()["leadStatus"], patched.json()["unread"]) == ("not_interested", False)
    assert api.get("/inbox", leadStatus="not_interested").json()["pagination"]["total"] == 1
    bad = api.session.patch(f"{pipeline.url}/inbox/{maybe['id']}", json={"leadStatus": "x"})
    assert bad.status_code == 400

    [first_email] = [e for e in api.get("/emails", batchId=batch_id, recipient=people[1])
                     .json()["emails"] if e["step"] == 1]
    assert first_email["leadStatus"] == "not_interested"
    events = api.get(f"/emails/{first_email['id']}").json()["events"]
    changes = [(e["by"], e["detail"]) for e in events if e["type"] == "lead_status_changed"]
    assert changes == [("poller", {"from": "new", "to": "replied"}),
                       ("user", {"from": "replied", "to": "not_interested"})]
    stops = dict(rows(pipeline, "SELECT recipient_email, reason FROM sequence_stops"))
    assert stops == {people[0]: "unsubscribed", people[1]: "replied",
                     people[2]: "hard_bounce"}
