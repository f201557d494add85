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
import ssl
import threading
from collections.abc import Callable
from email.message import EmailMessage
from email.policy import SMTP, SMTPUTF8
from email.utils import formataddr, formatdate

from emailsched.domain.retry import SendResult
from emailsched.ports import OutgoingEmail

_LINE_ENDS = re.compile(rb"\r\n|\n|\r")
_LEADING_DOT = re.compile(rb"(?m)^\.")
_TAGS = re.compile(r"<[^>]+>")
_BLANK_RUNS = re.compile(r"\n\s*\n\s*\n+")


class SendAbandoned(Exception):
    """The ledger refused the send at the point of no return; nothing was delivered."""


def build_message(email: OutgoingEmail) -> EmailMessage:
    message = EmailMessage()
    message["From"] = formataddr((email.sender_name, email.sender_email))
    message["To"] = email.recipient
    message["Subject"] = email.subject
    message["Message-ID"] = email.message_id
    message["Date"] = formatdate(usegmt=True)
    message.set_content(html_to_text(email.body_html))
    message.add_alternative(email.body_html, subtype="html")
    return message


def html_to_text(body: str) -> str:
    text = _TAGS.sub("", re.sub(r"(?i)<br\s*/?>|</p>|</div>|</li>|</h\d>", "\n", body))
    return _BLANK_RUNS.sub("\n\n", html.unescape(text)).strip() + "\n"


def dot_stuffed(raw: bytes) -> bytes:
    data = _LEADING_DOT.sub(b"..", _LINE_ENDS.sub(b"\r\n", raw))
    return data if data.endswith(b"\r\n") else data + b"\r\n"


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
        message = build_message(email)
        policy = (SMTPUTF8 if needs_utf8 else SMTP)
        payload = message.as_bytes(policy=policy)
        code, reply = connection.mail(email.sender_email, options)
        if code != 250:
            return self._abort(connection, code, reply)
        code, reply = connection.rcpt(email.recipient)
        if code not in (250, 251):
            return self._abort(connection, code, reply)
        code, reply = connection.docmd("DATA")
        if code != 354:
            return self._abort(connection, code, reply)
        connection.send(dot_stuffed(payload))
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


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply


def _failure(code: int, reply: bytes | str) -> SendResult:
    return SendResult(False, code, _text(reply))
