"""What the reply poller spends reading one inbound message (domain/inbound read_inbound,
the CPU before any database lookup), over a mailbox's usual mix: people's replies,
automatic replies, RFC 3464 reports, text bounces (no RFC 3464) and spam complaints.

The messages are built here (no corpus needed): a reply and an out-of-office as mail
clients write them, a Postfix DSN (local/inbound_samples.py), an Exim text bounce and
an ARF report shaped as RFC 5965's example."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

from emailsched.bench.report import Section
from emailsched.local.inbound_samples import bounce_for

ORIGINAL = ("Message-ID: <{id}@mail.example.com>\r\nFrom: Sales <sales@example.com>\r\n"
            "To: {to}\r\nSubject: Quick question\r\n\r\nHello there\r\n")
REPLY = ("From: {to}\r\nTo: sales@example.com\r\nSubject: Re: Quick question\r\n"
         "Message-ID: <{n}@people.example.org>\r\nIn-Reply-To: <{id}@mail.example.com>\r\n"
         "References: <{id}@mail.example.com>\r\nContent-Type: text/plain\r\n\r\n"
         "Sounds good, call me on Monday.\r\n\r\nOn Monday Sales wrote:\r\n> Hello there\r\n")
AWAY = ("From: {to}\r\nTo: sales@example.com\r\nSubject: Automatic reply: Quick question\r\n"
        "Message-ID: <{n}@people.example.org>\r\nAuto-Submitted: auto-replied\r\n"
        "In-Reply-To: <{id}@mail.example.com>\r\n\r\nI am out of the office until Monday.\r\n")
EXIM = ("Return-path: <>\r\nFrom: Mail Delivery System <Mailer-Daemon@mx.example.net>\r\n"
        "To: sales@example.com\r\nSubject: Mail delivery failed: returning message to sender"
        "\r\nMessage-Id: <E1{n}@mx.example.net>\r\nX-Failed-Recipients: {to}\r\n"
        "Auto-Submitted: auto-replied\r\n\r\nThis message was created automatically by mail "
        "delivery software.\r\n\r\nA message that you sent could not be delivered to one or "
        "more of its\r\nrecipients. This is a permanent error. The following address(es) "
        "failed:\r\n\r\n  {to}\r\n    SMTP error from remote mail server after RCPT TO:<{to}>:"
        "\r\n    550 5.1.1 <{to}>: Recipient address rejected: User unknown\r\n\r\n------ This "
        "is a copy of the message, including all the headers. ------\r\n\r\n" + ORIGINAL)
ARF = ("From: <abuse@isp.example>\r\nTo: <abuse@example.com>\r\nSubject: FW: Quick question"
       "\r\nMessage-ID: <{n}@isp.example>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/"
       "report; report-type=feedback-report;\r\n boundary=\"part1\"\r\n\r\n--part1\r\n"
       "Content-Type: text/plain\r\n\r\nThis is an email abuse report.\r\n\r\n--part1\r\n"
       "Content-Type: message/feedback-report\r\n\r\nFeedback-Type: abuse\r\nUser-Agent: "
       "SomeGenerator/1.0\r\nVersion: 1\r\nOriginal-Rcpt-To: <{to}>\r\n\r\n--part1\r\n"
       "Content-Type: message/rfc822\r\nContent-Disposition: inline\r\n\r\n" + ORIGINAL +
       "\r\n--part1--\r\n")


def mailbox(count: int, ids: Callable[[int], str] | None = None) -> list[bytes]:
    """`count` messages: per ten, five replies, two automatic replies, a DSN, a text
    bounce and a complaint (roughly a cold-email inbox). Message n answers our email
    `<ids(n)@mail.example.com>` to `lead{n}@example.org`."""
    templates = [REPLY] * 5 + [AWAY] * 2 + [None, EXIM, ARF]
    messages = []
    for n in range(count):
        fields = {"id": ids(n) if ids else uuid.uuid4().hex, "to": f"lead{n}@example.org",
                  "n": n}
        template = templates[n % len(templates)]
        if template is None:
            messages.append(bounce_for(ORIGINAL.format(**fields).encode()))
        else:
            messages.append(template.format(**fields).encode())
    return messages


def per_message_ms(read: Callable[[bytes], object], messages: list[bytes]) -> float:
    started = time.process_time()
    for raw in messages:
        read(raw)
    return (time.process_time() - started) * 1000 / len(messages)


def run_inbound(count: int, section: Section) -> None:
    from emailsched.domain.inbound import read_inbound

    messages = mailbox(count)
    per_message_ms(read_inbound, messages[:50])  # warm: imports, compiled patterns
    cost = per_message_ms(read_inbound, messages)
    section.add("reading per inbound message (replies, auto-replies, bounces, complaints)",
                cost, "ms")
    section.add("  messages read per second of CPU, one thread", 1000 / cost, "/s")
    section.notes.append(
        f"{count} messages, CPU time of one thread in read_inbound (parse, complaint, "
        "RFC 3464, text formats and flufl.bounce, reply signals); database lookups apart.")
