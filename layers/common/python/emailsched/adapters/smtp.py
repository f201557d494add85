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

import re
import smtplib
import socket
import threading
from collections.abc import Callable, Sequence

from emailsched.adapters.mime import message_data
from emailsched.adapters.smtp_account import login_once
from emailsched.adapters.tls import client_context
from emailsched.domain.addresses import InvalidDomain, NeedsSmtpUtf8, envelope_address
from emailsched.domain.outgoing import OutgoingEmail
from emailsched.domain.retry import FailureKind, SendResult
from emailsched.ports import PointOfNoReturn

# Addresses written in angle brackets as they are; anything else goes through quoteaddr.
_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+")
NEEDS_SMTPUTF8 = "5.6.7 {} address needs SMTPUTF8, which the server does not offer"


class SmtpMailer:
    def __init__(self, host: str, port: int, *, user: str = "", password: str = "",
                 security: str = "none", timeout: float = 30.0, verify_tls: bool = True,
                 sessions: int = 1, login: Callable[[smtplib.SMTP], None] | None = None):
        """`login`, when given, authenticates each new connection instead of `user` and
        `password` (adapters/oauth_mailer.py: AUTH XOAUTH2 with a fresh access token)."""
        self._host, self._port = host, port
        self._user, self._password = user, password
        self._security, self._timeout = security, timeout
        self._verify_tls = verify_tls
        self._login = login
        self.sessions = sessions
        # Each worker thread has its own sessions (a round is one thread's). They are kept
        # here by thread, so close() (a pool evicting an idle mailer, from whichever thread
        # notices) reaches every thread's: idle ones now, a busy one's when its round ends.
        self._lock = threading.Lock()
        self._by_thread: dict[int, list[_Session]] = {}
        self._busy: set[int] = set()
        self._doomed: set[int] = set()

    def send_round(self, emails: Sequence[OutgoingEmail],
                   point_of_no_return: PointOfNoReturn) -> list[SendResult | None]:
        if not 0 < len(emails) <= self.sessions:
            raise ValueError(f"a round takes 1 to {self.sessions} emails, not {len(emails)}")
        me = threading.get_ident()
        sessions = self._sessions(me)
        try:
            return self._round(sessions, emails, point_of_no_return)
        finally:
            self._round_over(me, sessions)

    def _round(self, sessions: list[_Session], emails: Sequence[OutgoingEmail],
               point_of_no_return: PointOfNoReturn) -> list[SendResult | None]:
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
        """Every thread's sessions: those not in a round now (QUIT, from this thread), a
        thread's that is sending when its round ends (by that thread). Safe from any
        thread; the mailer may be used again after (it reconnects)."""
        with self._lock:
            idle = [tid for tid in self._by_thread if tid not in self._busy]
            closing = [session for tid in idle for session in self._by_thread.pop(tid)]
            self._doomed |= self._busy & self._by_thread.keys()
        for session in closing:
            session.close()

    @property
    def open_sessions(self) -> int:
        """Sessions kept (connected or not yet), over every thread."""
        with self._lock:
            return sum(len(sessions) for sessions in self._by_thread.values())

    def _sessions(self, me: int) -> list[_Session]:
        with self._lock:
            self._busy.add(me)
            sessions = self._by_thread.get(me)
            if not sessions:
                sessions = [_Session(self._connect, self._host, self._port)
                            for _ in range(self.sessions)]
                self._by_thread[me] = sessions
            return sessions

    def _round_over(self, me: int, sessions: list[_Session]) -> None:
        with self._lock:
            self._busy.discard(me)
            doomed = me in self._doomed
            self._doomed.discard(me)
            if doomed and self._by_thread.get(me) is sessions:
                del self._by_thread[me]
        if doomed:  # closed while this round ran: this thread closes its own now
            for session in sessions:
                session.close()

    def _connect(self) -> smtplib.SMTP:
        context = client_context(self._verify_tls)
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
        if self._login is not None:
            self._login(connection)
        elif self._user:
            login_once(connection, self._user, self._password)
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
        self._rcpt_to = ""
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
        except smtplib.SMTPAuthenticationError as error:
            return SendResult(False, error.smtp_code, _text(error.smtp_error),
                              kind=FailureKind.AUTH)
        except smtplib.SMTPResponseException as error:
            return SendResult(False, error.smtp_code, _text(error.smtp_error),
                              kind=FailureKind.CONNECTION)
        except (OSError, smtplib.SMTPException) as error:
            return SendResult(False, None, f"cannot connect to {self._where}: {error}",
                              kind=FailureKind.CONNECTION)
        offered = bool(connection.has_extn("smtputf8"))
        try:
            # IDN domains as A-labels: only a non-ASCII local part needs SMTPUTF8.
            mail_from = envelope_address(email.sender_email, offered)
            self._rcpt_to = envelope_address(email.recipient, offered)
        except NeedsSmtpUtf8:
            whose = "sender" if not email.sender_email.split("@")[0].isascii() else "recipient"
            return SendResult(False, 553, NEEDS_SMTPUTF8.format(whose))
        except InvalidDomain as error:
            return SendResult(False, 553, f"5.1.3 {error.message}")
        needs_utf8 = not (mail_from + self._rcpt_to).isascii()
        connection.command_encoding = "utf-8" if needs_utf8 else "ascii"
        self._data = message_data(email, smtputf8=needs_utf8)
        options = " SMTPUTF8 BODY=8BITMIME" if needs_utf8 else ""
        connection.putcmd("mail", f"FROM:{_path(mail_from)}{options}")
        return None

    def _next(self) -> SendResult | None:
        assert self._connection is not None and self._email is not None
        connection, step = self._connection, _STEPS[self._step]
        code, reply = connection.getreply()
        if code not in _GO_ON[step]:
            return self._abort(connection, code, reply)
        self._step += 1
        if step == "mail":
            connection.putcmd("rcpt", f"TO:{_path(self._rcpt_to)}")
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
