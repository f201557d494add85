"""The Ethereal path: STARTTLS and AUTH against a local TLS sink with a self-signed
certificate, and what a wrong password looks like to the user."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from emailsched.adapters.smtp import SmtpMailer
from emailsched.domain.outgoing import OutgoingEmail
from emailsched.domain.retry import SendResult
from tests.support.smtp_sinks import TlsAuthSink
from tests.support.stack import Api, Pipeline, Services, prepare, wait_until

pytestmark = pytest.mark.integration


def email(n: int = 0) -> OutgoingEmail:
    return OutgoingEmail(message_id=f"<tls-{n}@test>", sender_email="me@example.com",
                         sender_name="Me", recipient="you@example.com", subject="Über TLS",
                         body_html="<p>Grüße</p>")


def send_one(mailer: SmtpMailer, outgoing: OutgoingEmail) -> SendResult:
    result = mailer.send_round([outgoing], lambda ready: ready)[0]
    assert result is not None
    return result


def test_starttls_and_login_deliver(tmp_path: Path):
    sink = TlsAuthSink("user@ethereal.email", "right", cert_dir=tmp_path).start()
    try:
        mailer = SmtpMailer("127.0.0.1", sink.port, user="user@ethereal.email",
                            password="right", security="starttls", verify_tls=False)
        results = [send_one(mailer, email(n)) for n in range(3)]
        mailer.close()
        assert all(r.accepted for r in results)
        assert sink.message_ids == ["<tls-0@test>", "<tls-1@test>", "<tls-2@test>"]
    finally:
        sink.stop()


def test_the_certificate_is_verified_unless_told_otherwise(tmp_path: Path):
    sink = TlsAuthSink("u", "p", cert_dir=tmp_path).start()
    try:
        mailer = SmtpMailer("127.0.0.1", sink.port, user="u", password="p",
                            security="starttls", verify_tls=True)
        result = send_one(mailer, email())
        assert not result.accepted and "certificate" in result.reply.lower()
        assert sink.messages == []
    finally:
        sink.stop()


def test_a_wrong_password_fails_the_email_with_the_servers_reason(services: Services,
                                                                   tmp_path: Path):
    sink = TlsAuthSink("mailer", "right", cert_dir=tmp_path).start()
    container = prepare(services.settings(
        SMTP_PORT=sink.port, SMTP_USER="mailer", SMTP_PASSWORD="wrong",
        SMTP_SECURITY="starttls", SMTP_TLS_VERIFY=False))
    pipeline = Pipeline(container, pollers=1).start()
    try:
        api = Api(pipeline.url)
        api.post("/emails/schedule", {
            "subject": "s", "body": "b", "recipients": ["a@x.com"], "delayMs": 0,
            "startTime": datetime.now(UTC).isoformat(), "sender": {"email": "me@x.com"}})
        row = wait_until(lambda: (api.get("/emails/sent").json()["emails"] or [None])[0], 20)
        assert row["status"] == "failed"
        assert row["failureReason"].startswith("535")
        assert sink.messages == []
    finally:
        pipeline.close()
        container.close()
        sink.stop()
