"""Errors of sender accounts (SPEC.md "Senders"), kept apart from errors.py until the
senders work is integrated; each subclasses the one root exception."""

from __future__ import annotations

from emailsched.errors import EmailschedError


class ConfigurationError(EmailschedError):
    """The deployment is misconfigured; the message names the setting to fix."""

    status = 500
    code = "configuration_error"


class CredentialsUnreadable(EmailschedError):
    """A stored credential does not decrypt (altered, moved, or under another key)."""

    status = 500
    code = "credentials_unreadable"


class AccountUnverified(EmailschedError):
    """The mail server did not accept the account.

    The message is the server's reply or the connection error; `stage` says how far the
    check got (connect or auth), `reply_code` is the SMTP code when there was a reply.
    """

    status = 422
    code = "sender_unverified"

    def __init__(self, message: str, stage: str = "connect", reply_code: int | None = None):
        super().__init__(message)
        self.stage = stage
        self.reply_code = reply_code
