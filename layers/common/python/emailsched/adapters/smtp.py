"""Sending over SMTP with smtplib, one reused connection per thread.

The DATA phase is split so the ledger can record the send at the last moment at which
nothing has been delivered yet: the whole message is written, then `point_of_no_return`
commits `sent`, and only then the final "." asks the server to deliver. A process killed
before the commit leaves an undelivered email that is safe to send again; one killed after
it has delivered and recorded it. The window between them is a few microseconds, where
committing after the server's reply would leave milliseconds in which a crash sends twice.
"""

from __future__ import annotations

import html
import re
import smtplib
import socket
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP, SMTPUTF8
from email.utils import format_datetime, formataddr, formatdate
from functools import lru_cache

from emailsched.domain.retry import SendResult
from emailsched.ports import OutgoingEmail

_LINE_ENDS = re.compile(rb"\r\n|\n|\r")
_LEADING_DOT = re.compile(rb"(?m)^\.")
_TAGS = re.compile(r"<[^>]+>")
_BLANK_RUNS = re.compile(r"\n\s*\n\s*\n+")


class SendAbandoned(Exception):
    """The ledger refused the send at the point of no return; nothing was delivered."""


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
                 security: str = "none", timeout: float = 30.0, verify_tls: bool = True):
        self._host, self._port = host, port
        self._user, self._password = user, password
        self._security, self._timeout = security, timeout
        self._verify_tls = verify_tls
        self._local = threading.local()

    def send(self, email: OutgoingEmail, point_of_no_return: Callable[[], bool]) -> SendResult:
        for reused in (True, False):
            try:
                connection, was_open = self._connection()
            except smtplib.SMTPResponseException as error:
                return _failure(error.smtp_code, error.smtp_error)
            except (OSError, smtplib.SMTPException) as error:
                return SendResult(False, None, f"cannot connect to {self._host}:{self._port}: "
                                                f"{error}")
            try:
                return self._transaction(connection, email, point_of_no_return)
            except smtplib.SMTPServerDisconnected as error:
                # A reused connection the server closed while idle: reconnect once.
                self.close_hard()
                if not (reused and was_open):
                    return SendResult(False, None, f"connection lost: {error}")
            except (OSError, smtplib.SMTPException) as error:
                self.close_hard()
                return SendResult(False, None, f"connection lost: {error}")
        return SendResult(False, None, "connection lost")

    def close(self) -> None:
        connection = getattr(self._local, "connection", None)
        self._local.connection = None
        if connection is not None:
            try:
                connection.quit()
            except (OSError, smtplib.SMTPException):
                connection.close()

    def _connection(self) -> tuple[smtplib.SMTP, bool]:
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            return connection, True
        connection = self._connect()
        self._local.connection = connection
        return connection, False

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

    def _transaction(self, connection: smtplib.SMTP, email: OutgoingEmail,
                     point_of_no_return: Callable[[], bool]) -> SendResult:
        needs_utf8 = not (email.sender_email + email.recipient).isascii()
        options = ["SMTPUTF8", "BODY=8BITMIME"] if needs_utf8 else []
        if needs_utf8 and not connection.has_extn("smtputf8"):
            return SendResult(False, 553, "server does not accept international addresses")
        data = message_data(email)
        code, reply = _envelope(connection, "mail", email.sender_email, options)
        if code != 250:
            return self._abort(connection, code, reply)
        code, reply = _envelope(connection, "rcpt", email.recipient, [])
        if code not in (250, 251):
            return self._abort(connection, code, reply)
        code, reply = connection.docmd("DATA")
        if code != 354:
            return self._abort(connection, code, reply)
        connection.send(data)
        try:
            go_ahead = point_of_no_return()
        except BaseException:
            self.close_hard()
            raise
        if not go_ahead:
            self.close_hard()
            raise SendAbandoned(email.message_id)
        try:
            connection.send(b".\r\n")
            code, reply = connection.getreply()
        except (OSError, smtplib.SMTPServerDisconnected) as error:
            # The server has the whole message: whether it delivered it is unknown.
            self.close_hard()
            return SendResult(False, None, f"connection lost after the message was handed "
                                           f"over: {error}", outcome_unknown=True)
        return SendResult(code == 250, code, _text(reply))

    def _abort(self, connection: smtplib.SMTP, code: int, reply: bytes) -> SendResult:
        try:
            connection.rset()
        except (OSError, smtplib.SMTPException):
            self.close_hard()
        return _failure(code, reply)

    def close_hard(self) -> None:
        """Drop the connection without QUIT, so a half-written message is discarded."""
        connection = getattr(self._local, "connection", None)
        self._local.connection = None
        if connection is not None:
            connection.close()


def _envelope(connection: smtplib.SMTP, verb: str, address: str,
              options: list[str]) -> tuple[int, bytes]:
    """MAIL FROM or RCPT TO. smtplib quotes each address with the email package's address
    parser, a twentieth of the worker's time (benchmarks); a plain address needs only its
    angle brackets."""
    if options or _PLAIN_ADDRESS.fullmatch(address) is None:
        send = connection.mail if verb == "mail" else connection.rcpt
        return send(address, options)
    connection.putcmd(verb, f"{'FROM' if verb == 'mail' else 'TO'}:<{address}>")
    return connection.getreply()


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
