"""The inbox for the API (SPEC.md, "Inbox"): threads listed, one read (and marked read),
a lead's status and unread flag set, and a reply sent from the product.

A reply is an email of the ledger (kind `reply`, due now, its own subject, body and
references): the pump, the queue and the sender send it like any other, through the
thread's sender, within its limits and with the point of no return that sends each email
at most once, whatever fails.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from contextlib import suppress
from dataclasses import replace
from datetime import datetime
from typing import Any, Protocol

from emailsched.domain.inbox.leads import LeadStatus
from emailsched.domain.inbox.threads import InboxFilter, Thread, ThreadMessage, reply_subject
from emailsched.domain.inbox.verdict import MessageKind
from emailsched.domain.templates import compile_templates, render
from emailsched.domain.text_part import html_to_text
from emailsched.errors import Conflict, InvalidRequest, NotFound
from emailsched.ports import Clock
from emailsched.services.queries import Page
from emailsched.services.read_cache import BigCountCache

SEARCH_EXACT_BELOW = 1_000
_ENDED = frozenset({LeadStatus.UNSUBSCRIBED.value, LeadStatus.BOUNCED.value})


class InboxStore(Protocol):
    def threads(self, user_id: uuid.UUID, where: InboxFilter, limit: int,
                offset: int) -> list[Thread]: ...

    def count(self, user_id: uuid.UUID, where: InboxFilter) -> int: ...

    def thread(self, user_id: uuid.UUID, thread_id: uuid.UUID) -> Thread | None: ...

    def conversation(self, thread: Thread) -> tuple[list[Any], list[Any]]: ...

    def set_unread(self, user_id: uuid.UUID, thread_id: uuid.UUID, unread: bool) -> None: ...

    def set_lead_status(self, user_id: uuid.UUID, thread_id: uuid.UUID,
                        status: LeadStatus) -> bool: ...

    def suppressed(self, user_id: uuid.UUID, recipient: str) -> bool: ...

    def add_reply(self, user_id: uuid.UUID, thread_id: uuid.UUID, subject: str, body: str,
                  refs: Sequence[str], now: datetime) -> uuid.UUID | None: ...


class InboxService:
    def __init__(self, store: InboxStore, clock: Clock):
        self._store, self._clock = store, clock
        # Exact below 10,000 threads; a few seconds stale above (services/read_cache.py).
        # A search's total costs a match per hit, so above 1,000 hits it is kept too.
        self._totals: BigCountCache[int] = BigCountCache(clock, lambda total: total)
        self._search_totals: BigCountCache[int] = BigCountCache(
            clock, lambda total: total, exact_below=SEARCH_EXACT_BELOW)

    def threads(self, user_id: uuid.UUID, where: InboxFilter,
                page: Page) -> tuple[list[Thread], int]:
        totals = self._search_totals if where.q else self._totals
        total = totals.get((user_id, where), lambda: self._store.count(user_id, where))
        return self._store.threads(user_id, where, page.limit, page.offset), total

    def read(self, user_id: uuid.UUID, thread_id: uuid.UUID) -> tuple[Thread, list[ThreadMessage]]:
        """The thread and its messages, oldest first; the thread is read from now on."""
        thread = self._thread(user_id, thread_id)
        messages = self._messages(thread)
        if thread.unread:
            self._store.set_unread(user_id, thread_id, False)
            thread = replace(thread, unread=False)
        return thread, messages

    def update(self, user_id: uuid.UUID, thread_id: uuid.UUID, lead_status: LeadStatus | None,
               unread: bool | None) -> Thread:
        self._thread(user_id, thread_id)
        if lead_status is not None:
            self._store.set_lead_status(user_id, thread_id, lead_status)
        if unread is not None:
            self._store.set_unread(user_id, thread_id, unread)
        return self._thread(user_id, thread_id)

    def reply(self, user_id: uuid.UUID, thread_id: uuid.UUID, body: str) -> ThreadMessage:
        """Our answer, in the ledger to be sent now; 409 when the lead may not be written to."""
        if not body.strip():
            raise InvalidRequest("body is empty", details=[{"field": "body",
                                                            "message": "must not be empty"}])
        thread = self._thread(user_id, thread_id)
        if thread.lead_status in _ENDED or self._store.suppressed(user_id, thread.recipient_email):
            raise Conflict(f"{thread.recipient_email} is suppressed: no email goes to them")
        messages = self._messages(thread)
        answered = _answered(messages)
        subject = reply_subject(answered.subject if answered else thread.subject)
        refs = [m.message_id for m in messages if m.message_id]
        now = self._clock.now()
        email_id = self._store.add_reply(user_id, thread_id, subject, body, refs, now)
        if email_id is None:
            raise NotFound("no such thread")
        sender = next((m.from_address for m in messages if m.direction == "out"), "")
        return ThreadMessage(id=email_id, direction="out", kind=MessageKind.REPLY.value,
                             from_address=sender, to_address=thread.recipient_email,
                             subject=subject, text=html_to_text(body), html=body,
                             message_id=None, at=now, status="scheduled")

    def _thread(self, user_id: uuid.UUID, thread_id: uuid.UUID) -> Thread:
        found = self._store.thread(user_id, thread_id)
        if found is None:
            raise NotFound("no such thread")
        return found

    def _messages(self, thread: Thread) -> list[ThreadMessage]:
        theirs, ours = self._store.conversation(thread)
        messages = [_theirs(row) for row in theirs] + [_ours(row) for row in ours]
        return sorted(messages, key=lambda m: m.at)


def _answered(messages: list[ThreadMessage]) -> ThreadMessage | None:
    """The message a reply answers: their latest, else our latest."""
    inbound = [m for m in messages if m.direction == "in" and m.message_id]
    return inbound[-1] if inbound else (messages[-1] if messages else None)


def _theirs(row: Mapping[str, Any]) -> ThreadMessage:
    return ThreadMessage(id=row["id"], direction="in", kind=row["kind"],
                         from_address=row["from_address"], to_address=row["to_address"],
                         subject=row["subject"], text=row["text"], html=row["html"],
                         message_id=row["message_id"], at=row["at"],
                         attachments=list(row["attachments"] or []))


def _ours(row: Mapping[str, Any]) -> ThreadMessage:
    subject, body = row["subject"] or "", row["body"] or ""
    if row["templated"]:
        # A template that cannot be rendered is shown as written (its send failed on it).
        with suppress(InvalidRequest):
            subject, body = render(compile_templates(subject, body), row["fields"] or {},
                                   row["recipient_email"], "#")
    kind = MessageKind.REPLY if row["kind"] == "reply" else MessageKind.EMAIL
    return ThreadMessage(id=row["id"], direction="out", kind=kind.value,
                         from_address=row["sender_email"], to_address=row["recipient_email"],
                         subject=subject, text=html_to_text(body), html=body,
                         message_id=row["message_id"], at=row["at"], status=row["status"])

