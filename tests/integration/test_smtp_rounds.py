"""Rounds: the mailer writes several emails side by side, one connection each, asks the
point of no return once for all of them, and delivers only what it answers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from emailsched.adapters.smtp import SmtpMailer
from emailsched.domain.outgoing import OutgoingEmail
from tests.support.smtp_sinks import RecordingSink

pytestmark = pytest.mark.integration


def email(n: int, recipient: str = "") -> OutgoingEmail:
    return OutgoingEmail(message_id=f"<round-{n}@test>", sender_email="me@example.com",
                         sender_name="Me", recipient=recipient or f"r{n}@example.com",
                         subject=f"Round {n}", body_html=f"<p>{n}</p>")


@pytest.fixture
def sink() -> Iterator[RecordingSink]:
    with RecordingSink() as running:
        yield running


def test_a_round_is_committed_once_and_delivered_over_one_connection_each(
        sink: RecordingSink):
    mailer = SmtpMailer("127.0.0.1", sink.port, sessions=4)
    asked: list[list[int]] = []

    def point_of_no_return(ready: list[int]) -> list[int]:
        asked.append(ready)
        assert sink.messages == []  # nothing delivered before the commit
        return ready

    results = mailer.send_round([email(n) for n in range(4)], point_of_no_return)
    assert asked == [[0, 1, 2, 3]]
    assert all(r is not None and r.accepted for r in results)
    assert sorted(sink.message_ids) == [f"<round-{n}@test>" for n in range(4)]
    again = mailer.send_round([email(n) for n in range(4, 8)], lambda ready: ready)
    assert all(r is not None and r.accepted for r in again)
    assert len(sink.wait_for(8)) == 8
    mailer.close()


def test_only_what_the_point_of_no_return_answers_is_delivered(sink: RecordingSink):
    mailer = SmtpMailer("127.0.0.1", sink.port, sessions=3)
    results = mailer.send_round([email(n) for n in range(3)], lambda ready: [0, 2])
    assert results[1] is None
    assert [r.accepted for r in (results[0], results[2]) if r is not None] == [True, True]
    assert sorted(sink.message_ids) == ["<round-0@test>", "<round-2@test>"]
    # The abandoned connection was dropped; the next round opens a fresh one.
    later = mailer.send_round([email(n) for n in range(3, 6)], lambda ready: ready)
    assert all(r is not None and r.accepted for r in later)
    assert len(sink.wait_for(5)) == 5


def test_a_failing_point_of_no_return_delivers_nothing_and_raises(sink: RecordingSink):
    mailer = SmtpMailer("127.0.0.1", sink.port, sessions=2)

    def unreachable(ready: list[int]) -> list[int]:
        raise ConnectionError("ledger unreachable")

    with pytest.raises(ConnectionError):
        mailer.send_round([email(0), email(1)], unreachable)
    assert sink.messages == [] and sink.data_attempts == 0
    results = mailer.send_round([email(2)], lambda ready: ready)
    assert results[0] is not None and results[0].accepted
    assert sink.wait_for(1)[0].message_id == "<round-2@test>"


def test_a_refused_recipient_fails_alone_before_the_point_of_no_return():
    refuse = "550 5.1.1 no such user"
    with RecordingSink(rcpt_script=lambda to: refuse if to.startswith("gone") else None) as sink:
        mailer = SmtpMailer("127.0.0.1", sink.port, sessions=3)
        asked: list[list[int]] = []
        results = mailer.send_round(
            [email(0), email(1, "gone@example.com"), email(2)],
            lambda ready: asked.append(ready) or ready)
        assert asked == [[0, 2]]
        refused = results[1]
        assert refused is not None and not refused.accepted and refused.code == 550
        assert sorted(sink.message_ids) == ["<round-0@test>", "<round-2@test>"]


def test_a_round_larger_than_the_connections_is_refused(sink: RecordingSink):
    mailer = SmtpMailer("127.0.0.1", sink.port, sessions=2)
    with pytest.raises(ValueError):
        mailer.send_round([email(n) for n in range(3)], lambda ready: ready)
