"""Bounces and complaints as real servers send them, end to end (issue 24): a text bounce
with no RFC 3464 part and no Message-ID of ours (matched by its failed recipient), an
RFC 3464 report whose Status is only 5.0.0 (the 550 5.1.1 in Diagnostic-Code), and an ARF
spam complaint, appended to a sender's mailbox on a real IMAP server (Dovecot) and read by
the reply poller: each suppresses its recipient with the right reason and no follow-up
goes to them; the one recipient left alone gets theirs."""

from __future__ import annotations

import time
import uuid

import pytest

from emailsched.local.inbound_samples import bounce_for
from tests.support.mailbox_pipeline import (
    WAIT_SECONDS,
    add_sender,
    append,
    by_recipient,
    schedule,
)
from tests.support.smtp_sinks import ReceivedMessage

pytestmark = pytest.mark.integration
pytest_plugins = ["tests.support.dovecot", "tests.support.mailbox_pipeline"]




def exim_text_bounce(to: ReceivedMessage) -> bytes:
    """Exim's text notice; the original's headers returned without its Message-ID."""
    recipient = to.to[0]
    return (f"Return-path: <>\r\nFrom: Mail Delivery System <Mailer-Daemon@mx.example.org>\r\n"
            f"To: {to.mail_from}\r\nSubject: Mail delivery failed: returning message to "
            f"sender\r\nMessage-Id: <E1{uuid.uuid4().hex[:10]}@mx.example.org>\r\n"
            f"Auto-Submitted: auto-replied\r\n\r\nThis message was created automatically by "
            f"mail delivery software.\r\n\r\nA message that you sent could not be delivered "
            f"to one or more of its\r\nrecipients. This is a permanent error. The following "
            f"address(es) failed:\r\n\r\n  {recipient}\r\n    unknown user\r\n\r\n------ This is "
            f"a copy of the message's headers. ------\r\n\r\nFrom: {to.mail_from}\r\n"
            f"To: {recipient}\r\nSubject: {to.subject}\r\n").encode()


def arf_complaint(to: ReceivedMessage, *, redacted: bool = False) -> bytes:
    """An ARF abuse report; `redacted`: no Original-Rcpt-To and the original's To blanked,
    as some providers send them (only our Message-ID is left to match)."""
    header_end = to.raw.find(b"\r\n\r\n")
    returned = to.raw[:header_end].decode("utf-8", "replace")
    rcpt = f"Original-Rcpt-To: <{to.to[0]}>\r\n"
    if redacted:
        returned = returned.replace(to.to[0], "redacted@provider.invalid")
        rcpt = ""
    return (f"From: <fbl@isp.example>\r\nTo: <abuse@example.com>\r\nSubject: Abuse report\r\n"
            f"Message-ID: <{uuid.uuid4()}@isp.example>\r\nMIME-Version: 1.0\r\n"
            f"Content-Type: multipart/report; report-type=feedback-report; boundary=\"arf\""
            f"\r\n\r\n--arf\r\nContent-Type: text/plain\r\n\r\nAn abuse report.\r\n\r\n--arf\r\n"
            f"Content-Type: message/feedback-report\r\n\r\nFeedback-Type: abuse\r\n"
            f"User-Agent: ISP-FBL/1.0\r\nVersion: 1\r\n{rcpt}\r\n"
            f"--arf\r\nContent-Type: text/rfc822-headers\r\n\r\n{returned}\r\n\r\n--arf--\r\n"
            ).encode()


def test_a_text_bounce_a_5_0_0_report_and_a_complaint_each_suppress_and_stop_follow_ups(
        pipeline, sink, dovecot, mailbox):
    stack, api = pipeline
    sender_id = add_sender(api, dovecot, mailbox)
    people = [f"lead{i}@example.org" for i in range(4)]
    batch_id = schedule(api, sender_id, people)
    first = {m.to[0]: m for m in sink.wait_for(4, timeout=30)}
    append(dovecot, mailbox, exim_text_bounce(first[people[0]]))
    append(dovecot, mailbox, bounce_for(first[people[1]].raw, status="5.0.0",
                                        diagnostic="smtp; 550 5.1.1 <lead1@example.org>: "
                                                   "Recipient address rejected: User unknown"))
    append(dovecot, mailbox, arf_complaint(first[people[2]]))
    report = stack.container.replies.run()
    assert (report.hard_bounces, report.complaints, report.replies) == (2, 1, 0)

    sink.wait_for(5, timeout=WAIT_SECONDS + 30)
    time.sleep(2)  # a follow-up that should not go out would arrive now
    sent = by_recipient(sink.messages)
    assert [len(sent[p]) for p in people] == [1, 1, 1, 2]

    suppressed = {s["email"]: s["reason"] for s in api.get("/suppressions").json()[
        "suppressions"]}
    assert suppressed == {people[0]: "hard_bounce", people[1]: "hard_bounce",
                          people[2]: "complaint"}
    counts = api.get(f"/batches/{batch_id}").json()["counts"]
    assert (counts["bounced"], counts["complained"]) == (2, 1)
    assert stack.container.replies.run().duplicates == 0  # read from the checkpoint: nothing


def full_mailbox_report(to: ReceivedMessage) -> bytes:
    return bounce_for(to.raw, status="5.2.2",
                      diagnostic="smtp; 552 5.2.2 The email account that you tried to reach "
                                 "is over quota")


def test_soft_bounces_in_a_row_suppress_at_the_threshold_and_not_before(
        pipeline, sink, dovecot, mailbox):
    stack, api = pipeline
    sender_id = add_sender(api, dovecot, mailbox)
    full, fuller = "full@example.org", "fuller@example.org"
    for people in ([full, fuller], [full, fuller], [full]):  # three sends to `full`
        schedule(api, sender_id, people, wait=3600)
    sent = sink.wait_for(5, timeout=30)
    for message in sent:
        append(dovecot, mailbox, full_mailbox_report(message))
    append(dovecot, mailbox, full_mailbox_report(sent[0]))  # a second report of one email
    delayed = bounce_for(sent[1].raw, status="4.2.2", diagnostic="smtp; 452 4.2.2 over quota")
    append(dovecot, mailbox, delayed.replace(b"Action: failed", b"Action: delayed"))
    report = stack.container.replies.run()
    # SOFT_BOUNCES_BEFORE_SUPPRESS (3): one per email; a repeated report or a delay
    # warning counts nothing.
    assert (report.soft_bounces, report.suppressed_after_soft, report.duplicates,
            report.delayed, report.hard_bounces) == (5, 1, 1, 1, 0)
    suppressed = {s["email"]: s["reason"] for s in api.get("/suppressions").json()[
        "suppressions"]}
    assert suppressed == {full: "hard_bounce"}


def test_complaints_over_the_rate_pause_the_senders_batches(pipeline, sink, dovecot,
                                                            mailbox):
    stack, api = pipeline
    sender_id = add_sender(api, dovecot, mailbox)
    people = [f"reader{i}@example.org" for i in range(20)]
    batch_id = schedule(api, sender_id, people, wait=3600)  # follow-ups still to come
    first = {m.to[0]: m for m in sink.wait_for(20, timeout=60)}
    append(dovecot, mailbox, arf_complaint(first[people[0]], redacted=True))
    assert stack.container.replies.run().complaints == 1
    batch = api.get(f"/batches/{batch_id}").json()
    # 1 complaint in the sender's last 20 sends is over 0.3 %: its batches pause.
    assert (batch["status"], batch["pausedReason"]) == ("paused", "complaint_rate")
    assert batch["counts"]["complained"] == 1
    suppressed = api.get("/suppressions").json()["suppressions"]
    assert [(s["email"], s["reason"]) for s in suppressed] == [(people[0], "complaint")]
