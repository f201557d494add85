"""The mailbox reader against a real Dovecot: each message once, checkpoints that survive a
restart, a UIDVALIDITY change, clear errors, and what a poll of a big mailbox costs."""

from __future__ import annotations

import imaplib
import itertools
import socket
import statistics
import time
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import pytest

from emailsched.adapters.imap_mailbox import (
    Checkpoint,
    FetchedMessage,
    ImapLoginRefused,
    ImapMailbox,
    ImapRefused,
    ImapSettings,
    verify_imap_account,
)
from emailsched.errors import ServiceUnavailable

if TYPE_CHECKING:  # imported by pytest as the plugin below (importing it first would warn)
    from tests.support.dovecot import DovecotServer

pytest_plugins = ["tests.support.dovecot"]
pytestmark = pytest.mark.integration

PASSWORD = "s3cret-pa55"
_users = itertools.count(1)


def message(n: int, extra: str = "") -> bytes:
    return (f"From: person{n}@example.org\r\nTo: sales@example.com\r\nSubject: Re: hello {n}\r\n"
            f"Message-ID: <reply-{n}@example.org>\r\nIn-Reply-To: <ours-{n}@mail.example.com>\r\n"
            f"{extra}\r\nReply number {n}\r\n").encode()


@pytest.fixture
def account(dovecot: DovecotServer) -> str:
    user = f"sender{next(_users)}@example.com"
    dovecot.add_user(user, PASSWORD)
    return user


def settings(server: DovecotServer, user: str, password: str = PASSWORD) -> ImapSettings:
    return ImapSettings(server.host, server.port, "none", user, password, timeout=10)


def append(server: DovecotServer, user: str, numbers: range, folder: str = "INBOX") -> None:
    connection = server.imap(user, PASSWORD)
    try:
        for n in numbers:
            assert connection.append(folder, None, None, message(n))[0] == "OK"
    finally:
        connection.logout()


def numbers_of(messages: Sequence[FetchedMessage]) -> list[int]:
    return [int(fetched.raw.split(b"Reply number ")[1].split()[0]) for fetched in messages]


@pytest.fixture
def mailbox(dovecot: DovecotServer, account: str) -> Iterator[ImapMailbox]:
    with ImapMailbox(settings(dovecot, account)) as opened:
        yield opened


def test_new_messages_come_once_and_stay_unseen(dovecot: DovecotServer, account: str,
                                                mailbox: ImapMailbox) -> None:
    assert mailbox.fetch_new(None, 100)[0] == []  # an empty INBOX
    append(dovecot, account, range(1, 4))
    messages, checkpoint = mailbox.fetch_new(None, 100)
    assert numbers_of(messages) == [1, 2, 3]
    assert [m.uid for m in messages] == [1, 2, 3] and checkpoint.last_uid == 3
    assert messages[0].raw.startswith(b"From: person1@example.org") and not messages[0].truncated
    assert mailbox.fetch_new(checkpoint, 100) == ([], checkpoint)
    append(dovecot, account, range(4, 5))
    messages, later = mailbox.fetch_new(checkpoint, 100)
    assert numbers_of(messages) == [4] and later == Checkpoint(checkpoint.uidvalidity, 4)
    connection = dovecot.imap(account, PASSWORD)
    connection.select("INBOX", readonly=True)
    flags = connection.fetch("1:*", "(FLAGS)")[1]
    connection.logout()
    assert flags and not any("\\Seen" in str(line) for line in flags)


def test_a_restart_from_the_checkpoint_neither_misses_nor_repeats(
        dovecot: DovecotServer, account: str) -> None:
    append(dovecot, account, range(1, 8))
    seen: list[int] = []
    checkpoint: Checkpoint | None = None
    for _poll in range(4):  # a new process each time: only the checkpoint carries over
        with ImapMailbox(settings(dovecot, account), chunk=2) as mailbox:
            messages, checkpoint = mailbox.fetch_new(checkpoint, 3)
        seen += numbers_of(messages)
        if _poll == 1:
            append(dovecot, account, range(8, 10))
    assert seen == list(range(1, 10))
    assert checkpoint is not None and checkpoint.last_uid == 9


def test_a_new_uidvalidity_reads_the_folder_from_its_start(dovecot: DovecotServer,
                                                            account: str) -> None:
    connection = dovecot.imap(account, PASSWORD)
    assert connection.create("Replies")[0] == "OK"
    connection.logout()
    append(dovecot, account, range(1, 4), folder="Replies")
    with ImapMailbox(settings(dovecot, account), folder="Replies") as mailbox:
        _messages, checkpoint = mailbox.fetch_new(None, 100)
    assert checkpoint.last_uid == 3
    # The folder is deleted and made again (as a server rebuilding its indexes would do):
    # Dovecot gives it a new UIDVALIDITY and numbers its messages from 1 again.
    connection = dovecot.imap(account, PASSWORD)
    assert connection.delete("Replies")[0] == "OK"
    assert connection.create("Replies")[0] == "OK"
    connection.logout()
    append(dovecot, account, range(1, 6), folder="Replies")
    with ImapMailbox(settings(dovecot, account), folder="Replies") as mailbox:
        messages, after = mailbox.fetch_new(checkpoint, 100)
    assert after.uidvalidity != checkpoint.uidvalidity
    assert numbers_of(messages) == [1, 2, 3, 4, 5]  # not only 4 and 5: UIDs 1-3 are new mail
    assert after.last_uid == 5


def test_verify_logs_in_and_tells_where_the_mailbox_stands(dovecot: DovecotServer,
                                                           account: str) -> None:
    append(dovecot, account, range(1, 3))
    checkpoint = verify_imap_account(dovecot.host, dovecot.port, "none", account, PASSWORD)
    assert checkpoint.last_uid == 2
    with ImapMailbox(settings(dovecot, account)) as mailbox:
        assert mailbox.fetch_new(checkpoint, 10)[0] == []


def test_a_refused_login_says_so_with_the_servers_reply_and_no_password(
        dovecot: DovecotServer, account: str) -> None:
    with pytest.raises(ImapLoginRefused) as refused:
        verify_imap_account(dovecot.host, dovecot.port, "none", account, "wrong-password")
    text = str(refused.value)
    print(f"\nlogin refused: {text}")
    assert "AUTHENTICATIONFAILED" in text and account in text
    assert "wrong-password" not in text and PASSWORD not in text
    assert refused.value.__cause__ is None and refused.value.__suppress_context__


def test_an_unreachable_server_is_service_unavailable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = int(probe.getsockname()[1])
    with pytest.raises(ServiceUnavailable) as unavailable:
        verify_imap_account("127.0.0.1", closed_port, "none", "a@example.com", PASSWORD,
                            timeout=2)
    assert "cannot be reached" in str(unavailable.value)


def test_starttls_on_a_server_without_it_is_refused_clearly(dovecot: DovecotServer,
                                                             account: str) -> None:
    with pytest.raises(ImapRefused) as refused:
        verify_imap_account(dovecot.host, dovecot.port, "starttls", account, PASSWORD)
    assert "STARTTLS" in str(refused.value) and "not supported" in str(refused.value)


def test_a_missing_folder_is_refused_clearly(dovecot: DovecotServer, account: str) -> None:
    with (ImapMailbox(settings(dovecot, account), folder="Nope") as mailbox,
          pytest.raises(ImapRefused, match="Nope")):
        mailbox.fetch_new(None, 10)


def test_big_messages_are_cut_at_the_cap(dovecot: DovecotServer, account: str) -> None:
    connection = dovecot.imap(account, PASSWORD)
    connection.append("INBOX", None, None, message(1, "X-Pad: " + "a" * 5000 + "\r\n"))
    connection.logout()
    with ImapMailbox(settings(dovecot, account), max_message_bytes=1000) as mailbox:
        [fetched], _checkpoint = mailbox.fetch_new(None, 10)
    assert len(fetched.raw) == 1000 and fetched.size > 5000 and fetched.truncated


def test_what_a_poll_of_ten_thousand_messages_costs(dovecot: DovecotServer,
                                                    account: str) -> None:
    dovecot.imap(account, PASSWORD).logout()  # Dovecot makes the Maildir
    started = time.perf_counter()
    dovecot.write_messages(account, (message(n) for n in range(1, 10_001)))
    written = time.perf_counter() - started
    started = time.perf_counter()
    with ImapMailbox(settings(dovecot, account)) as mailbox:
        checkpoint = mailbox.current_checkpoint()  # Dovecot indexes the 10,000 files here
    indexed = time.perf_counter() - started
    assert checkpoint.last_uid == 10_000

    idle = _timed_polls(dovecot, account, checkpoint)
    assert idle.messages == []
    dovecot.write_messages(account, (message(n) for n in range(10_001, 10_101)))
    with ImapMailbox(settings(dovecot, account)) as mailbox:
        mailbox.current_checkpoint()  # index the new files, so the polls measure IMAP only
    busy = _timed_polls(dovecot, account, checkpoint)
    assert numbers_of(busy.messages) == list(range(10_001, 10_101))
    print(f"\n10,000 Maildir files written in {written:.2f} s, indexed by Dovecot in "
          f"{indexed:.2f} s (first SELECT)\n"
          f"one poll, 10,000 messages, none new: {idle}\n"
          f"one poll, 10,000 messages, 100 new:  {busy}")


class _Polls:
    def __init__(self, messages: list[FetchedMessage], fresh: list[float], open_: list[float]):
        self.messages, self._fresh, self._open = messages, fresh, open_

    def __str__(self) -> str:
        return (f"median {statistics.median(self._fresh) * 1000:.1f} ms with connect + login "
                f"(best {min(self._fresh) * 1000:.1f}), median "
                f"{statistics.median(self._open) * 1000:.1f} ms on an open connection")


def _timed_polls(server: DovecotServer, user: str, checkpoint: Checkpoint,
                 rounds: int = 5) -> _Polls:
    fresh: list[float] = []
    open_: list[float] = []
    messages: list[FetchedMessage] = []
    for _round in range(rounds):  # the median of five: the machine is shared
        started = time.perf_counter()
        with ImapMailbox(settings(server, user)) as mailbox:
            found, _after = mailbox.fetch_new(checkpoint, 200)
            fresh.append(time.perf_counter() - started)
            started = time.perf_counter()
            again, _after = mailbox.fetch_new(checkpoint, 200)
            open_.append(time.perf_counter() - started)
        assert len(again) == len(found)
        messages = list(found)
    return _Polls(messages, fresh, open_)


def test_imaplib_is_what_the_server_fixture_speaks(dovecot: DovecotServer, account: str) -> None:
    connection = dovecot.imap(account, PASSWORD)
    assert isinstance(connection, imaplib.IMAP4)
    assert connection.logout()[0] == "BYE"
