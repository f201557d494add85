"""Request and response models of the HTTP API (camelCase on the wire, as SPEC.md says).

Requests are validated strictly: numbers must be numbers, strings strings, unknown fields
are refused, and no header-bound text may carry CR, LF or NUL.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from emailsched.domain.model import MAX_HOURLY_LIMIT
from emailsched.domain.recipients import normalise_address

MAX_SUBJECT = 998  # RFC 5322 line limit
MAX_NAME = 200
MAX_DELAY_MS = 24 * 3600 * 1000
MAX_DAILY_LIMIT = 2_147_483_647  # daily limits are Postgres integers
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


Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
HourMinute = Annotated[StrictStr, WithJsonSchema(
    {"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$", "example": "09:00"})]


class SendingWindowIn(Model):
    """SPEC.md "Sending windows and jitter": local hours [start, end) on the listed days.

    The shape is checked here; the zone, the day names and start before end are checked by
    domain.sending_window.SendingWindow.from_api (400 naming `sendingWindow.<field>`).
    """

    timezone: StrictStr = Field(max_length=64, description="IANA time zone, e.g. Europe/Berlin")
    days: list[StrictStr] = Field(max_length=7, json_schema_extra={
        "items": {"type": "string", "enum": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]}})
    start: HourMinute
    end: HourMinute


class SendingWindowOut(Model):
    timezone: str
    days: list[Weekday]
    start: str
    end: str


MAX_STEPS = 10


class StepIn(Model):
    """A follow-up: sent `waitSeconds` after the previous step, unless the recipient
    replied, unsubscribed or bounced. No subject: `Re: <first subject>`."""

    subject: StrictStr | None = Field(default=None, max_length=MAX_SUBJECT)
    body: StrictStr = Field(min_length=1)
    wait_seconds: StrictInt = Field(ge=1, le=366 * 86_400)

    @field_validator("subject")
    @classmethod
    def _subject(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        return _single_line(value)

    @field_validator("body")
    @classmethod
    def _body(cls, value: str) -> str:
        if "\0" in value or not value.strip():
            raise ValueError("must not be blank or contain NUL characters")
        return value


class RecipientIn(Model):
    """A recipient with merge fields; names and values are checked by the domain
    (emailsched.domain.recipient_fields)."""

    email: EmailText
    fields: dict[str, StrictStr | StrictInt | StrictFloat] = Field(default_factory=dict)

    def entry(self) -> dict[str, object]:
        return {"email": self.email, "fields": self.fields}


class TrackingIn(Model):
    """Open and click tracking (both off by default: plain cold email lands better)."""

    opens: StrictBool = False
    clicks: StrictBool = False


class ScheduleIn(Model):
    subject: StrictStr = Field(min_length=1, max_length=MAX_SUBJECT,
                               description="A template: {{ first_name | default('there') }}")
    body: StrictStr = Field(min_length=1, description="An HTML template, fields escaped")
    recipients: list[EmailText | RecipientIn] | None = Field(default=None, min_length=1)
    recipients_import_id: StrictStr | None = Field(
        default=None, description="Big lists: an import (POST /imports) whose CSV was "
        "uploaded; instead of recipients. Answers 202 {batchId, status: importing}")
    skip_invalid: StrictBool = Field(
        default=False, description="With recipientsImportId: skip invalid rows and report "
        "them by line (GET /imports/{id} errors) instead of failing the import")
    start_time: StrictStr = Field(description="ISO 8601 with an offset: 2026-12-01T09:00:00Z",
                                  json_schema_extra={"format": "date-time"})
    delay_ms: StrictInt = Field(ge=0, le=MAX_DELAY_MS)
    hourly_limit: StrictInt | None = Field(default=None, ge=1, le=MAX_HOURLY_LIMIT)
    sender: SenderIn | None = Field(default=None, description="The old path: names the "
                                    "user's sender with this address")
    sender_ids: list[StrictStr] | None = Field(default=None, min_length=1, max_length=50,
                                               description="Several rotate")
    sending_window: SendingWindowIn | None = Field(
        default=None, description="Plan every email inside these local hours and days")
    random_delay_ms: StrictInt = Field(
        default=0, ge=0, le=MAX_DELAY_MS,
        description="Each gap is delayMs plus a random 0..N ms, drawn once when planned")
    steps: list[StepIn] = Field(default_factory=list, max_length=MAX_STEPS,
                                description="Follow-ups after the first email (Sequences)")
    tracking: TrackingIn | None = Field(
        default=None, description="Open pixel and click redirects (Engagement)")

    @model_validator(mode="after")
    def _one_way_to_give_recipients(self) -> ScheduleIn:
        if (self.recipients is None) == (self.recipients_import_id is None):
            raise ValueError("give either recipients or recipientsImportId")
        if self.skip_invalid and self.recipients_import_id is None:
            raise ValueError("skipInvalid applies to recipientsImportId; invalid "
                             "recipients given as JSON are each named in the 400")
        return self

    @model_validator(mode="after")
    def _one_way_to_name_senders(self) -> ScheduleIn:
        if (self.sender is None) == (self.sender_ids is None):
            raise ValueError("give either senderIds or sender")
        return self

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

    @field_validator("email")
    @classmethod
    def _address(cls, value: str) -> str:  # the user's id: an address, not any string
        normalise_address(value)  # ValueError saying why it is not one
        return value

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:  # stored (no NUL in Postgres), a header
        return None if value is None else _single_line(value)


class GoogleLoginIn(Model):
    credential: StrictStr = Field(min_length=1, max_length=8192)


class UserOut(Model):
    id: str
    email: str
    name: str
    avatar: str | None
    postal_address: str | None = None  # shown in the unsubscribe footer


class SessionOut(Model):
    token: str
    user: UserOut


class MeOut(Model):
    user: UserOut


class CaptureSmtpOut(Model):
    host: str
    port: int


class AuthConfigOut(Model):
    auth_mode: Literal["dev", "google"]
    google_client_id: str | None
    # What the dashboard needs to estimate a batch's finish exactly as the server plans it.
    rate_window_seconds: int
    min_delay_between_emails_ms: int
    default_hourly_limit: int
    # The providers mailboxes can be connected with by OAuth here (issue 25).
    oauth_providers: list[Literal["google", "microsoft"]] = Field(default_factory=list)
    test_smtp: CaptureSmtpOut | None = Field(
        default=None, description="emailsched dev: the capture inbox, an SMTP server that "
        "wants no login, offered as a one-click test sender (security none)")


class SenderShareOut(Model):
    id: str
    email: str
    email_count: int
    estimated_end_time: str


class ScheduleOut(Model):
    success: bool
    batch_id: str
    email_count: int
    duplicates_removed: int
    start_time: str
    estimated_end_time: str
    senders: list[SenderShareOut]
    suppressed_removed: int = 0  # recipients on the suppression list, not scheduled
    # Recipients refused by the checks, by reason: no mail server, disposable domain.
    invalid_removed: dict[str, int] = Field(
        default_factory=lambda: {"no_mx": 0, "disposable": 0})


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
    step: int = Field(default=1, description="1 for the first email, k for follow-up k")


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
    suppressed: int = 0  # recipient suppressed after scheduling: not sent
    held: int = Field(default=0, description="Waiting for a failing sender to be active "
                                             "again (SPEC.md Senders): not failed, no "
                                             "attempt used")


class StatsOut(StatusCounts):
    sent_last_hour: int
    per_hour: list[HourOut]


class CountsOut(StatusCounts):
    pending: int
    replied: int = Field(default=0, description="Follow-ups not sent: the recipient replied")
    bounced: int = Field(default=0, description="Hard bounces (5.1.x): failed, suppressed")
    complained: int = Field(default=0, description="Spam complaints (ARF, JMRP): suppressed")
    unsubscribed: int = Field(default=0, description="Recipients who unsubscribed")


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
    sending_window: SendingWindowOut | None = None
    random_delay_ms: int = 0
    suppressed_removed: int = 0  # recipients dropped when scheduled: on the suppression list
    # Why a paused batch paused itself: its hard bounces ("bounce_rate") or its sender's
    # spam complaints ("complaint_rate"); null when the user paused it.
    paused_reason: Literal["bounce_rate", "complaint_rate"] | None = None
    # Every sender the batch goes through, in rotation order (one: `sender` alone).
    senders: list[SenderOut]


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


# --- operations (GET /health) -------------------------------------------------------------
class HealthCheckOut(Model):
    ok: bool
    ms: float


class HealthChecksOut(Model):
    database: HealthCheckOut
    redis: HealthCheckOut
    queue: HealthCheckOut


class HealthOut(Model):
    status: Literal["ok", "degraded"]
    checks: HealthChecksOut


# --- senders (SPEC.md "Senders") -----------------------------------------------------------
Security = Literal["none", "starttls", "tls"]


class MailAccountIn(Model):
    host: StrictStr = Field(min_length=1, max_length=253)
    port: StrictInt = Field(ge=1, le=65535)
    security: Security
    username: StrictStr = Field(default="", max_length=320)
    password: StrictStr = Field(default="", max_length=1024)

    _lines = field_validator("host", "username", "password")(_single_line)


DKIM_SELECTOR_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"  # DNS labels


class SenderCreateIn(Model):
    email: StrictStr = Field(min_length=3, max_length=254)
    name: StrictStr = Field(default="", max_length=MAX_NAME)
    smtp: MailAccountIn | None = None
    imap: MailAccountIn | None = None
    hourly_limit: StrictInt | None = Field(default=None, ge=1, le=MAX_HOURLY_LIMIT)
    daily_limit: StrictInt | None = Field(default=None, ge=1, le=MAX_DAILY_LIMIT)
    min_delay_ms: StrictInt | None = Field(default=None, ge=0, le=MAX_DELAY_MS)
    timezone: StrictStr = Field(default="UTC", max_length=64)
    # The DKIM selector the sender's domain publishes its key under (issue 29): tried
    # first by GET /senders/{id}/dns, before the common ones.
    dkim_selector: StrictStr | None = Field(default=None, max_length=63,
                                            pattern=DKIM_SELECTOR_PATTERN)

    _lines = field_validator("email", "name")(_single_line)


class SenderPatchIn(Model):
    """Any field of SenderCreateIn; a field given as null clears it."""

    email: StrictStr | None = Field(default=None, min_length=3, max_length=254)
    name: StrictStr | None = Field(default=None, max_length=MAX_NAME)
    smtp: MailAccountIn | None = None
    imap: MailAccountIn | None = None
    hourly_limit: StrictInt | None = Field(default=None, ge=1, le=MAX_HOURLY_LIMIT)
    daily_limit: StrictInt | None = Field(default=None, ge=1, le=MAX_DAILY_LIMIT)
    min_delay_ms: StrictInt | None = Field(default=None, ge=0, le=MAX_DELAY_MS)
    timezone: StrictStr | None = Field(default=None, max_length=64)
    # The DKIM selector the sender's domain publishes its key under (issue 29): tried
    # first by GET /senders/{id}/dns, before the common ones.
    dkim_selector: StrictStr | None = Field(default=None, max_length=63,
                                            pattern=DKIM_SELECTOR_PATTERN)

    _lines = field_validator("email", "name")(_single_line)


class MailServerOut(Model):
    host: str
    port: int
    security: Security
    username: str


class OAuthConnectionOut(Model):
    """How a google or microsoft sender is connected: never a token."""

    provider: Literal["google", "microsoft"]
    scopes: list[str]
    connected_at: str


class OAuthStartIn(Model):
    """POST /senders/oauth/{provider}/start: the sender's settings once connected."""

    name: StrictStr | None = Field(default=None, max_length=MAX_NAME)
    hourly_limit: StrictInt | None = Field(default=None, ge=1, le=MAX_HOURLY_LIMIT)
    daily_limit: StrictInt | None = Field(default=None, ge=1, le=MAX_DAILY_LIMIT,
                                          description="default: the provider's own cap")
    min_delay_ms: StrictInt | None = Field(default=None, ge=0, le=MAX_DELAY_MS)
    timezone: StrictStr | None = Field(default=None, max_length=64)

    _lines = field_validator("name")(_single_line)


class OAuthStartOut(Model):
    authorization_url: str


class SenderAccountOut(Model):
    """A sender as routes show it: never a password."""

    id: str
    email: str
    name: str
    kind: Literal["smtp", "relay", "google", "microsoft"]
    smtp: MailServerOut | None
    imap: MailServerOut | None
    hourly_limit: int | None
    daily_limit: int | None
    min_delay_ms: int | None
    timezone: str
    status: Literal["active", "failing"]
    last_error: str | None
    sent_today: int
    created_at: str
    oauth: OAuthConnectionOut | None = None
    dkim_selector: str | None = None


class SenderAccountListOut(Model):
    senders: list[SenderAccountOut]


# --- deliverability (SPEC.md "Unsubscribe and suppression") ------------------------------
SuppressionReason = Literal["unsubscribed", "hard_bounce", "complaint", "manual"]


class SuppressionOut(Model):
    email: str
    reason: SuppressionReason
    created_at: str


class SuppressionListOut(Model):
    suppressions: list[SuppressionOut]
    pagination: PaginationOut


class SuppressionsIn(Model):
    emails: list[EmailText] = Field(min_length=1, max_length=10_000)


class SuppressionsAddedOut(Model):
    added: int  # newly listed; addresses already listed keep their reason


class MePatchIn(Model):
    postal_address: StrictStr | None = Field(default=None, max_length=500)


# --- Big lists (issue 17, SPEC.md) -----------------------------------------------------------
class ImportIn(Model):
    size: StrictInt | None = Field(default=None, ge=0, description="The file's size in bytes")


class ImportCreatedOut(Model):
    import_id: str
    upload_url: str = Field(description="PUT the CSV here with uploadHeaders")
    upload_headers: dict[str, str] = Field(
        description='Headers the PUT must carry (signed into uploadUrl): '
                    '{"Content-Type": "text/csv"}')


class ImportErrorOut(Model):
    line: int = Field(description="The file's line (1 is the header); 0 for the whole file")
    message: str


class ImportOut(Model):
    import_id: str
    status: Literal["uploading", "importing", "done", "failed"]
    rows: int = Field(description="valid + invalid + duplicates + suppressed")
    valid: int
    invalid: int
    duplicates: int
    suppressed: int
    batch_id: str | None = None
    errors: list[ImportErrorOut] = Field(description="The first 100, by line")


class ImportScheduledOut(Model):
    batch_id: str
    status: Literal["importing"] = "importing"
    import_id: str


# --- every email of a batch, with its events (issue 23) ----------------------------------
class EmailEventOut(Model):
    type: str = Field(description="scheduled, queued, sending, sent, retry, deferred, "
                                  "failed, held, released, paused, resumed, cancelled, "
                                  "suppressed, replied, bounced, unsubscribed, reply_received")
    at: str
    by: str = Field(description="api, user, pump, worker or poller")
    detail: dict[str, Any] | None = None


class EmailItemOut(Model):
    id: str
    batch_id: str
    recipient_email: str
    subject: str
    status: str
    step: int
    scheduled_time: str
    sent_time: str | None = Field(default=None, description="when it was sent; never moves")
    finished_time: str | None = Field(default=None, description="when its outcome was known")
    created_at: str
    attempts: int
    failure_reason: str | None = None
    lead_status: str
    sender: SenderOut


class EmailItemListOut(Model):
    emails: list[EmailItemOut]
    pagination: PaginationOut


class EmailDetailOut(EmailItemOut):
    events: list[EmailEventOut] = Field(description="oldest first")


class SpfOut(Model):
    record: str | None
    ok: bool
    detail: str


class DkimOut(Model):
    selectors: list[str] = Field(description="the selectors a DKIM key was found under")
    ok: bool


class DmarcAlignmentOut(Model):
    dkim: str  # adkim: r (relaxed, the default) or s (strict)
    spf: str  # aspf


class DmarcOut(Model):
    record: str | None
    policy: str | None  # none, quarantine, reject
    ok: bool
    alignment: DmarcAlignmentOut


class MxOut(Model):
    hosts: list[str]
    ok: bool


class SenderDnsOut(Model):
    """GET /senders/{id}/dns: the sender domain's health (issue 29)."""

    domain: str
    checked_at: str
    verdict: Literal["ok", "warn", "fail"]
    spf: SpfOut
    dkim: DkimOut
    dmarc: DmarcOut
    mx: MxOut
    advice: list[str]
