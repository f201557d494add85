"""GET/PATCH /inbox, GET /inbox/{id}, POST /inbox/{id}/reply: their models, query parsing
and answers (SPEC.md, "Inbox")."""

from __future__ import annotations

from math import ceil
from typing import Any

from chalice import Response
from pydantic import BaseModel, Field, StrictBool, StrictStr

from emailsched.api import schemas
from emailsched.api.http import iso, json_response, parse_uuid, validate
from emailsched.domain.inbox.leads import LeadStatus
from emailsched.domain.inbox.threads import InboxFilter, Thread, ThreadMessage
from emailsched.errors import InvalidRequest
from emailsched.services.queries import Page

MAX_REPLY_BYTES = 256 * 1024


class ThreadOut(schemas.Model):
    id: str
    batch_id: str
    recipient_email: str
    sender_id: str
    subject: str
    last_message_at: str | None
    snippet: str
    unread: bool
    lead_status: str
    message_count: int


class ThreadListOut(schemas.Model):
    threads: list[ThreadOut]
    pagination: schemas.PaginationOut


class AttachmentOut(schemas.Model):
    name: str
    size: int
    content_type: str


class ThreadMessageOut(schemas.Model):
    id: str
    direction: str  # "out" | "in"
    kind: str  # "email" | "reply" | "auto_reply" | "bounce"
    from_: str = Field(alias="from")
    to: str
    subject: str
    text: str
    html: str | None
    message_id: str | None
    at: str
    status: str | None = None  # ours: the email's status (a reply waits to be sent)
    attachments: list[AttachmentOut] = Field(default_factory=list)


class ThreadDetailOut(schemas.Model):
    thread: ThreadOut
    messages: list[ThreadMessageOut]


class ThreadPatchIn(schemas.Model):
    lead_status: LeadStatus | None = None
    unread: StrictBool | None = None


class ReplyIn(schemas.Model):
    body: StrictStr = Field(min_length=1, max_length=MAX_REPLY_BYTES)


class InboxQuery(BaseModel):
    page: schemas.PageNumber = 1
    limit: schemas.PageLimit = 20
    lead_status: LeadStatus | None = Field(default=None, alias="leadStatus")
    sender_id: str | None = Field(default=None, alias="senderId")
    batch_id: str | None = Field(default=None, alias="batchId")
    unread: bool | None = None
    q: str | None = Field(default=None, max_length=200)


def inbox_query(query: Any) -> tuple[InboxFilter, Page]:
    parsed = validate(InboxQuery, dict(query or {}))
    ids = {name: None if not value else parse_uuid(value, field=name, missing=InvalidRequest)
           for name, value in (("senderId", parsed.sender_id), ("batchId", parsed.batch_id))}
    where = InboxFilter(parsed.lead_status, ids["senderId"], ids["batchId"], parsed.unread,
                        parsed.q)
    return where, Page(parsed.page, parsed.limit)


def thread_list(threads: list[Thread], total: int, page: Page) -> Response:
    return json_response(ThreadListOut(
        threads=[thread_out(t) for t in threads],
        pagination=schemas.PaginationOut(page=page.page, limit=page.limit, total=total,
                                         pages=ceil(total / page.limit))))


def thread_detail(thread: Thread, messages: list[ThreadMessage]) -> Response:
    return json_response(ThreadDetailOut(thread=thread_out(thread),
                                         messages=[message_out(m) for m in messages]))


def thread_out(thread: Thread) -> ThreadOut:
    return ThreadOut(id=str(thread.id), batch_id=str(thread.batch_id),
                     recipient_email=thread.recipient_email, sender_id=str(thread.sender_id),
                     subject=thread.subject, last_message_at=iso(thread.last_message_at),
                     snippet=thread.snippet, unread=thread.unread,
                     lead_status=thread.lead_status, message_count=thread.message_count)


def message_out(message: ThreadMessage) -> ThreadMessageOut:
    return ThreadMessageOut.model_validate({
        "id": str(message.id), "direction": message.direction, "kind": message.kind,
        "from": message.from_address, "to": message.to_address, "subject": message.subject,
        "text": message.text, "html": message.html, "messageId": message.message_id,
        "at": iso(message.at) or "", "status": message.status,
        "attachments": [AttachmentOut.model_validate(a) for a in message.attachments]})


def reply_created(message: ThreadMessage) -> Response:
    return json_response(message_out(message), status=201)
