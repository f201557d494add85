"""Delivery status reports (RFC 3464): the failed recipient, its status and the Message-ID
of our email, from Postfix- and Exchange-style reports."""

from __future__ import annotations

import pytest

from emailsched.domain.bounces import BounceClass
from emailsched.domain.dsn import DsnRecipient, parse_dsn

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
    report = parse_dsn(POSTFIX)
    assert report is not None
    assert report.original_message_id == OUR_ID
    first, second = report.recipients
    assert first == DsnRecipient("nobody@example.org", "failed", "5.1.1",
                                 "smtp; 550 5.1.1 <nobody@example.org>: Recipient address "
                                 "rejected: User unknown")
    assert first.bounce_class is BounceClass.HARD_BOUNCE
    assert (second.final_recipient, second.action, second.status) == (
        "slow@example.org", "delayed", "4.4.1")
    assert second.bounce_class is BounceClass.TRANSIENT


def test_an_exchange_report_with_crlf_and_returned_headers_only_is_read():
    report = parse_dsn(EXCHANGE)
    assert report is not None
    assert report.original_message_id == OUR_ID
    (recipient,) = report.recipients
    assert recipient.final_recipient == "lee@contoso.com"
    assert recipient.status == "5.1.10"
    assert recipient.diagnostic is not None and "RecipientNotFound" in recipient.diagnostic
    assert recipient.bounce_class is BounceClass.HARD_BOUNCE


def test_a_delivered_action_has_no_bounce_class():
    assert DsnRecipient("a@x.com", "delivered", "2.0.0").bounce_class is None


def test_an_ordinary_reply_is_not_a_report():
    reply = b"From: a@x.com\r\nSubject: Re: Hello\r\nIn-Reply-To: " + OUR_ID.encode() + \
        b"\r\nContent-Type: text/plain\r\n\r\nThanks!\r\n"
    assert parse_dsn(reply) is None


def test_another_kind_of_report_is_not_a_delivery_report():
    feedback = POSTFIX.replace(b"report-type=delivery-status", b"report-type=feedback-report")
    assert parse_dsn(feedback) is None


def test_a_report_without_recipient_blocks_or_returned_message_is_empty_not_an_error():
    bare = (b"Content-Type: multipart/report; report-type=delivery-status; boundary=x\r\n\r\n"
            b"--x\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; a\r\n"
            b"\r\n--x--\r\n")
    report = parse_dsn(bare)
    assert report is not None and report.recipients == () and report.original_message_id is None
