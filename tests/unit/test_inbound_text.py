"""Text bounces and the signs of a mail system (domain/inbound): who sent it, which
addresses failed and why, and that a person passing a bounce on is still writing to us."""

from __future__ import annotations

import pytest

from emailsched.domain.inbound import Bounce, Kind, read_inbound

pytestmark = pytest.mark.unit
OUR_ID = "<0d9a3c1e-5b7f-4e21-8f60-7a1b2c3d4e5f@mail.example.com>"
QUOTED = (f"\r\n------ This is a copy of the message, including all the headers. ------\r\n"
          f"Message-ID: {OUR_ID}\r\nFrom: Sales <sales@mail.example.com>\r\n"
          f"To: lee@example.org\r\nSubject: Quick question\r\n\r\nHello there\r\n")


def message(sender: str, subject: str, body: str, *headers: str) -> bytes:
    head = "\r\n".join([f"From: {sender}", "To: sales@mail.example.com",
                        f"Subject: {subject}", "Message-ID: <n1@mx.example.net>", *headers])
    return f"{head}\r\n\r\n{body}".encode()


@pytest.mark.parametrize("sender", [
    "MAILER-DAEMON@mx.example.net", "Mail Delivery System <mailer-daemon@example.net>",
    "postmaster@carrier.example", "post_master@sms.carrier.example", "mailer@relay.example",
    "Mail Delivery Subsystem <root@host.example>", "mailman-bounces@lists.example.org",
    "owner-sales@lists.example.org", "<>",
])
def test_daemon_senders_in_their_real_spellings_make_a_bounce_never_a_reply(sender):
    raw = message(sender, "Re: Quick question", "Your message could not be delivered to "
                  "lee@example.org: user unknown." + QUOTED, f"In-Reply-To: {OUR_ID}")
    reading = read_inbound(raw)
    assert reading.kind is Kind.BOUNCE
    assert OUR_ID in reading.message_ids


def test_x_failed_recipients_alone_names_the_failed_address():
    raw = message("Mail Delivery System <Mailer-Daemon@host.example>", "Mail delivery failed",
                  "Something went wrong." + QUOTED, "X-Failed-Recipients: lee@example.org")
    reading = read_inbound(raw)
    assert [r.email for r in reading.recipients] == ["lee@example.org"]
    assert reading.message_ids == (OUR_ID,)


def test_a_person_forwarding_a_bounce_in_a_thread_is_a_reply():
    raw = message("Carla <carla@customer.example>", "Fwd: Undelivered Mail Returned to Sender",
                  "Dave left; your mail bounced:\r\n\r\n<dave@customer.example>: user unknown",
                  f"In-Reply-To: {OUR_ID}", f"References: {OUR_ID}")
    assert read_inbound(raw).kind is Kind.REPLY


GMAIL = ("** Address not found **\r\n\r\nYour message wasn't delivered to lee@example.org "
         "because the address couldn't be found, or is unable to receive mail.\r\n\r\n"
         "The response from the remote server was:\r\n550 5.1.1 The email account that you "
         "tried to reach does not exist.\r\n")
M365 = ("Your message to lee@example.org couldn't be delivered.\r\nlee wasn't found at "
        "example.org.\r\n\r\nDiagnostic information for administrators:\r\n\r\n"
        "Generating server: AM0PR01MB1234.eurprd01.prod.outlook.com\r\n\r\nlee@example.org\r\n"
        "Remote Server returned '550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not "
        "found by SMTP address lookup'\r\n")
EXIM = ("This message was created automatically by mail delivery software.\r\n\r\nA message "
        "that you sent could not be delivered to one or more of its\r\nrecipients. This is a "
        "permanent error. The following address(es) failed:\r\n\r\n  lee@example.org\r\n"
        "    host mx.example.org [192.0.2.7]\r\n    SMTP error from remote mail server after "
        "RCPT TO:<lee@example.org>:\r\n    552 5.2.2 Mailbox full\r\n")
SES = ("An error occurred while trying to deliver the mail to the following recipients:\r\n"
       "lee@example.org\r\n")


@pytest.mark.parametrize(("name", "sender", "subject", "body", "status", "bounce"), [
    ("gmail", "Mail Delivery Subsystem <mailer-daemon@googlemail.com>",
     "Delivery Status Notification (Failure)", GMAIL, "5.1.1", Bounce.HARD),
    ("microsoft 365", "Microsoft Outlook <postmaster@example.onmicrosoft.com>",
     "Undeliverable: Quick question", M365, "5.1.10", Bounce.HARD),
    ("exim", "Mail Delivery System <Mailer-Daemon@host.example>",
     "Mail delivery failed: returning message to sender", EXIM, "5.2.2", Bounce.SOFT),
    ("amazon ses", "MAILER-DAEMON@amazonses.com", "Delivery Status Notification (Failure)",
     SES, None, Bounce.SOFT),
])
def test_text_formats_give_the_address_status_and_class(name, sender, subject, body, status,
                                                          bounce):
    reading = read_inbound(message(sender, subject, body + QUOTED))
    assert reading.kind is Kind.BOUNCE, name
    assert [(r.email, r.status, r.bounce) for r in reading.recipients] == [
        ("lee@example.org", status, bounce)]
    assert reading.message_ids == (OUR_ID,)


def test_a_newsletter_speaking_of_delivery_failures_is_not_a_bounce():
    raw = message("news@newsletter.example", "Delivery failures down 12% this week",
                  "Returned mail is at its lowest.")
    assert read_inbound(raw).kind is Kind.OTHER


def test_a_system_message_naming_no_address_is_a_bounce_without_recipients():
    reading = read_inbound(message("MAILER-DAEMON@mx.example.net", "failure notice",
                                   "Something failed."))
    assert (reading.kind, reading.recipients) == (Kind.BOUNCE, ())
