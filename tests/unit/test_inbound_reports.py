"""Delivery status reports (RFC 3464) and complaints read by domain/inbound: the failed
recipient, its status, hard or soft, and the Message-ID of our email; reports nested in
multipart/mixed, generic statuses whose reason is in Diagnostic-Code, ARF and JMRP."""

from __future__ import annotations

import pytest

from emailsched.domain.inbound import Bounce, Kind, Recipient, read_inbound
from emailsched.domain.inbound.meaning import bounce_of

pytestmark = pytest.mark.unit
OUR_ID = "<1f0e7c4e-1111-4222-8333-444455556666@mail.example.com>"

POSTFIX = f"""Return-Path: <>
Received: by mx.example.net (Postfix) id 4F2A1; Mon, 3 Mar 2026 10:00:01 +0000 (UTC)
Date: Mon, 3 Mar 2026 10:00:01 +0000 (UTC)
From: MAILER-DAEMON@mx.example.net (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: sales@mail.example.com
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="4F2A1.1740996001/mx.example.net"
Message-Id: <20260303100001.4F2A1@mx.example.net>

This is a MIME-encapsulated message.

--4F2A1.1740996001/mx.example.net
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

<nobody@example.org>: host mx.example.org[198.51.100.7] said: 550 5.1.1
    <nobody@example.org>: Recipient address rejected: User unknown (in reply to
    RCPT TO command)

--4F2A1.1740996001/mx.example.net
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net
X-Postfix-Queue-ID: 4F2A1
Arrival-Date: Mon,  3 Mar 2026 10:00:00 +0000 (UTC)

Final-Recipient: rfc822; nobody@example.org
Original-Recipient: rfc822;nobody@example.org
Action: failed
Status: 5.1.1
Remote-MTA: dns; mx.example.org
Diagnostic-Code: smtp; 550 5.1.1 <nobody@example.org>: Recipient address
    rejected: User unknown

Final-Recipient: rfc822; slow@example.org
Action: delayed
Status: 4.4.1
Diagnostic-Code: X-Postfix; connect to mx.example.org[198.51.100.7]:25: Connection
    timed out

--4F2A1.1740996001/mx.example.net
Content-Description: Undelivered Message
Content-Type: message/rfc822

Message-ID: {OUR_ID}
From: Sales <sales@mail.example.com>
To: nobody@example.org
Subject: Hello

Hello there
--4F2A1.1740996001/mx.example.net--
""".encode()

EXCHANGE = f"""From: postmaster@contoso.onmicrosoft.com
To: sales@mail.example.com
Date: Mon, 3 Mar 2026 10:00:01 +0000
MIME-Version: 1.0
Content-Type: multipart/report; report-type="delivery-status";\r
\tboundary="b1_exch"\r
Subject: Undeliverable: Hello\r
Message-ID: <dsn-1@contoso.onmicrosoft.com>\r
\r
--b1_exch\r
Content-Type: multipart/alternative; boundary="b2_exch"\r
\r
--b2_exch\r
Content-Type: text/plain; charset="us-ascii"\r
\r
Your message to lee@contoso.com couldn't be delivered.\r
--b2_exch\r
Content-Type: text/html; charset="us-ascii"\r
\r
<p>Your message couldn't be delivered.</p>\r
--b2_exch--\r
\r
--b1_exch\r
Content-Type: message/delivery-status\r
\r
Reporting-MTA: dns;AM0PR01MB1234.eurprd01.prod.exchangelabs.com\r
Received-From-MTA: dns;mail.example.com\r
Arrival-Date: Mon, 3 Mar 2026 10:00:00 +0000\r
\r
Final-Recipient: rfc822;lee@contoso.com\r
Action: failed\r
Status: 5.1.10\r
Diagnostic-Code: smtp;550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not\r
 found by SMTP address lookup\r
X-Display-Name: Lee\r
\r
--b1_exch\r
Content-Type: text/rfc822-headers\r
\r
Message-ID: {OUR_ID}\r
From: Sales <sales@mail.example.com>\r
To: lee@contoso.com\r
Subject: Hello\r
\r
--b1_exch--\r
""".encode()


def test_a_postfix_report_names_each_recipient_its_status_and_our_message_id():
    reading = read_inbound(POSTFIX)
    assert reading.kind is Kind.BOUNCE
    assert reading.message_ids[0] == OUR_ID
    first, second = reading.recipients
    assert first == Recipient("nobody@example.org", "5.1.1", "failed", Bounce.HARD,
                              "550 5.1.1 <nobody@example.org>: Recipient address rejected: "
                              "User unknown")
    assert (second.email, second.action, second.status, second.bounce) == (
        "slow@example.org", "delayed", "4.4.1", Bounce.SOFT)


def test_an_exchange_report_with_crlf_and_returned_headers_only_is_read():
    reading = read_inbound(EXCHANGE)
    assert reading.message_ids[0] == OUR_ID
    (recipient,) = reading.recipients
    assert (recipient.email, recipient.status, recipient.bounce) == (
        "lee@contoso.com", "5.1.10", Bounce.HARD)
    assert recipient.diagnostic is not None and "RecipientNotFound" in recipient.diagnostic


def test_an_ordinary_reply_is_not_a_report():
    reply = b"From: a@x.com\r\nSubject: Re: Hello\r\nIn-Reply-To: " + OUR_ID.encode() + \
        b"\r\nContent-Type: text/plain\r\n\r\nThanks!\r\n"
    reading = read_inbound(reply)
    assert (reading.kind, reading.recipients, reading.message_ids) == (Kind.REPLY, (), (OUR_ID,))


def test_a_postfix_notice_without_its_delivery_status_part_is_read_from_its_text():
    text_only = POSTFIX.replace(b"report-type=delivery-status", b"report-type=other")
    text_only = text_only.replace(b"message/delivery-status", b"text/x-removed")
    reading = read_inbound(text_only)
    assert reading.kind is Kind.BOUNCE and reading.message_ids[0] == OUR_ID
    first = reading.recipients[0]
    assert (first.email, first.status, first.bounce) == ("nobody@example.org", "5.1.1",
                                                         Bounce.HARD)


def test_a_report_without_recipient_blocks_or_returned_message_is_not_a_bounce():
    bare = (b"Content-Type: multipart/report; report-type=delivery-status; boundary=x\r\n\r\n"
            b"--x\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; a\r\n"
            b"\r\n--x--\r\n")
    reading = read_inbound(bare)
    assert (reading.kind, reading.recipients, reading.message_ids) == (Kind.AUTO_REPLY, (), ())


def _report(status: str, diagnostic: str, *, outer: str = "multipart/report; "
            "report-type=delivery-status") -> bytes:
    return (f"From: MAILER-DAEMON@mx.example.net\r\nSubject: Delivery Status Notification "
            f"(Failure)\r\nContent-Type: {outer}; boundary=b\r\n\r\n--b\r\n"
            f"Content-Type: text/plain\r\n\r\nIt failed.\r\n--b\r\n"
            f"Content-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx\r\n\r\n"
            f"Final-Recipient: rfc822; lee@example.org\r\nAction: failed\r\n"
            f"Status: {status}\r\nDiagnostic-Code: smtp; {diagnostic}\r\n\r\n--b\r\n"
            f"Content-Type: text/rfc822-headers\r\n\r\nMessage-ID: {OUR_ID}\r\n\r\n"
            f"--b--\r\n").encode()


@pytest.mark.parametrize(("status", "diagnostic", "bounce"), [
    ("5.0.0", "550 5.1.1 user unknown", Bounce.HARD),
    ("5.0.0", "554 delivery error: dd This user doesn't have a yahoo.com account "
              "(lee@yahoo.com) [0] - mta1.mail.yahoo.com", Bounce.HARD),
    ("5.4.1", "550 5.4.1 Recipient address rejected: Access denied. AS(201806281) "
              "[DB5EUR03FT043.eop-EUR03.prod.protection.outlook.com]", Bounce.HARD),
    ("5.4.4", "Unable to route: domain not found", Bounce.HARD),
    ("5.5.0", "Host or domain name not found. Name service error for name=example.org",
     Bounce.HARD),
    ("5.0.0", "552 Requested mail action aborted: exceeded storage allocation", Bounce.SOFT),
    ("5.0.0", "550 5.7.1 Message rejected as spam by Content Filtering", Bounce.SOFT),
    ("5.2.2", "552 5.2.2 The email account that you tried to reach is over quota",
     Bounce.SOFT),
    ("5.3.4", "552 5.3.4 Message too large", Bounce.SOFT),
    ("5.0.0", "550 Mailbox unavailable: quota exceeded", Bounce.SOFT),
    ("4.2.2", "452 4.2.2 mailbox full", Bounce.SOFT),
    ("5.1.8", "553 5.1.8 sender address domain does not exist", Bounce.SOFT),
])
def test_a_report_is_classed_by_its_meaning_not_only_its_code(status, diagnostic, bounce):
    (recipient,) = read_inbound(_report(status, diagnostic)).recipients
    assert (recipient.email, recipient.bounce) == ("lee@example.org", bounce)


def test_a_delivery_status_part_inside_multipart_mixed_is_read():
    reading = read_inbound(_report("5.1.1", "550 5.1.1 no such user", outer="multipart/mixed"))
    assert reading.kind is Kind.BOUNCE and reading.message_ids == (OUR_ID,)
    assert [r.bounce for r in reading.recipients] == [Bounce.HARD]


@pytest.mark.parametrize(("diagnostic", "bounce"), [
    ("550 Requested action not taken: mailbox unavailable", Bounce.HARD),
    ("Sorry, no mailbox here by that name. (#5.1.1)", Bounce.HARD),
    ("This account has been disabled or discontinued", Bounce.HARD),
    ("The recipient name is not recognized", Bounce.HARD),
    ("host unknown", Bounce.HARD),
    ("This account is over quota", Bounce.SOFT),
    ("Connection timed out", Bounce.SOFT),
    ("554 Message looping", Bounce.SOFT),
    ("The message could not be delivered.", Bounce.SOFT),  # no reason: not suppressed at once
])
def test_text_without_a_status_is_classed_by_its_words(diagnostic, bounce):
    assert bounce_of(None, diagnostic) is bounce


def test_a_delayed_report_is_soft_whatever_its_words():
    assert bounce_of("4.4.1", "user unknown", "delayed") is Bounce.SOFT


def test_a_report_of_successful_deliveries_is_not_a_bounce():
    delivered = POSTFIX.replace(b"Action: failed", b"Action: delivered").replace(
        b"Action: delayed", b"Action: relayed")
    reading = read_inbound(delivered)
    assert (reading.kind, reading.recipients) == (Kind.AUTO_REPLY, ())
