"""GET /emails and GET /emails/{id}: parsing their query, shaping their answers."""

from __future__ import annotations

from math import ceil
from typing import Any

from chalice import Response
from pydantic import BaseModel, Field

from emailsched.api import schemas
from emailsched.api.http import iso, json_response, parse_uuid, validate
from emailsched.domain.email_history import EmailFilter, EmailRecord
from emailsched.domain.events import EmailEvent
from emailsched.domain.model import EmailStatus
from emailsched.domain.recipients import normalise_address
from emailsched.errors import InvalidRequest
from emailsched.services.queries import Page


class EmailsQuery(BaseModel):
    page: schemas.PageNumber = 1
    limit: schemas.PageLimit = 20
    batch_id: str | None = Field(default=None, alias="batchId")
    status: list[EmailStatus] = Field(default_factory=list)
    recipient: str | None = None


def emails_query(query: Any) -> tuple[EmailFilter, Page]:
    """`status` may repeat (`?status=sent&status=failed`) or list several, comma-separated."""
    values: dict[str, Any] = dict(query or {})
    if "status" in values:
        given = query.getlist("status") if hasattr(query, "getlist") else [values["status"]]
        values["status"] = [part for one in given for part in str(one).split(",") if part]
    parsed = validate(EmailsQuery, values)
    batch_id = None if not parsed.batch_id else parse_uuid(
        parsed.batch_id, field="batchId", missing=InvalidRequest)
    recipient = None
    if parsed.recipient:
        try:
            recipient = normalise_address(parsed.recipient)
        except ValueError as error:
            raise InvalidRequest("recipient is not an email address", details=[
                {"field": "recipient", "message": str(error)}]) from None
    where = EmailFilter(batch_id, tuple(dict.fromkeys(parsed.status)), recipient)
    return where, Page(parsed.page, parsed.limit)


def email_list(rows: list[EmailRecord], total: int, page: Page) -> Response:
    return json_response(schemas.EmailItemListOut(
        emails=[schemas.EmailItemOut(**_fields(row)) for row in rows],
        pagination=schemas.PaginationOut(page=page.page, limit=page.limit, total=total,
                                         pages=ceil(total / page.limit))))


def email_detail(record: EmailRecord) -> Response:
    return json_response(schemas.EmailDetailOut(
        **_fields(record), events=[_event(event) for event in record.events]))


def _fields(row: EmailRecord) -> dict[str, Any]:
    return dict(
        id=str(row.id), batch_id=str(row.batch_id), recipient_email=row.recipient_email,
        subject=row.subject, status=row.status, step=row.step,
        scheduled_time=iso(row.due_at) or "", sent_time=iso(row.sent_at),
        finished_time=iso(row.finished_at), created_at=iso(row.created_at) or "",
        attempts=row.attempts, failure_reason=row.failure_reason,
        lead_status=row.lead_status,
        sender=schemas.SenderOut(name=row.sender_name, email=row.sender_email))


def _event(event: EmailEvent) -> schemas.EmailEventOut:
    return schemas.EmailEventOut(type=event.type.value, at=iso(event.at) or "",
                                 by=event.by.value, detail=event.detail)
