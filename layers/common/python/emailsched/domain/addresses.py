"""Addresses as strict receivers want them: IDN domains as A-labels, SMTPUTF8 only if needed.

`lead@bücher.de` goes out as `lead@xn--bcher-kva.de` (IDNA 2008 with UTS #46 mapping), which
every server accepts. Only a non-ASCII local part (`ü@example.com`) needs SMTPUTF8
(RFC 6531); without it such an address cannot be sent, and `NeedsSmtpUtf8` says so.
"""

from __future__ import annotations

import email.utils
import uuid

import idna

from emailsched.errors import EmailschedError


class NeedsSmtpUtf8(EmailschedError):
    """The address has a non-ASCII local part, and the server does not offer SMTPUTF8."""

    status = 422
    code = "needs_smtputf8"


class InvalidDomain(EmailschedError, ValueError):
    """The address's domain is not a valid internationalised domain name."""

    status = 400
    code = "invalid_domain"


def ascii_domain(domain: str) -> str:
    """`domain` as its A-label form (`bücher.de` -> `xn--bcher-kva.de`), lower case."""
    if domain.isascii():
        return domain.lower()
    try:
        return idna.encode(domain, uts46=True).decode("ascii")
    except idna.IDNAError as error:
        raise InvalidDomain(f"{domain!r} is not a valid domain: {error}") from None


def split_address(address: str) -> tuple[str, str]:
    """(local part, domain) of `address`, split at its last `@`."""
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain:
        raise ValueError(f"{address!r} is not an address")
    return local, domain


def needs_smtputf8(address: str) -> bool:
    """Whether sending to `address` needs SMTPUTF8 even with its domain as A-labels."""
    return not split_address(address)[0].isascii()


def envelope_address(address: str, smtputf8_offered: bool) -> str:
    """The address for MAIL FROM / RCPT TO: A-label domain; NeedsSmtpUtf8 when it can't go."""
    local, domain = split_address(address)
    if not local.isascii() and not smtputf8_offered:
        raise NeedsSmtpUtf8(f"{address} has a non-ASCII local part and the server does not "
                            "offer SMTPUTF8")
    return f"{local}@{ascii_domain(domain)}"


def header_address(name: str | None, address: str, smtputf8: bool = False) -> str:
    """A From/To value: the display name RFC 2047-encoded when not ASCII, A-label domain."""
    addr = envelope_address(address, smtputf8)
    display = " ".join((name or "").split())  # no line breaks or runs of space in a header
    if not addr.isascii():  # SMTPUTF8: the whole header may be UTF-8 (RFC 6532)
        return f'"{email.utils.quote(display)}" <{addr}>' if display else addr
    return email.utils.formataddr((display, addr), charset="utf-8")


def message_id(email_id: uuid.UUID, domain: str) -> str:
    """`<email id@domain>` with the domain as A-labels: one per email, stable across retries."""
    return f"<{email_id}@{ascii_domain(domain)}>"
