"""International addresses through real SMTP servers: an IDN domain goes out as its A-label
to a server without SMTPUTF8; a non-ASCII local part needs SMTPUTF8 and says so where the
server does not offer it. Every message arrives parseable in strict policy."""

from __future__ import annotations

from email import message_from_bytes
from email.policy import strict

import pytest

from emailsched.adapters.smtp import SmtpMailer
from emailsched.domain.outgoing import OutgoingEmail
from tests.support.smtp_sinks import RecordingSink

pytestmark = pytest.mark.integration
URL = "http://127.0.0.1:8000/u/AAAAAAAAAAAAAAAAAAAAAA.BBBBBBBBBBBBBBBBBBBBBB"


def email(recipient: str, sender: str = "sales@example.com") -> OutgoingEmail:
    return OutgoingEmail(message_id="<idn-1@example.com>", sender_email=sender,
                         sender_name="Zoë Sales", recipient=recipient,
                         subject="Grüße aus Köln", body_html="<p>Schöne Grüße</p>",
                         unsubscribe_url=URL)


def send(port: int, message: OutgoingEmail):
    mailer = SmtpMailer("127.0.0.1", port)
    try:
        [result] = mailer.send_round([message], lambda ready: ready)
    finally:
        mailer.close()
    assert result is not None
    return result


def test_an_idn_domain_arrives_as_its_a_label_where_smtputf8_is_not_offered():
    with RecordingSink(smtputf8=False) as sink:
        result = send(sink.port, email("lead@bücher.de", sender="info@müller.example"))
        assert result.accepted, result
        [received] = sink.wait_for(1)
    assert received.to == ("lead@xn--bcher-kva.de",)
    assert received.mail_from == "info@xn--mller-kva.example"
    parsed = message_from_bytes(received.raw, policy=strict)
    assert parsed["To"] == "lead@xn--bcher-kva.de"
    assert parsed["From"].addresses[0].display_name == "Zoë Sales"
    assert parsed["Subject"] == "Grüße aus Köln"
    assert parsed["List-Unsubscribe"] == f"<{URL}>"


def test_a_non_ascii_local_part_fails_clearly_without_smtputf8_and_goes_where_offered():
    with RecordingSink(smtputf8=False) as strict_ascii:
        refused = send(strict_ascii.port, email("jürgen@example.com"))
        assert strict_ascii.data_attempts == 0
    assert not refused.accepted and refused.code == 553
    assert "recipient address needs SMTPUTF8, which the server does not offer" in refused.reply
    with RecordingSink(smtputf8=True) as modern:
        assert send(modern.port, email("jürgen@bücher.de")).accepted
        [received] = modern.wait_for(1)
    assert received.to == ("jürgen@xn--bcher-kva.de",)
    parsed = message_from_bytes(received.raw, policy=strict)
    assert parsed["To"] == "jürgen@xn--bcher-kva.de"
