"""Managing webhook endpoints (SPEC.md, "Webhooks (Standard Webhooks 1.0)"): creation with
the URL checked against SSRF, the secret shown at creation and on demand, a test event,
the delivery log and replays."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from typing import Any, Protocol

from emailsched.domain import webhooks
from emailsched.domain.webhooks import EVENT_TYPES, Attempt, Endpoint
from emailsched.errors import Conflict, InvalidRequest, NotFound
from emailsched.ports import Clock, CredentialCipher
from emailsched.services.queries import Page
from emailsched.services.webhook_dispatch import secret_context

STATUSES = ("enabled", "disabled")


class WebhookStore(Protocol):
    def create(self, endpoint_id: uuid.UUID, user_id: uuid.UUID, url: str, events: list[str],
               description: str, secret_enc: str) -> Endpoint: ...

    def all(self, user_id: uuid.UUID) -> list[Endpoint]: ...

    def get(self, user_id: uuid.UUID, endpoint_id: uuid.UUID) -> Endpoint | None: ...

    def secret(self, user_id: uuid.UUID, endpoint_id: uuid.UUID) -> str | None: ...

    def update(self, user_id: uuid.UUID, endpoint_id: uuid.UUID,
               changes: dict[str, Any]) -> Endpoint | None: ...

    def delete(self, user_id: uuid.UUID, endpoint_id: uuid.UUID) -> bool: ...

    def add_message(self, endpoint_id: uuid.UUID, event_id: str, event_type: str,
                    data: dict[str, Any]) -> None: ...

    def attempts(self, endpoint_id: uuid.UUID, limit: int,
                 offset: int) -> tuple[list[Attempt], int]: ...

    def replay(self, endpoint_id: uuid.UUID, event_id: str) -> bool: ...


class UrlChecker(Protocol):
    def check(self, url: str) -> Any:
        """InvalidRequest on `url` when the URL may not be called."""


def new_event_id() -> str:
    return "msg_" + uuid.uuid4().hex


def _events(events: list[str]) -> list[str]:
    unknown = sorted(set(events) - set(EVENT_TYPES))
    if not events or unknown:
        raise InvalidRequest("invalid webhook", details=[{"field": "events", "message":
                             f"one or more of {', '.join(EVENT_TYPES)}"
                             + (f"; unknown: {', '.join(unknown)}" if unknown else "")}])
    return sorted(set(events), key=EVENT_TYPES.index)


class WebhookService:
    def __init__(self, store: WebhookStore, urls: UrlChecker,
                 cipher: Callable[[], CredentialCipher], clock: Clock):
        self._store, self._urls, self._cipher, self._clock = store, urls, cipher, clock

    def create(self, user_id: uuid.UUID, url: str, events: list[str],
               description: str | None) -> tuple[Endpoint, str]:
        chosen = _events(events)
        self._urls.check(url)
        endpoint_id = uuid.uuid4()
        secret = webhooks.secret_from(os.urandom(webhooks.SECRET_BYTES))
        sealed = self._cipher().encrypt(secret, secret_context(endpoint_id))
        endpoint = self._store.create(endpoint_id, user_id, url.strip(), chosen,
                                      (description or "").strip(), sealed)
        return endpoint, secret

    def all(self, user_id: uuid.UUID) -> list[Endpoint]:
        return self._store.all(user_id)

    def get(self, user_id: uuid.UUID, endpoint_id: uuid.UUID) -> Endpoint:
        found = self._store.get(user_id, endpoint_id)
        if found is None:
            raise NotFound("no such webhook")
        return found

    def secret(self, user_id: uuid.UUID, endpoint_id: uuid.UUID) -> str:
        sealed = self._store.secret(user_id, endpoint_id)
        if sealed is None:
            raise NotFound("no such webhook")
        return self._cipher().decrypt(sealed, secret_context(endpoint_id))

    def update(self, user_id: uuid.UUID, endpoint_id: uuid.UUID, url: str | None,
               events: list[str] | None, description: str | None,
               status: str | None) -> Endpoint:
        if status is not None and status not in STATUSES:
            raise InvalidRequest("invalid webhook", details=[
                {"field": "status", "message": "enabled or disabled"}])
        changes: dict[str, Any] = {"description": description, "status": status}
        if url is not None:
            self._urls.check(url)
            changes["url"] = url.strip()
        if events is not None:
            changes["events"] = _events(events)
        found = self._store.update(user_id, endpoint_id, changes)
        if found is None:
            raise NotFound("no such webhook")
        return found

    def delete(self, user_id: uuid.UUID, endpoint_id: uuid.UUID) -> None:
        if not self._store.delete(user_id, endpoint_id):
            raise NotFound("no such webhook")

    def test(self, user_id: uuid.UUID, endpoint_id: uuid.UUID) -> str:
        endpoint = self.get(user_id, endpoint_id)
        if endpoint.status != "enabled":
            raise Conflict("the webhook is disabled; enable it first")
        event_id = new_event_id()
        self._store.add_message(endpoint.id, event_id, "webhook.test", {
            "webhookId": str(endpoint.id), "message": "a test event from emailsched"})
        return event_id

    def deliveries(self, user_id: uuid.UUID, endpoint_id: uuid.UUID,
                   page: Page) -> tuple[list[Attempt], int]:
        endpoint = self.get(user_id, endpoint_id)
        return self._store.attempts(endpoint.id, page.limit, page.offset)

    def replay(self, user_id: uuid.UUID, endpoint_id: uuid.UUID, event_id: str) -> None:
        endpoint = self.get(user_id, endpoint_id)
        if not self._store.replay(endpoint.id, event_id):
            raise NotFound("no such event for this webhook")
