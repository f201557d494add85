"""An idle mailer closes every worker thread's connections, not only the caller's: a pool
evicts a sender's mailer from whichever thread notices it is idle (adapters/mailer_pool.py),
while each thread keeps its own sessions (a round is one thread's)."""

from __future__ import annotations

import smtplib
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from emailsched.adapters.mailer_pool import SmtpMailerPool
from emailsched.adapters.smtp import SmtpMailer
from emailsched.domain.outgoing import OutgoingEmail
from emailsched.domain.senders import SenderKind
from emailsched.ports import SmtpAccount
from tests.support.smtp_sinks import RecordingSink, _Handler

pytestmark = pytest.mark.integration


class _CountingHandler(_Handler):
    def __init__(self, sink: QuitCountingSink):
        super().__init__(sink)
        self._counting = sink

    async def handle_QUIT(self, server: Any, session: Any, envelope: Any) -> str:
        with self._counting.lock:
            self._counting.quits += 1
        return "221 Bye"


class QuitCountingSink(RecordingSink):
    def __init__(self) -> None:
        super().__init__()
        self.lock, self.quits = threading.Lock(), 0

    def start(self) -> QuitCountingSink:
        from emailsched.local.inbox import SmtpController

        self._controller = SmtpController(_CountingHandler(self), hostname=self.host,
                                          port=self.port, server_hostname="sink.test",
                                          decode_data=False)
        self._controller.start()
        self.port = self._controller.port
        return self


@pytest.fixture
def sink() -> Iterator[QuitCountingSink]:
    running = QuitCountingSink().start()
    yield running
    running.stop()


def email(n: int) -> OutgoingEmail:
    return OutgoingEmail(message_id=f"<close-{n}@test>", sender_email="me@example.com",
                         sender_name="Me", recipient=f"r{n}@example.com",
                         subject=f"Close {n}", body_html=f"<p>{n}</p>")


class Recording(SmtpMailer):
    """An SmtpMailer that remembers the connections it opened."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.opened: list[smtplib.SMTP] = []

    def _connect(self) -> smtplib.SMTP:
        connection = super()._connect()
        self.opened.append(connection)
        return connection


def _send_in_threads(mailer: SmtpMailer, threads: int) -> None:
    def send(n: int) -> None:
        [result] = mailer.send_round([email(n)], lambda ready: ready)
        assert result is not None and result.accepted

    workers = [threading.Thread(target=send, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()


def test_close_from_one_thread_quits_every_threads_connections(sink: QuitCountingSink):
    mailer = Recording("127.0.0.1", sink.port, sessions=1)
    _send_in_threads(mailer, 3)
    assert len(mailer.opened) == 3 and mailer.open_sessions == 3
    mailer.close()  # from a thread that never sent
    assert mailer.open_sessions == 0
    assert all(connection.sock is None for connection in mailer.opened)
    deadline = time.monotonic() + 5
    while sink.quits < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert sink.quits == 3


def test_a_thread_mid_round_closes_its_own_when_the_round_ends(sink: QuitCountingSink):
    mailer = Recording("127.0.0.1", sink.port, sessions=1)
    closed_meanwhile = threading.Event()

    def point_of_no_return(ready: list[int]) -> list[int]:
        # Another thread closes the mailer while this round has its connection open:
        # nothing is closed under it, the message still goes.
        closer = threading.Thread(target=mailer.close)
        closer.start()
        closer.join()
        assert all(connection.sock is not None for connection in mailer.opened)
        closed_meanwhile.set()
        return ready

    [result] = mailer.send_round([email(1)], point_of_no_return)
    assert closed_meanwhile.is_set() and result is not None and result.accepted
    assert sink.messages and mailer.open_sessions == 0
    assert all(connection.sock is None for connection in mailer.opened)
    # Used again, it connects again.
    [again] = mailer.send_round([email(2)], lambda ready: ready)
    assert again is not None and again.accepted and len(mailer.opened) == 2
    mailer.close()


def test_the_pool_evicting_an_idle_mailer_closes_every_threads_connections(
        sink: QuitCountingSink):
    now = [0.0]
    made: list[Recording] = []

    class Accounts:
        def smtp_account(self, sender_id: uuid.UUID) -> SmtpAccount:
            return SmtpAccount(sender_id, "127.0.0.1", sink.port, "none", "", None,
                               version=0)  # type: ignore[arg-type]

    def factory(account: SmtpAccount, password: str) -> Recording:
        made.append(Recording(account.host, account.port, sessions=1))
        return made[-1]

    relay = SmtpMailer("127.0.0.1", sink.port)
    pool = SmtpMailerPool(relay, Accounts(), lambda: None,  # type: ignore[arg-type,return-value]
                          factory, idle_seconds=60, ttl_seconds=0, monotonic=lambda: now[0])
    idle_sender, busy_sender = uuid.uuid4(), uuid.uuid4()
    _send_in_threads(pool.mailer_for(idle_sender, SenderKind.SMTP), 2)
    assert made[0].open_sessions == 2
    now[0] = 61.0  # the first sender is idle; another sender's turn evicts it
    pool.mailer_for(busy_sender, SenderKind.SMTP)
    assert pool.open_count == 1
    assert made[0].open_sessions == 0
    assert all(connection.sock is None for connection in made[0].opened)
    pool.close()
