"""MailboxVerifier: the SMTP check of adapters/smtp_account.py and the IMAP login of
adapters/imap_mailbox.py, each failure an AccountUnverified with the server's answer."""

from __future__ import annotations

from typing import cast

from emailsched.adapters.imap_mailbox import verify_imap_account
from emailsched.adapters.scrub import scrub
from emailsched.adapters.smtp_account import Security, verify_smtp_account
from emailsched.errors import AccountUnverified, EmailschedError
from emailsched.ports import MailLogin


class NetworkMailboxVerifier:
    def __init__(self, timeout: float = 10.0, verify_tls: bool = True):
        self._timeout, self._verify_tls = timeout, verify_tls

    def verify_smtp(self, login: MailLogin) -> None:
        verify_smtp_account(login.host, login.port, cast(Security, login.security),
                            login.username, login.password, timeout=self._timeout,
                            verify_tls=self._verify_tls, oauth=login.oauth)

    def verify_imap(self, login: MailLogin) -> None:
        try:
            verify_imap_account(login.host, login.port, cast(Security, login.security),
                                login.username, login.password, timeout=self._timeout,
                                verify_tls=self._verify_tls, oauth=login.oauth)
        except EmailschedError as error:  # refused, unreachable: the user reads why
            message = scrub(error.message, [login.password])
            raise AccountUnverified(f"IMAP: {message}", stage="imap") from None
        except OSError as error:
            raise AccountUnverified(f"IMAP: cannot connect to {login.host}:{login.port}: "
                                    f"{error}", stage="imap") from None
