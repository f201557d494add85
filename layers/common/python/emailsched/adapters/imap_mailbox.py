"""Reading a sender's mailbox over IMAP (the standard library's imaplib) for replies and bounce
reports, from a checkpoint: the folder's UIDVALIDITY and the last UID already read.

    with ImapMailbox(ImapSettings(host, port, "tls", user, password)) as mailbox:
        messages, checkpoint = mailbox.fetch_new(checkpoint, max_messages=200)

One poll costs one SELECT (read-only, so nothing is marked seen) and, only when UIDNEXT says
something arrived, one `UID SEARCH UID n:*` over a UID range and a `UID FETCH` per chunk of
`BODY.PEEK[]<0.cap>` (the whole message up to a size cap). A mailbox whose UIDVALIDITY is not
the checkpoint's is read from its start; the caller dedups by Message-ID.

Errors: a connection that cannot be made, breaks or times out is `ServiceUnavailable`; a
refused login is `ImapLoginRefused`; anything else the server refuses (no such folder, no
STARTTLS, an untrusted certificate) is `ImapRefused`. Each carries the server's reply and
never the password.
"""

from __future__ import annotations

import contextlib
import imaplib
import re
import ssl
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Literal, Self

from emailsched.adapters.tls import client_context
from emailsched.domain.oauth import xoauth2
from emailsched.errors import EmailschedError, ServiceUnavailable

Security = Literal["none", "starttls", "tls"]
SECURITIES: tuple[Security, ...] = ("none", "starttls", "tls")
MAX_MESSAGE_BYTES = 256 * 1024  # a DSN's returned headers come well before this
FETCH_CHUNK = 50

_UID = re.compile(rb"\bUID (\d+)")
_SIZE = re.compile(rb"\bRFC822\.SIZE (\d+)")


class ImapRefused(EmailschedError):
    """The IMAP server refused a command."""

    status = 400
    code = "imap_refused"


class ImapLoginRefused(ImapRefused):
    """The IMAP server refused the login."""

    code = "imap_login_refused"


@dataclass(frozen=True)
class Checkpoint:
    uidvalidity: int
    last_uid: int


@dataclass(frozen=True)
class FetchedMessage:
    uid: int
    raw: bytes  # the whole message, or its first MAX_MESSAGE_BYTES
    size: int  # the message's full size as the server reports it

    @property
    def truncated(self) -> bool:
        return self.size > len(self.raw)


@dataclass(frozen=True)
class ImapSettings:
    host: str
    port: int
    security: Security
    username: str
    password: str = field(repr=False)
    timeout: float = 10.0
    verify_tls: bool = True
    oauth: bool = False  # `password` is an access token: AUTHENTICATE XOAUTH2

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class _Selected:
    uidvalidity: int
    uidnext: int | None


def verify_imap_account(host: str, port: int, security: Security, username: str,
                        password: str, timeout: float = 10.0,
                        verify_tls: bool = True, oauth: bool = False) -> Checkpoint:
    """Log in and open INBOX read-only; the mailbox's current position (for polling from
    now), or the error saying what the server answered."""
    settings = ImapSettings(host, port, security, username, password, timeout, verify_tls,
                            oauth)
    with ImapMailbox(settings) as mailbox:
        return mailbox.current_checkpoint()


class ImapMailbox:
    """One folder of one account; connects on first use, logs out on `close`."""

    def __init__(self, settings: ImapSettings, *, folder: str = "INBOX",
                 max_message_bytes: int = MAX_MESSAGE_BYTES, chunk: int = FETCH_CHUNK):
        if settings.security not in SECURITIES:
            raise ValueError(f"security must be one of {', '.join(SECURITIES)}")
        self._settings = settings
        self._folder = folder
        self._cap = max_message_bytes
        self._chunk = chunk
        self._connection: imaplib.IMAP4 | None = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()

    def current_checkpoint(self) -> Checkpoint:
        """Where the folder stands now: reading from here skips everything already in it."""
        selected = self._select()
        if selected.uidnext is not None:
            return Checkpoint(selected.uidvalidity, selected.uidnext - 1)
        return Checkpoint(selected.uidvalidity, max(self._uids_from(1), default=0))

    def fetch_new(self, checkpoint: Checkpoint | None,
                  max_messages: int) -> tuple[list[FetchedMessage], Checkpoint]:
        """Messages after `checkpoint` (all of them when it is None or names another
        UIDVALIDITY), oldest first, at most `max_messages`; and the checkpoint after them."""
        selected = self._select()
        last = _start_after(checkpoint, selected.uidvalidity)
        if max_messages <= 0 or (selected.uidnext is not None and selected.uidnext <= last + 1):
            return [], Checkpoint(selected.uidvalidity, last)
        uids = self._uids_from(last + 1)[:max_messages]
        if not uids:
            return [], Checkpoint(selected.uidvalidity, last)
        messages = [message for part in _chunks(uids, self._chunk)
                    for message in self._fetch(part)]
        return messages, Checkpoint(selected.uidvalidity, uids[-1])

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        with contextlib.suppress(imaplib.IMAP4.error, OSError, EOFError):
            connection.logout()

    # -- protocol steps ----------------------------------------------------------------------

    def _select(self) -> _Selected:
        connection = self._connect()
        with _translated(self._settings.where):
            status, data = connection.select(_quoted(self._folder), readonly=True)
            if status != "OK":
                raise ImapRefused(f"IMAP server {self._settings.where} cannot open folder "
                                  f"{self._folder!r}: {_reply(data)}")
            validity = _number(connection.response("UIDVALIDITY")[1])
            uidnext = _number(connection.response("UIDNEXT")[1])
        if validity is None:
            raise ImapRefused(f"IMAP server {self._settings.where} gave no UIDVALIDITY "
                              f"for {self._folder!r}")
        return _Selected(validity, uidnext)

    def _uids_from(self, first: int) -> list[int]:
        """UIDs >= first, ascending. `n:*` also matches the last message when every UID is
        below n (RFC 3501 reads it as `*:n`), so the answer is filtered."""
        with _translated(self._settings.where):
            status, data = self._connect().uid("SEARCH", f"UID {first}:*")
        if status != "OK":
            raise ImapRefused(f"IMAP server {self._settings.where} refused SEARCH: "
                              f"{_reply(data)}")
        found = {int(token) for line in data if line for token in bytes(line).split()}
        return sorted(uid for uid in found if uid >= first)

    def _fetch(self, uids: Sequence[int]) -> list[FetchedMessage]:
        query = f"(UID RFC822.SIZE BODY.PEEK[]<0.{self._cap}>)"
        with _translated(self._settings.where):
            status, data = self._connect().uid("FETCH", ",".join(map(str, uids)), query)
        if status != "OK":
            raise ImapRefused(f"IMAP server {self._settings.where} refused FETCH: "
                              f"{_reply(data)}")
        wanted = set(uids)
        return sorted((message for message in _parse_fetch(data) if message.uid in wanted),
                      key=lambda message: message.uid)

    def _connect(self) -> imaplib.IMAP4:
        if self._connection is None:
            settings = self._settings
            with _translated(settings.where):
                connection = _open(settings)
                try:
                    _login(connection, settings)
                except BaseException:
                    with contextlib.suppress(Exception):
                        connection.shutdown()
                    raise
            self._connection = connection
        return self._connection


def _open(settings: ImapSettings) -> imaplib.IMAP4:
    context = client_context(settings.verify_tls)
    if settings.security == "tls":
        return imaplib.IMAP4_SSL(settings.host, settings.port, ssl_context=context,
                                 timeout=settings.timeout)
    connection = imaplib.IMAP4(settings.host, settings.port, timeout=settings.timeout)
    if settings.security == "starttls":
        try:
            connection.starttls(ssl_context=context)
        except imaplib.IMAP4.error as error:  # imaplib says "abort" when it is not offered
            connection.shutdown()
            raise ImapRefused(f"IMAP server {settings.where} has no STARTTLS: "
                              f"{_reply(error.args)}") from None
    return connection


def _login(connection: imaplib.IMAP4, settings: ImapSettings) -> None:
    try:
        if settings.oauth:
            # A refusal comes as a continuation with an error document: answer it empty.
            initial = xoauth2(settings.username, settings.password).encode()
            connection.authenticate("XOAUTH2", lambda challenge: b"" if challenge else initial)
        else:
            connection.login(settings.username, settings.password)
    except imaplib.IMAP4.abort:
        raise
    except imaplib.IMAP4.error as error:
        raise ImapLoginRefused(f"IMAP server {settings.where} refused the login of "
                               f"{settings.username!r}: {_reply(error.args)}") from None


@contextlib.contextmanager
def _translated(where: str) -> Iterator[None]:
    """imaplib's and the socket's errors as emailsched's (the reply text, never a password)."""
    try:
        yield
    except EmailschedError:
        raise
    except imaplib.IMAP4.abort as error:
        raise ServiceUnavailable(f"IMAP server {where} dropped the connection: "
                                 f"{_reply(error.args)}") from None
    except imaplib.IMAP4.error as error:
        raise ImapRefused(f"IMAP server {where} refused: {_reply(error.args)}") from None
    except ssl.SSLCertVerificationError as error:
        raise ImapRefused(f"IMAP server {where}: TLS certificate not trusted "
                          f"({error.verify_message})") from None
    except (OSError, EOFError) as error:
        raise ServiceUnavailable(f"IMAP server {where} cannot be reached: "
                                 f"{error.__class__.__name__}: {error}") from None


def _parse_fetch(data: Sequence[object]) -> Iterator[FetchedMessage]:
    """Messages in imaplib's FETCH answer: each is a (meta, literal) pair, its closing meta
    (`)` or ` UID 7)` when the server puts items after the literal) in the next item."""
    items = list(data)
    for index, item in enumerate(items):
        if not (isinstance(item, tuple) and len(item) == 2):
            continue
        meta, literal = bytes(item[0]), bytes(item[1])
        after = items[index + 1] if index + 1 < len(items) else b""
        if isinstance(after, bytes):
            meta += b" " + after
        uid, size = _UID.search(meta), _SIZE.search(meta)
        if uid is not None:
            yield FetchedMessage(int(uid.group(1)), literal,
                                 int(size.group(1)) if size else len(literal))


def _start_after(checkpoint: Checkpoint | None, uidvalidity: int) -> int:
    if checkpoint is None or checkpoint.uidvalidity != uidvalidity:
        return 0
    return max(checkpoint.last_uid, 0)


def _chunks(values: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    for start in range(0, len(values), max(size, 1)):
        yield values[start:start + max(size, 1)]


def _number(values: Sequence[object] | None) -> int | None:
    for value in values or ():
        text = value.decode() if isinstance(value, bytes) else str(value)
        if text.strip().isdigit():
            return int(text)
    return None


def _reply(values: Sequence[object] | None) -> str:
    parts = [value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
             for value in values or () if value is not None]
    return " ".join(parts).strip() or "(no reply text)"


def _quoted(folder: str) -> str:
    escaped = folder.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'
