"""SMTP failures classified by their enhanced status code, on replies as real servers
word them."""

from __future__ import annotations

import pytest

from emailsched.domain.bounces import (
    BounceClass,
    classify_reply,
    classify_status,
    enhanced_status,
    should_pause_batch,
    should_pause_for_complaints,
)

pytestmark = pytest.mark.unit
HARD, POLICY, OTHER = BounceClass.HARD_BOUNCE, BounceClass.POLICY, BounceClass.OTHER_PERMANENT
DEFER, TRANSIENT = BounceClass.SENDER_DEFERRAL, BounceClass.TRANSIENT

REPLIES = [
    # Gmail
    (550, "5.1.1 The email account that you tried to reach does not exist. Please try "
          "double-checking the recipient's email address for typos. https://support.google.com/"
          "mail/?p=NoSuchUser a1si123.1 - gsmtp", HARD),
    (550, "5.2.1 The email account that you tried to reach is disabled. - gsmtp", HARD),
    (552, "5.2.2 The email account that you tried to reach is over quota. - gsmtp", OTHER),
    (550, "5.7.1 [203.0.113.5] Our system has detected that this message is likely unsolicited "
          "mail. To reduce the amount of spam sent to Gmail, this message has been blocked.",
     POLICY),
    (550, "5.7.26 This mail has been blocked because the sender is unauthenticated. Gmail "
          "requires all senders to authenticate with either SPF or DKIM.", POLICY),
    (421, "4.7.0 [203.0.113.5] Our system has detected an unusual rate of unsolicited mail "
          "originating from your IP address. - gsmtp", DEFER),
    (421, "4.7.28 Gmail has detected an unusual rate of mail originating from your DKIM "
          "domain", DEFER),
    (450, "4.2.1 The user you are trying to contact is receiving mail at a rate that prevents "
          "additional messages from being delivered. - gsmtp", TRANSIENT),
    (452, "4.2.2 The email account that you tried to reach is over quota. - gsmtp", TRANSIENT),
    (451, "4.3.0 Mail server temporarily rejected message. - gsmtp", TRANSIENT),
    (552, "5.3.4 Your message exceeded Google's message size limits. - gsmtp", OTHER),
    # Outlook / Microsoft 365
    (550, "5.5.0 Requested action not taken: mailbox unavailable (S2017062302). "
          "[AM0PR01MB1234.eurprd01.prod.exchangelabs.com]", OTHER),
    (550, "5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address "
          "lookup", HARD),
    (550, "5.4.1 Recipient address rejected: Access denied. AS(201806281)", OTHER),
    (550, "5.7.606 Access denied, banned sending IP [203.0.113.5]. To request removal from "
          "this list please visit https://sender.office.com/", POLICY),
    (451, "4.7.650 The mail server [203.0.113.5] has been temporarily rate limited due to IP "
          "reputation.", DEFER),
    (421, "4.3.2 Service not available, closing transmission channel", DEFER),
    (554, "5.6.211 Invalid MIME Content: Single text value size (32770) exceeded allowed "
          "maximum (32768) for the 'X-Header' header", OTHER),
    # Yahoo / AOL
    (421, "4.7.0 [TSS04] Messages from 203.0.113.5 temporarily deferred due to unexpected "
          "volume or user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-"
          "codes", DEFER),
    (554, "5.7.9 Message not accepted for policy reasons.  See https://postmaster.yahooinc.com/"
          "error-codes", POLICY),
    (553, "5.1.1 <nobody@yahoo.com>: Recipient address rejected: User unknown", HARD),
    (554, "delivery error: dd This user doesn't have a yahoo.com account (nobody@yahoo.com) "
          "[0] - mta1234.mail.bf1.yahoo.com", HARD),
    # Postfix and others without enhanced codes
    (550, "<x@example.com>: User unknown in local recipient table", HARD),
    (550, "No such user here", HARD),
    (550, "Mailbox unavailable", OTHER),
    (450, "Too many connections, slow down", DEFER),
    (451, "Temporary local problem - please try later", TRANSIENT),
    (452, "4.5.3 Too many recipients", TRANSIENT),
    # sender address problems do not blame the recipient
    (553, "5.1.8 <bounce@our.example>: Sender address rejected: Domain not found", OTHER),
    (550, "5.1.7 Invalid sender address syntax", OTHER),
    # an enhanced code of the wrong class is ignored
    (550, "4.2.2 mailbox full", OTHER),
]


@pytest.mark.parametrize("code, text, expected", REPLIES, ids=lambda v: str(v)[:30])
def test_real_world_replies_are_classified(code, text, expected):
    assert classify_reply(code, text) is expected


def test_a_lost_connection_without_a_reply_is_transient():
    assert classify_reply(None) is TRANSIENT


def test_only_failures_are_classified():
    with pytest.raises(ValueError):
        classify_reply(250, "2.0.0 OK")
    with pytest.raises(ValueError):
        classify_status("2.0.0")


@pytest.mark.parametrize("text, code", [
    ("550 5.1.1 user unknown", "5.1.1"), ("550-5.7.26 blocked", "5.7.26"),
    ("#5.1.10 null MX", "5.1.10"), ("blocked by 10.5.1.1", None), ("v15.2.1.3 down", None),
    ("Status: 4.4.7.", "4.4.7"), ("no code", None),
])
def test_the_enhanced_code_is_read_from_the_reply_text(text, code):
    assert enhanced_status(text) == code


def test_only_hard_bounces_suppress_and_only_5xx_are_permanent():
    assert [c for c in BounceClass if c.suppresses_recipient] == [HARD]
    assert {c for c in BounceClass if c.is_permanent} == {HARD, POLICY, OTHER}


@pytest.mark.parametrize("sent, bounces, expected", [
    (20, 6, True), (20, 1, True), (19, 19, False), (20, 0, False), (100, 4, False),
    (100, 5, True), (0, 0, False), (1000, 49, False),
])
def test_a_batch_pauses_once_hard_bounces_reach_the_percentage_of_enough_sends(
        sent, bounces, expected):
    assert should_pause_batch(sent, bounces, 5) is expected


def test_the_minimum_of_sends_can_be_set():
    assert should_pause_batch(10, 5, 5, minimum=10)
    assert not should_pause_batch(9, 5, 5, minimum=10)


@pytest.mark.parametrize(("sends", "complaints", "pause"), [
    (1000, 3, False),  # exactly 0.3 %: not over it
    (1000, 4, True),
    (20, 1, True),
    (19, 1, False),  # too few sends to judge
    (500, 1, False),
    (300, 1, True),
])
def test_complaints_over_three_in_a_thousand_pause_the_sender(sends, complaints, pause):
    assert should_pause_for_complaints(sends, complaints) is pause
