"""Configuration: one validated model read from the environment (or a `.env` file).

Names and defaults follow ../shared/SPEC.md. Values that must be chosen per deployment
(DATABASE_URL, REDIS_URL, SESSION_SECRET) have no default: `emailsched dev` fills them
in for the embedded services before anything reads the settings.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SqsMaxDelaySeconds = 900


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=True)

    DATABASE_URL: str
    REDIS_URL: str
    REDIS_KEY_PREFIX: str = "emailsched:"
    AWS_ENDPOINT_URL: str | None = None
    AWS_REGION: str = "us-east-1"
    SEND_QUEUE_NAME: str = "emailsched-send"

    SMTP_HOST: str = "127.0.0.1"
    SMTP_PORT: int = Field(default=1025, ge=1, le=65535)
    SMTP_USER: str = ""
    SMTP_PASSWORD: str = ""
    SMTP_SECURITY: Literal["none", "starttls", "tls"] | None = None
    SMTP_TIMEOUT_SECONDS: float = Field(default=30.0, gt=0)
    SMTP_TLS_VERIFY: bool = True
    # Connections each sender thread keeps open: it sends this many emails side by side,
    # recording them `sent` with one commit.
    SMTP_CONNECTIONS: int = Field(default=5, ge=1, le=10)
    # Domain of the Message-ID we give every email: <email-id@MESSAGE_ID_DOMAIN>.
    MESSAGE_ID_DOMAIN: str = "emailsched.local"

    RATE_WINDOW_SECONDS: int = Field(default=3600, ge=1)
    DEFAULT_HOURLY_LIMIT: int = Field(default=200, ge=1)
    MAX_HOURLY_LIMIT: int = Field(default=100_000, ge=1)
    MIN_DELAY_BETWEEN_EMAILS_MS: int = Field(default=1000, ge=0)
    MAX_RECIPIENTS_PER_BATCH: int = Field(default=100_000, ge=1)
    MAX_BODY_BYTES: int = Field(default=1_000_000, ge=1)

    PUMP_HORIZON_SECONDS: int = Field(default=900, ge=1, le=SqsMaxDelaySeconds)
    PUMP_MAX_IN_FLIGHT: int = Field(default=20_000, ge=1)
    # An email still `queued` this long after it should have been delivered lost its message.
    PUMP_LOST_AFTER_SECONDS: int = Field(default=120, ge=1)
    # How long a worker may hold an email in `sending` before the pump takes it back.
    SEND_LEASE_SECONDS: int = Field(default=120, ge=1)
    MAX_SEND_ATTEMPTS: int = Field(default=3, ge=1, le=20)
    RETRY_BASE_SECONDS: float = Field(default=2.0, gt=0)
    # A message that arrives at most this early is held in the worker until its due time;
    # an earlier one goes back to the queue.
    EARLY_HOLD_SECONDS: float = Field(default=2.0, ge=0, le=10)
    # A throttled message that has been received this often is handed back to the ledger,
    # so throttling can never push a message into the dead-letter queue.
    THROTTLE_RECEIVES_BEFORE_RELEASE: int = Field(default=5, ge=1)

    AUTH_MODE: Literal["dev", "google"] = "google"
    GOOGLE_CLIENT_ID: str | None = None
    GOOGLE_CERTS_URL: str = "https://www.googleapis.com/oauth2/v1/certs"
    DASHBOARD_ORIGINS: str = ""
    SESSION_SECRET: str | None = None
    SESSION_TTL_SECONDS: int = Field(default=12 * 3600, ge=60)

    # Abuse limits per user on POST /emails/schedule.
    MAX_RECIPIENTS_PER_USER_PER_DAY: int = Field(default=1_000_000, ge=1)
    SCHEDULE_REQUESTS_PER_MINUTE: int = Field(default=30, ge=1)

    # Sender accounts (SPEC.md "Senders"). A relay sender's From domain must be listed here
    # (comma-separated, `*` any, empty none) so the shared relay cannot be used to spoof.
    RELAY_SENDER_DOMAINS: str = ""
    # Credentials at rest: the base64 of 32 bytes locally, or a KMS key id/ARN/alias on AWS
    # (which then wins). See emailsched.adapters.credentials.
    CREDENTIALS_KEY: str | None = None
    CREDENTIALS_KMS_KEY_ID: str | None = None
    SENDER_FAILURES_BEFORE_HOLD: int = Field(default=3, ge=1)
    # A sender's daily cap counts calendar days in its timezone; anything other than 86400
    # makes days this long, aligned to the epoch (for tests).
    DAILY_WINDOW_SECONDS: int = Field(default=86_400, ge=1)
    SENDER_VERIFY_TIMEOUT_SECONDS: float = Field(default=10.0, gt=0)

    LOG_LEVEL: str = "INFO"

    @field_validator("DATABASE_URL")
    @classmethod
    def _postgres_only(cls, value: str) -> str:
        if not value.startswith(("postgresql", "postgres")):
            raise ValueError("must be a PostgreSQL URL, e.g. postgresql+pg8000://user@host/db")
        if value.startswith("postgres://"):
            value = "postgresql+pg8000://" + value.removeprefix("postgres://")
        elif value.startswith("postgresql://"):
            value = "postgresql+pg8000://" + value.removeprefix("postgresql://")
        return value

    @model_validator(mode="after")
    def _auth_is_complete(self) -> Settings:
        if self.SESSION_SECRET is not None and len(self.SESSION_SECRET.encode()) < 32:
            raise ValueError("SESSION_SECRET must be at least 32 bytes")
        return self

    @property
    def smtp_security(self) -> str:
        if self.SMTP_SECURITY:
            return self.SMTP_SECURITY
        return "starttls" if self.SMTP_USER else "none"

    @property
    def dead_letter_queue_name(self) -> str:
        return f"{self.SEND_QUEUE_NAME}-dlq"

    @property
    def dashboard_origins(self) -> list[str]:
        return [o.strip() for o in self.DASHBOARD_ORIGINS.split(",") if o.strip()]

    def require_api_secrets(self) -> None:
        """The API refuses to start in google mode without its secrets."""
        missing = [name for name in ("SESSION_SECRET", "GOOGLE_CLIENT_ID")
                   if not getattr(self, name)]
        if self.AUTH_MODE == "google" and missing:
            raise ValueError(f"AUTH_MODE=google needs {', '.join(missing)}")
        if not self.SESSION_SECRET:
            raise ValueError("SESSION_SECRET is required")
