"""Checking a sender's SMTP account before it is stored: connect, EHLO, STARTTLS or
implicit TLS as `security` says, AUTH, QUIT. Nothing is sent.

A refusal becomes AccountUnverified carrying the server's reply or the connection error,
which the API shows the user (422 sender_unverified). The password never appears in it.
"""

from __future__ import annotations

import base64
import smtplib
import socket
import ssl
from typing import Literal

from emailsched.adapters.scrub import scrub
from emailsched.adapters.tls import client_context
from emailsched.domain.oauth import xoauth2
from emailsched.errors import AccountUnverified

Security = Literal["none", "starttls", "tls"]
SECURITIES = ("none", "starttls", "tls")


def verify_smtp_account(host: str, port: int, security: Security, username: str | None,
                        password: str | None, *, timeout: float = 10.0,
                        verify_tls: bool = True, oauth: bool = False) -> None:
    """Log in to the account and leave; AccountUnverified when any step fails. `oauth`:
    `password` is an access token, sent with AUTH XOAUTH2."""
    if security not in SECURITIES:
        raise ValueError(f"security must be one of {', '.join(SECURITIES)}")
    context = client_context(verify_tls)
    where = f"{host}:{port}"
    stage = "connect"
    client: smtplib.SMTP | None = None
    try:
        client = _connect(host, port, security, timeout, context)
        client.ehlo()
        if security == "starttls":
            _starttls(client, context, where)
        stage = "auth"
        if oauth:
            login_xoauth2(client, username or "", password or "")
        elif username:
            login_once(client, username, password or "")
        client.quit()
    except AccountUnverified:
        raise
    except (smtplib.SMTPException, OSError) as error:
        message = _scrub(_describe(error, where, timeout), username, password)
        code = getattr(error, "smtp_code", None)
        raise AccountUnverified(message, stage=stage,
                                reply_code=code if isinstance(code, int) else None) from None
    finally:
        if client is not None:
            client.close()


# smtplib's login() tries each mechanism both sides know until one succeeds, so one wrong
# password is two or three failed logins at the server (PLAIN, then LOGIN), and providers
# count those towards locking the account. One mechanism: the first of these both offer.
_MECHANISMS = ("CRAM-MD5", "PLAIN", "LOGIN")


def login_once(client: smtplib.SMTP, username: str, password: str) -> None:
    """AUTH with one mechanism; SMTPAuthenticationError carries the server's refusal."""
    client.ehlo_or_helo_if_needed()
    if not client.has_extn("auth"):
        raise smtplib.SMTPNotSupportedError("SMTP AUTH extension not supported by server.")
    offered = client.esmtp_features["auth"].upper().split()
    mechanism = next((m for m in _MECHANISMS if m in offered), None)
    if mechanism is None:
        raise smtplib.SMTPException("No suitable authentication method found.")
    client.user, client.password = username, password
    answer = getattr(client, "auth_" + mechanism.lower().replace("-", "_"))
    client.auth(mechanism, answer, initial_response_ok=True)


def login_xoauth2(client: smtplib.SMTP, username: str, access_token: str) -> None:
    """AUTH XOAUTH2 (Google's and Microsoft's SASL for OAuth 2.0 bearer tokens). A refusal
    comes as a 334 with an error document, answered with an empty line to get the 535."""
    client.ehlo_or_helo_if_needed()
    if not client.has_extn("auth"):
        raise smtplib.SMTPNotSupportedError("SMTP AUTH extension not supported by server.")
    if "XOAUTH2" not in client.esmtp_features["auth"].upper().split():
        raise smtplib.SMTPException("the server does not offer AUTH XOAUTH2")

    def answer(challenge: bytes | None = None) -> str:
        return "" if challenge else xoauth2(username, access_token)

    client.auth("XOAUTH2", answer, initial_response_ok=True)


def _connect(host: str, port: int, security: Security, timeout: float,
             context: ssl.SSLContext) -> smtplib.SMTP:
    if security == "tls":
        return smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
    return smtplib.SMTP(host, port, timeout=timeout)


def _starttls(client: smtplib.SMTP, context: ssl.SSLContext, where: str) -> None:
    if not client.has_extn("starttls"):
        raise AccountUnverified(f"{where} does not offer STARTTLS", stage="tls")
    client.starttls(context=context)
    client.ehlo()


def _describe(error: BaseException, where: str, timeout: float) -> str:
    """What the user reads: the server's reply when there is one, else what went wrong."""
    if isinstance(error, smtplib.SMTPResponseException):
        reply = error.smtp_error
        text = reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)
        return f"{error.smtp_code} {text}".strip()
    if isinstance(error, smtplib.SMTPNotSupportedError):
        return f"{where} does not offer AUTH: {error}"
    if isinstance(error, TimeoutError) or isinstance(error.__context__, TimeoutError):
        return f"no answer from {where} within {timeout:g} s"
    if isinstance(error, smtplib.SMTPServerDisconnected):
        return f"{where} closed the connection: {error}".rstrip(": ")
    if isinstance(error, ssl.SSLCertVerificationError):
        return f"TLS certificate of {where} not trusted: {error.verify_message}"
    if isinstance(error, ssl.SSLError):
        return f"TLS with {where} failed: {error.reason or error}"
    if isinstance(error, socket.gaierror):
        return f"cannot resolve {where.rsplit(':', 1)[0]}: {error.strerror}"
    if isinstance(error, ConnectionRefusedError):
        return f"cannot connect to {where}: connection refused"
    return f"cannot connect to {where}: {getattr(error, 'strerror', None) or error}"


def _scrub(message: str, username: str | None, password: str | None) -> str:
    """Remove the password (plain, or as AUTH PLAIN/LOGIN sent it) should a server echo it,
    where it stands as a token of its own."""
    if not password:
        return message
    forms = [password, base64.b64encode(password.encode()).decode()]
    if username:
        forms.append(base64.b64encode(f"\0{username}\0{password}".encode()).decode())
        forms.append(base64.b64encode(xoauth2(username, password).encode()).decode())
    return scrub(message, forms)
