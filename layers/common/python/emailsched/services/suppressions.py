"""The suppression list and one-click unsubscribe (SPEC.md "Unsubscribe and suppression").

A token names one email (domain/unsubscribe.py); confirming it puts that email's recipient
on the email's user's list. An unknown or altered token is NotFound, with nothing said
about why, and the public routes count every request against per-address and per-token
limits before anything else is done.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence

from emailsched.domain.recipients import normalise_address
from emailsched.domain.records import Suppression
from emailsched.domain.unsubscribe import read_token
from emailsched.errors import InvalidRequest, NotFound
from emailsched.ports import Clock, PublicLimits, SuppressionStore
from emailsched.services.queries import Page

MAX_EMAILS_PER_REQUEST = 10_000
MAX_POSTAL_ADDRESS = 500
MANUAL = "manual"


class SuppressionService:
    def __init__(self, store: SuppressionStore, clock: Clock, key: bytes,
                 limits: PublicLimits | None = None):
        self._store, self._clock, self._key, self._limits = store, clock, key, limits

    # --- the user's list --------------------------------------------------------------------
    def page(self, user_id: uuid.UUID, page: Page) -> tuple[list[Suppression], int]:
        return self._store.page(user_id, page.limit, page.offset)

    def add(self, user_id: uuid.UUID, emails: Sequence[str]) -> int:
        """Suppress `emails` (reason manual); InvalidRequest naming each bad one."""
        if len(emails) > MAX_EMAILS_PER_REQUEST:
            raise InvalidRequest(f"at most {MAX_EMAILS_PER_REQUEST} addresses per request",
                                 details=[{"field": "emails", "message": "too many"}])
        clean, errors = [], []
        for index, raw in enumerate(emails):
            try:
                clean.append(normalise_address(raw).lower())
            except ValueError as error:
                errors.append({"field": f"emails[{index}]", "message": str(error)})
        if errors:
            raise InvalidRequest(f"{len(errors)} address(es) are not valid", details=errors[:100])
        return self._store.add(user_id, clean, MANUAL)

    def remove(self, user_id: uuid.UUID, email: str) -> None:
        if not self._store.remove(user_id, email.strip().lower()):
            raise NotFound(f"{email} is not on the suppression list")

    def set_postal_address(self, user_id: uuid.UUID, postal_address: str | None) -> None:
        value = (postal_address or "").strip() or None
        if value is not None and (len(value) > MAX_POSTAL_ADDRESS or "\0" in value):
            raise InvalidRequest("postalAddress is too long", details=[
                {"field": "postalAddress", "message": f"at most {MAX_POSTAL_ADDRESS} characters"}])
        self._store.set_postal_address(user_id, value)

    # --- public: /u/{token} ------------------------------------------------------------------
    def recipient_for(self, token: str, client_ip: str) -> str:
        """The address a token would unsubscribe (for the confirmation page); no change."""
        return self._known(self._email_id(token, client_ip), self._store.recipient_of)

    def unsubscribe(self, token: str, client_ip: str) -> str:
        """Suppress the token's recipient (again is harmless); the address."""
        return self._known(self._email_id(token, client_ip), self._store.unsubscribe)

    def _email_id(self, token: str, client_ip: str) -> uuid.UUID:
        if self._limits is not None:
            self._limits.check(client_ip, token[:100], self._clock.now().timestamp())
        email_id = read_token(self._key, token)
        if email_id is None:
            raise NotFound("no such unsubscribe link")
        return email_id

    @staticmethod
    def _known(email_id: uuid.UUID, lookup: Callable[[uuid.UUID], str | None]) -> str:
        address = lookup(email_id)
        if address is None:  # signed by us, but its email is gone (its batch deleted)
            raise NotFound("no such unsubscribe link")
        return str(address)
