"""Request and response models of the HTTP API (camelCase on the wire, as SPEC.md says).

Requests are validated strictly: numbers must be numbers, strings strings, unknown fields
are refused, and no header-bound text may carry CR, LF or NUL.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    WithJsonSchema,
    field_validator,
)
from pydantic.alias_generators import to_camel

MAX_SUBJECT = 998  # RFC 5322 line limit
MAX_NAME = 200
MAX_DELAY_MS = 24 * 3600 * 1000
_FORBIDDEN_IN_HEADERS = ("\r", "\n", "\0")


# Validated by the domain (emailsched.domain.recipients); the format only documents it.
EmailText = Annotated[StrictStr, WithJsonSchema({"type": "string", "format": "email"})]


class Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


def _single_line(value: str) -> str:
    if any(c in value for c in _FORBIDDEN_IN_HEADERS):
        raise ValueError("must not contain line breaks or NUL characters")
    return value


class SenderIn(Model):
    email: StrictStr = Field(min_length=3, max_length=254)
    name: StrictStr = Field(default="", max_length=MAX_NAME)

    _lines = field_validator("email", "name")(_single_line)


class ScheduleIn(Model):
    subject: StrictStr = Field(min_length=1, max_length=MAX_SUBJECT)
    body: StrictStr = Field(min_length=1)
    recipients: list[EmailText] = Field(min_length=1)
    start_time: StrictStr = Field(description="ISO 8601 with an offset: 2026-12-01T09:00:00Z",
                                  json_schema_extra={"format": "date-time"})
    delay_ms: StrictInt = Field(ge=0, le=MAX_DELAY_MS)
    hourly_limit: StrictInt | None = Field(default=None, ge=1)
    sender: SenderIn

    @field_validator("subject")
    @classmethod
    def _subject(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return _single_line(value)

    @field_validator("body")
    @classmethod
    def _body(cls, value: str) -> str:
        if "\0" in value:
            raise ValueError("must not contain NUL characters")
        if not value.strip():
            raise ValueError("must not be blank")
        return value

    @field_validator("start_time")
    @classmethod
    def _start(cls, value: str) -> str:
        parse_start_time(value)
        return value


def parse_start_time(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError("must be an ISO 8601 date-time, e.g. 2026-12-01T09:00:00Z") from None
    if parsed.tzinfo is None:
        raise ValueError("must include a UTC offset, e.g. Z or +01:00")
    return parsed


class DevLoginIn(Model):
    email: StrictStr = Field(min_length=3, max_length=254)
    name: StrictStr | None = Field(default=None, max_length=MAX_NAME)

    _lines = field_validator("email")(_single_line)


class GoogleLoginIn(Model):
    credential: StrictStr = Field(min_length=1, max_length=8192)


class UserOut(Model):
    id: str
    email: str
    name: str
    avatar: str | None


class SessionOut(Model):
    token: str
    user: UserOut


class MeOut(Model):
    user: UserOut


class AuthConfigOut(Model):
    auth_mode: Literal["dev", "google"]
    google_client_id: str | None
    # What the dashboard needs to estimate a batch's finish exactly as the server plans it.
    rate_window_seconds: int
    min_delay_between_emails_ms: int
    default_hourly_limit: int


class ScheduleOut(Model):
    success: bool
    batch_id: str
    email_count: int
    duplicates_removed: int
    start_time: str
    estimated_end_time: str


class SenderOut(Model):
    name: str
    email: str


class EmailOut(Model):
    id: str
    batch_id: str
    recipient_email: str
    subject: str
    scheduled_time: str
    status: str
    sender: SenderOut
    sent_time: str | None = None
    attempts: int
    failure_reason: str | None = None


class PaginationOut(Model):
    page: int
    limit: int
    total: int
    pages: int


class EmailListOut(Model):
    emails: list[EmailOut]
    pagination: PaginationOut


class HourOut(Model):
    hour: str
    sent: int
    failed: int


class StatusCounts(Model):
    total: int
    scheduled: int
    queued: int
    sending: int
    sent: int
    failed: int
    paused: int
    cancelled: int


class StatsOut(StatusCounts):
    sent_last_hour: int
    per_hour: list[HourOut]


class CountsOut(StatusCounts):
    pending: int


class BatchOut(Model):
    id: str
    subject: str
    sender: SenderOut
    start_time: str
    delay_ms: int
    hourly_limit: int
    status: str
    counts: CountsOut
    duplicates_removed: int
    estimated_end_time: str
    created_at: str


class BatchListOut(Model):
    batches: list[BatchOut]
    pagination: PaginationOut


class ErrorDetail(Model):
    model_config = ConfigDict(extra="allow")
    field: str | None = None
    message: str


class ErrorBody(Model):
    code: str
    message: str
    details: list[ErrorDetail] = []


class ErrorOut(Model):
    error: ErrorBody


PageNumber = Annotated[int, Field(ge=1, le=1_000_000)]
PageLimit = Annotated[int, Field(ge=1, le=100)]
