"""Sending over SMTP with smtplib, over a few reused connections per thread.

The DATA phase is split so the ledger can record the send at the last moment at which
nothing has been delivered yet: the whole message is written, then `point_of_no_return`
commits `sent`, and only then the final "." asks the server to deliver. A process killed
before the commit leaves an undelivered email that is safe to send again; one killed after
it has delivered and recorded it. The window between them is a few microseconds, where
committing after the server's reply would leave milliseconds in which a crash sends twice.

A round takes several emails that far side by side, one connection each, so one commit
records them all; then each gets its "." and the replies are read. Each step of the
envelope (MAIL, RCPT, DATA) is sent on every connection before the answers are read.
"""

from __future__ import annotations

import html
import re
import smtplib
import socket
import ssl
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP, SMTPUTF8
from email.utils import format_datetime, formataddr, formatdate
from functools import lru_cache

from emailsched.domain.retry import SendResult
from emailsched.ports import OutgoingEmail, PointOfNoReturn

_LINE_ENDS = re.compile(rb"\r\n|\n|\r")
_LEADING_DOT = re.compile(rb"(?m)^\.")
_TAGS = re.compile(r"<[^>]+>")
_BLANK_RUNS = re.compile(r"\n\s*\n\s*\n+")


# Recipients and Message-IDs that the policy writes out exactly as given, on one line.
_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+")
_PLAIN_MESSAGE_ID = re.compile(r"<[A-Za-z0-9._-]+@[A-Za-z0-9.-]+>")
_PLACEHOLDER_TO = "recipient@placeholder.invalid"
_PLACEHOLDER_ID = "<message-id@placeholder.invalid>"
MAX_HEADER_LINE = 78
TEMPLATES_KEPT = 8


def build_message(email: OutgoingEmail, date: str | None = None) -> EmailMessage:
    message = EmailMessage()
    message["From"] = formataddr((email.sender_name, email.sender_email))
    message["To"] = email.recipient
    message["Subject"] = email.subject
    message["Message-ID"] = email.message_id
    message["Date"] = date or formatdate(usegmt=True)
    message.set_content(html_to_text(email.body_html))
    message.add_alternative(email.body_html, subtype="html")
    return message


def html_to_text(body: str) -> str:
    text = _TAGS.sub("", re.sub(r"(?i)<br\s*/?>|</p>|</div>|</li>|</h\d>", "\n", body))
    return _BLANK_RUNS.sub("\n\n", html.unescape(text)).strip() + "\n"


def dot_stuffed(raw: bytes) -> bytes:
    data = _LEADING_DOT.sub(b"..", _LINE_ENDS.sub(b"\r\n", raw))
    return data if data.endswith(b"\r\n") else data + b"\r\n"


def message_data(email: OutgoingEmail) -> bytes:
    """What goes between DATA and the final ".": the message, rendered and dot-stuffed.

    Rendering a MIME message with the email package took about 3 ms here, nearly all of it
    for parts that are the same for every email of a batch. So where To and Message-ID are
    plain ASCII that the policy would write unchanged, the message is rendered once per
    sender, subject and body, and only the To, Message-ID and Date lines are written per
    email; anything else is rendered in full.
    """
    needs_utf8 = not (email.sender_email + email.recipient).isascii()
    if not needs_utf8 and _plain(email):
        template = _template(email.sender_name, email.sender_email, email.subject,
                             email.body_html)
        if template is not None:
            return template.render(email.recipient, email.message_id,
                                   format_datetime(datetime.now(UTC)))
    payload = build_message(email).as_bytes(policy=SMTPUTF8 if needs_utf8 else SMTP)
    return dot_stuffed(payload)


def _plain(email: OutgoingEmail) -> bool:
    return (len(email.recipient) + 4 <= MAX_HEADER_LINE
            and len(email.message_id) + 12 <= MAX_HEADER_LINE
            and _PLAIN_ADDRESS.fullmatch(email.recipient) is not None
            and _PLAIN_MESSAGE_ID.fullmatch(email.message_id) is not None)


@dataclass(frozen=True)
class _Template:
    """A rendered message cut around its To, Message-ID and Date lines."""

    parts: tuple[bytes, bytes, bytes, bytes]

    def render(self, recipient: str, message_id: str, date: str) -> bytes:
        head, after_to, after_id, rest = self.parts
        return b"".join((head, b"To: ", recipient.encode(), b"\r\n", after_to,
                         b"Message-ID: ", message_id.encode(), b"\r\n", after_id,
                         b"Date: ", date.encode(), b"\r\n", rest))


@lru_cache(maxsize=TEMPLATES_KEPT)
def _template(sender_name: str, sender_email: str, subject: str,
              body_html: str) -> _Template | None:
    """None where the policy did not write the three lines on one line each."""
    date = format_datetime(datetime.now(UTC))
    sample = OutgoingEmail(_PLACEHOLDER_ID, sender_email, sender_name, _PLACEHOLDER_TO,
                           subject, body_html)
    data = dot_stuffed(build_message(sample, date).as_bytes(policy=SMTP))
    header_end = data.find(b"\r\n\r\n") + 2
    parts, start = [], 0
    for line in (f"To: {_PLACEHOLDER_TO}\r\n", f"Message-ID: {_PLACEHOLDER_ID}\r\n",
                 f"Date: {date}\r\n"):
        at = data.find(line.encode(), start, header_end)
        if at < 0 or (at > 0 and data[at - 2:at] != b"\r\n"):
            return None
        parts.append(data[start:at])
        start = at + len(line)
    if data[start:start + 1] in (b" ", b"\t"):  # the Date line was folded
        return None
    return _Template((parts[0], parts[1], parts[2], data[start:]))


class SmtpMailer:
    def __init__(self, host: str, port: int, *, user: str = "", password: str = "",
                 security: str = "none", timeout: float = 30.0, verify_tls: bool = True,
                 sessions: int = 1):
        self._host, self._port = host, port
        self._user, self._password = user, password
        self._security, self._timeout = security, timeout
        self._verify_tls = verify_tls
        self.sessions = sessions
        self._local = threading.local()

    def send_round(self, emails: Sequence[OutgoingEmail],
                   point_of_no_return: PointOfNoReturn) -> list[SendResult | None]:
        if not 0 < len(emails) <= self.sessions:
            raise ValueError(f"a round takes 1 to {self.sessions} emails, not {len(emails)}")
        sessions = self._sessions()
        results: list[SendResult | None] = [
            session.begin(email) for session, email in zip(sessions, emails, strict=False)]
        # Each step is asked of every connection before any answer is read, so a round
        # waits for the server about as long as one email does, not once per email.
        going = [index for index, result in enumerate(results) if result is None]
        while going:
            for index in going:
                results[index] = sessions[index].advance()
            going = [i for i in going if results[i] is None and not sessions[i].written]
        ready = [index for index, result in enumerate(results) if result is None]
        if not ready:
            return results
        try:
            go = set(point_of_no_return(ready))
        except BaseException:
            for index in ready:
                sessions[index].close_hard()
            raise
        for index in ready:
            if index in go:
                results[index] = sessions[index].deliver()
            else:
                sessions[index].close_hard()  # abandoned: the server discards it
        for index in ready:
            if index in go and results[index] is None:
                results[index] = sessions[index].outcome()
        return results

    def close(self) -> None:
        for session in getattr(self._local, "sessions", []):
            session.close()
        self._local.sessions = []

    def _sessions(self) -> list[_Session]:
        sessions: list[_Session] | None = getattr(self._local, "sessions", None)
        if not sessions:
            sessions = [_Session(self._connect, self._host, self._port)
                        for _ in range(self.sessions)]
            self._local.sessions = sessions
        return sessions

    def _connect(self) -> smtplib.SMTP:
        context = ssl.create_default_context()
        if not self._verify_tls:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        connection: smtplib.SMTP
        if self._security == "tls":
            connection = smtplib.SMTP_SSL(self._host, self._port, timeout=self._timeout,
                                          context=context)
        else:
            connection = smtplib.SMTP(self._host, self._port, timeout=self._timeout)
        _no_delay(connection)  # the socket STARTTLS wraps keeps the option
        connection.ehlo()
        if self._security == "starttls":
            connection.starttls(context=context)
            connection.ehlo()
        if self._user:
            connection.login(self._user, self._password)
        return connection


# The envelope's steps, and the answers that let a transaction go on after each.
_STEPS = ("mail", "rcpt", "data")
_GO_ON = {"mail": (250,), "rcpt": (250, 251), "data": (354,)}


class _Session:
    """One connection, reused from email to email: writes an email up to its final ".",
    step by step, then delivers it, or drops the connection so the server discards it."""

    def __init__(self, connect: Callable[[], smtplib.SMTP], host: str, port: int):
        self._connect, self._where = connect, f"{host}:{port}"
        self._connection: smtplib.SMTP | None = None
        self._email: OutgoingEmail | None = None
        self._data = b""
        self._step = 0
        self._reused = False

    @property
    def written(self) -> bool:
        """The server holds the whole message, all but its final "."."""
        return self._step == len(_STEPS)

    def begin(self, email: OutgoingEmail) -> SendResult | None:
        """Connects if need be and sends MAIL FROM; None while all goes well."""
        self._email, self._step = email, 0
        self._reused = self._connection is not None
        return self._attempt(self._ask_mail)

    def advance(self) -> SendResult | None:
        """Reads the answer to the last step and takes the next: RCPT TO, DATA, then the
        message itself. None while all goes well."""
        return self._attempt(self._next)

    def _attempt(self, step: Callable[[], SendResult | None]) -> SendResult | None:
        try:
            return step()
        except smtplib.SMTPServerDisconnected as error:
            self.close_hard()
            if self._reused and self._step == 0:
                # A reused connection the server closed while idle: reconnect once.
                self._reused = False
                return self._attempt(self._ask_mail)
            return SendResult(False, None, f"connection lost: {error}")
        except (OSError, smtplib.SMTPException) as error:
            self.close_hard()
            return SendResult(False, None, f"connection lost: {error}")

    def _ask_mail(self) -> SendResult | None:
        assert self._email is not None
        email = self._email
        try:
            connection = self._open()
        except smtplib.SMTPResponseException as error:
            return _failure(error.smtp_code, error.smtp_error)
        except (OSError, smtplib.SMTPException) as error:
            return SendResult(False, None, f"cannot connect to {self._where}: {error}")
        needs_utf8 = not (email.sender_email + email.recipient).isascii()
        if needs_utf8 and not connection.has_extn("smtputf8"):
            return SendResult(False, 553, "server does not accept international addresses")
        if needs_utf8:
            connection.command_encoding = "utf-8"
        self._data = message_data(email)
        options = " SMTPUTF8 BODY=8BITMIME" if needs_utf8 else ""
        connection.putcmd("mail", f"FROM:{_path(email.sender_email)}{options}")
        return None

    def _next(self) -> SendResult | None:
        assert self._connection is not None and self._email is not None
        connection, step = self._connection, _STEPS[self._step]
        code, reply = connection.getreply()
        if code not in _GO_ON[step]:
            return self._abort(connection, code, reply)
        self._step += 1
        if step == "mail":
            connection.putcmd("rcpt", f"TO:{_path(self._email.recipient)}")
        elif step == "rcpt":
            connection.putcmd("data")
        else:
            connection.send(self._data)
        return None

    def deliver(self) -> SendResult | None:
        """Sends the final "."; None when it went, and `outcome` has the server's answer."""
        try:
            assert self._connection is not None
            self._connection.send(b".\r\n")
        except (OSError, smtplib.SMTPServerDisconnected) as error:
            return self._lost_after_handover(error)
        return None

    def outcome(self) -> SendResult:
        try:
            assert self._connection is not None
            code, reply = self._connection.getreply()
        except (OSError, smtplib.SMTPServerDisconnected) as error:
            return self._lost_after_handover(error)
        return SendResult(code == 250, code, _text(reply))

    def _lost_after_handover(self, error: Exception) -> SendResult:
        # The server has the whole message: whether it delivered it is unknown.
        self.close_hard()
        return SendResult(False, None, f"connection lost after the message was handed over: "
                                       f"{error}", outcome_unknown=True)

    def _open(self) -> smtplib.SMTP:
        if self._connection is None:
            self._connection = self._connect()
        return self._connection

    def _abort(self, connection: smtplib.SMTP, code: int, reply: bytes) -> SendResult:
        try:
            connection.rset()
        except (OSError, smtplib.SMTPException):
            self.close_hard()
        return _failure(code, reply)

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.quit()
            except (OSError, smtplib.SMTPException):
                connection.close()

    def close_hard(self) -> None:
        """Drop the connection without QUIT, so a half-written message is discarded."""
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()


def _path(address: str) -> str:
    """An address in angle brackets, for MAIL FROM and RCPT TO. smtplib's `quoteaddr`
    parses it with the email package, a twentieth of the worker's time (benchmarks); a
    plain address needs only the brackets."""
    if _PLAIN_ADDRESS.fullmatch(address):
        return f"<{address}>"
    return smtplib.quoteaddr(address)


def _no_delay(connection: smtplib.SMTP) -> None:
    """Turn Nagle's algorithm off. A transaction ends with a small write (the final ".")
    right after a large one (the message); with Nagle on, it waits for the server's
    delayed ACK of the message, 40 ms on Linux, which capped a connection at about 13
    emails a second."""
    if connection.sock is not None:
        connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply


def _failure(code: int, reply: bytes | str) -> SendResult:
    return SendResult(False, code, _text(reply))
