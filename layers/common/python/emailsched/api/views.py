"""From service results to HTTP responses, and from query strings to arguments."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from math import ceil
from typing import TYPE_CHECKING, Any

from chalice import Response
from pydantic import BaseModel, Field

from emailsched.api import schemas
from emailsched.api.http import iso, json_response, parse_uuid, validate
from emailsched.domain.batch_tracking import Tracking
from emailsched.domain.model import BatchStatus, derived_batch_status
from emailsched.domain.recipients import normalise_address
from emailsched.domain.records import BatchRow, EmailRow, User
from emailsched.domain.sending_window import SendingWindow
from emailsched.errors import InvalidRequest, PayloadTooLarge
from emailsched.services.queries import BatchView, Page, Stats
from emailsched.services.scheduling import ScheduledBatch, ScheduleRequest

# Types only: a cold start loads neither the JWT library nor pydantic-settings.
if TYPE_CHECKING:
    from emailsched.ports import ImportRecord
    from emailsched.services.auth import Session
    from emailsched.settings import Settings


class ListQuery(BaseModel):
    page: schemas.PageNumber = 1
    limit: schemas.PageLimit = 20
    batch_id: str | None = Field(default=None, alias="batchId")


def list_params(query: Mapping[str, str] | None) -> tuple[Page, uuid.UUID | None]:
    parsed = validate(ListQuery, dict(query or {}))
    batch_id = None
    if parsed.batch_id:
        batch_id = parse_uuid(parsed.batch_id, field="batchId", missing=InvalidRequest)
    return Page(parsed.page, parsed.limit), batch_id


def schedule_request(body: schemas.ScheduleIn, settings: Settings) -> ScheduleRequest:
    recipients = body.recipients or []  # none: recipientsImportId (Big lists)
    if len(recipients) > settings.MAX_RECIPIENTS_PER_BATCH:
        raise PayloadTooLarge(f"at most {settings.MAX_RECIPIENTS_PER_BATCH} recipients per "
                              f"batch; got {len(recipients)}",
                              details=[{"field": "recipients", "message": "too many"}])
    if len(body.body.encode()) > settings.MAX_BODY_BYTES:
        raise PayloadTooLarge(f"body is over {settings.MAX_BODY_BYTES} bytes",
                              details=[{"field": "body", "message": "too large"}])
    limit = body.hourly_limit or settings.DEFAULT_HOURLY_LIMIT
    sender_email, sender_name = "", ""
    if body.sender is not None:
        try:
            sender_email = normalise_address(body.sender.email)
        except ValueError as error:
            raise InvalidRequest("sender.email is not a valid address", details=[
                {"field": "sender.email", "message": str(error)}]) from None
        sender_name = body.sender.name.strip()
    sender_ids = tuple(dict.fromkeys(parse_uuid(i, field="sender")
                                     for i in body.sender_ids or []))
    window = sending_window(body)  # a bad window is a 400 before anything is stored
    return ScheduleRequest(
        subject=body.subject, body=body.body,
        recipients=[r if isinstance(r, str) else r.entry() for r in recipients],
        start_time=schemas.parse_start_time(body.start_time), delay_ms=body.delay_ms,
        hourly_limit=limit, sender_email=sender_email, sender_name=sender_name,
        sender_ids=sender_ids,
        steps=tuple({"subject": step.subject, "body": step.body,
                     "waitSeconds": step.wait_seconds} for step in body.steps),
        sending_window=window, random_delay_ms=body.random_delay_ms,
        skip_invalid=body.skip_invalid,
        tracking=Tracking(**body.tracking.model_dump()) if body.tracking else Tracking())


def sending_window(body: schemas.ScheduleIn) -> SendingWindow | None:
    """The batch's window, its zone, days and hours checked (400 naming the field)."""
    if body.sending_window is None:
        return None
    return SendingWindow.from_api(body.sending_window.model_dump())


def auth_config(settings: Settings) -> Response:
    return json_response(schemas.AuthConfigOut(
        auth_mode=settings.AUTH_MODE, google_client_id=settings.GOOGLE_CLIENT_ID,
        rate_window_seconds=settings.RATE_WINDOW_SECONDS,
        min_delay_between_emails_ms=settings.MIN_DELAY_BETWEEN_EMAILS_MS,
        default_hourly_limit=settings.DEFAULT_HOURLY_LIMIT,
        oauth_providers=settings.oauth_providers,
        test_smtp=_test_smtp(settings)))


def _test_smtp(settings: Settings) -> schemas.CaptureSmtpOut | None:
    # In dev the relay server is the capture inbox, which takes mail without a login.
    if settings.AUTH_MODE != "dev" or settings.SMTP_USER:
        return None
    return schemas.CaptureSmtpOut(host=settings.SMTP_HOST, port=settings.SMTP_PORT)


def _user(user: User) -> schemas.UserOut:
    return schemas.UserOut(id=str(user.id), email=user.email, name=user.name,
                           avatar=user.avatar, postal_address=user.postal_address)


def session(found: Session) -> Response:
    return json_response(schemas.SessionOut(token=found.token, user=_user(found.user)))


def me(user: User) -> Response:
    return json_response(schemas.MeOut(user=_user(user)))


def scheduled(batch: ScheduledBatch) -> Response:
    return json_response(schemas.ScheduleOut(
        success=True, batch_id=str(batch.batch_id), email_count=batch.email_count,
        duplicates_removed=batch.duplicates_removed, start_time=iso(batch.start_time) or "",
        estimated_end_time=iso(batch.estimated_end_time) or "",
        senders=[schemas.SenderShareOut(id=str(share.id), email=share.email,
                                        email_count=share.email_count,
                                        estimated_end_time=iso(share.estimated_end_time) or "")
                 for share in batch.senders],
        suppressed_removed=batch.suppressed_removed,
        invalid_removed=dict(batch.invalid_removed or {"no_mx": 0, "disposable": 0})),
        status=201)


def _pagination(total: int, page: Page) -> schemas.PaginationOut:
    return schemas.PaginationOut(page=page.page, limit=page.limit, total=total,
                                 pages=ceil(total / page.limit))


def _email(row: EmailRow) -> schemas.EmailOut:
    return schemas.EmailOut(
        id=str(row.id), batch_id=str(row.batch_id), recipient_email=row.recipient_email,
        subject=row.subject, scheduled_time=iso(row.due_at) or "", status=row.status,
        sender=schemas.SenderOut(name=row.sender_name, email=row.sender_email),
        sent_time=iso(row.finished_at), attempts=row.attempts,
        failure_reason=row.failure_reason, step=row.step)


def email_list(rows: list[EmailRow], total: int, page: Page) -> Response:
    return json_response(schemas.EmailListOut(emails=[_email(r) for r in rows],
                                              pagination=_pagination(total, page)))


def stats(found: Stats) -> Response:
    c = found.counts
    return json_response(schemas.StatsOut(
        total=c["total"], scheduled=c["scheduled"], queued=c["queued"], sending=c["sending"],
        sent=c["sent"], failed=c["failed"], paused=c["paused"], cancelled=c["cancelled"],
        suppressed=c.get("suppressed", 0), held=c.get("held", 0),
        sent_last_hour=found.sent_last_hour,
        per_hour=[schemas.HourOut(hour=h, sent=s, failed=f) for h, s, f in found.per_hour]))


def _batch(view: BatchView) -> schemas.BatchOut:
    row = view.row
    counts = {k: view.counts.get(k, 0) for k in ("scheduled", "queued", "sending", "sent",
                                                 "failed", "paused", "cancelled",
                                                 "suppressed", "held")}
    return schemas.BatchOut(
        id=str(row.id), subject=row.subject,
        sender=schemas.SenderOut(name=row.sender_name, email=row.sender_email),
        start_time=iso(row.start_time) or "", delay_ms=row.delay_ms,
        hourly_limit=row.hourly_limit,
        status=derived_batch_status(BatchStatus(row.status), view.pending).value,
        counts=schemas.CountsOut(total=sum(counts.values()), pending=view.pending,
                                 replied=view.counts.get("replied", 0),
                                 bounced=view.counts.get("bounced", 0),
                                 complained=view.counts.get("complained", 0),
                                 unsubscribed=view.counts.get("unsubscribed", 0), **counts),
        duplicates_removed=row.duplicates_removed,
        estimated_end_time=iso(row.estimated_end_time) or "", created_at=iso(row.created_at) or "",
        sending_window=(None if row.sending_window is None
                        else schemas.SendingWindowOut.model_validate(row.sending_window)),
        random_delay_ms=row.random_delay_ms, suppressed_removed=row.suppressed_removed,
        paused_reason=row.paused_reason if row.status == BatchStatus.PAUSED else None,
        senders=_rotation(row))


def _rotation(row: BatchRow) -> list[schemas.SenderOut]:
    if not row.rotation:
        return [schemas.SenderOut(name=row.sender_name, email=row.sender_email)]
    return [schemas.SenderOut(name=s["name"], email=s["email"]) for s in row.rotation]


def batch(view: BatchView) -> Response:
    return json_response(_batch(view))


def batch_list(found: list[BatchView], total: int, page: Page) -> Response:
    return json_response(schemas.BatchListOut(batches=[_batch(v) for v in found],
                                              pagination=_pagination(total, page)))


_CHALICE_CODES = {400: "invalid_request", 403: "forbidden", 404: "not_found",
                  405: "method_not_allowed", 415: "unsupported_media_type",
                  500: "internal_error"}


def spec_shaped(response: Response) -> Response:
    """Chalice answers some errors itself (405, 415, 500) as {"Code", "Message"}: reshape
    them into SPEC.md's error body."""
    body: Any = response.body
    if isinstance(body, dict) and set(body) == {"Code", "Message"}:
        code = _CHALICE_CODES.get(response.status_code, "error")
        message = "an internal error occurred" if response.status_code >= 500 else body["Message"]
        response.body = json.dumps({"error": {"code": code, "message": message, "details": []}})
        response.headers["Content-Type"] = "application/json"
    return response


# --- Big lists (issue 17) ---------------------------------------------------------------------
def import_created(import_id: uuid.UUID, upload_url: str,
                   upload_headers: Mapping[str, str]) -> Response:
    return json_response(schemas.ImportCreatedOut(
        import_id=str(import_id), upload_url=upload_url,
        upload_headers=dict(upload_headers)), status=201)


def import_scheduled(batch_id: uuid.UUID, import_id: uuid.UUID) -> Response:
    return json_response(schemas.ImportScheduledOut(batch_id=str(batch_id),
                                                    import_id=str(import_id)), status=202)


def import_status(record: ImportRecord) -> Response:
    c = record.counts
    return json_response(schemas.ImportOut(
        import_id=str(record.id), status=record.status,
        rows=c.rows, valid=c.valid, invalid=c.invalid, duplicates=c.duplicates,
        suppressed=c.suppressed,
        batch_id=str(record.batch_id) if record.batch_id and record.status != "failed"
        else None,
        errors=[schemas.ImportErrorOut(line=int(e["line"]), message=str(e["message"]))
                for e in record.errors]))
