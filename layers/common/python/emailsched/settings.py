"""Configuration: one validated model read from the environment (or a `.env` file).

Names and defaults follow ../shared/SPEC.md. Values that must be chosen per deployment
(DATABASE_URL, REDIS_URL, SESSION_SECRET) have no default: `emailsched dev` fills them
in for the embedded services before anything reads the settings.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from emailsched.adapters.secrets import SecretsManagerSource
from emailsched.domain.model import MAX_HOURLY_LIMIT

SqsMaxDelaySeconds = 900


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=True)

    DATABASE_URL: str
    REDIS_URL: str
    REDIS_KEY_PREFIX: str = "emailsched:"
    AWS_ENDPOINT_URL: str | None = None
    AWS_REGION: str = "us-east-1"
    SEND_QUEUE_NAME: str = "emailsched-send"
    # Big lists (issue 17, SPEC.md): the bucket CSVs are uploaded to (default
    # emailsched-imports-<region>), the queue that starts and continues import jobs, and
    # the limits of one import. IMPORT_ROWS_PER_INVOCATION > 0 reads every list the
    # staged way, capping the rows one invocation reads before it goes on from a
    # checkpoint in a next one (tests); 0 writes it the direct way in one invocation, staged
    # only after that failed twice (on Lambda the time left ends an attempt).
    IMPORT_BUCKET: str | None = None
    IMPORT_QUEUE_NAME: str = "emailsched-imports"
    MAX_IMPORT_ROWS: int = Field(default=1_000_000, ge=1)
    MAX_IMPORT_BYTES: int = Field(default=256 * 1024 * 1024, ge=1)
    IMPORT_UPLOAD_URL_SECONDS: int = Field(default=3600, ge=60, le=7 * 24 * 3600)
    IMPORT_ROWS_PER_INVOCATION: int = Field(default=0, ge=0)
    IMPORT_CHUNK_ROWS: int = Field(default=20_000, ge=1)  # rows per COPY and checkpoint

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
    # Domain of the Message-ID we give every email, <email-id@domain>: the sender's own
    # domain unless this overrides it (written as A-labels either way).
    MESSAGE_ID_DOMAIN: str | None = None

    RATE_WINDOW_SECONDS: int = Field(default=3600, ge=1)
    DEFAULT_HOURLY_LIMIT: int = Field(default=200, ge=1, le=MAX_HOURLY_LIMIT)
    MIN_DELAY_BETWEEN_EMAILS_MS: int = Field(default=1000, ge=0)
    MAX_RECIPIENTS_PER_BATCH: int = Field(default=100_000, ge=1)
    MAX_BODY_BYTES: int = Field(default=1_000_000, ge=1)

    # Sequences (issue 16): how often the reply poller reads the senders' mailboxes (the
    # scheduled function runs every minute on AWS; `emailsched replies` every this often),
    # and, in `emailsched dev`, the folder of per-sender Maildirs the capture inbox's
    # "Reply" and "Bounce" write into (empty: no Maildirs are read).
    REPLY_POLL_SECONDS: float = Field(default=60.0, gt=0)
    DEV_REPLY_MAILDIR: str = ""
    IMAP_TLS_VERIFY: bool = True
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
    # On AWS the API may not decrypt stored passwords: it asks this function (the
    # `verifier`, which may) to check a stored account. Unset: checked in-process.
    VERIFIER_FUNCTION_NAME: str | None = None

    # Mailboxes connected by OAuth (SPEC.md "Mailboxes connected by OAuth"): a provider
    # without a client id is not offered. OAUTH_PROVIDER_ENDPOINTS (JSON) overrides, per
    # provider, its endpoints and mail servers (tests point them at local servers).
    GOOGLE_OAUTH_CLIENT_ID: str | None = None
    GOOGLE_OAUTH_CLIENT_SECRET: str | None = None
    MICROSOFT_OAUTH_CLIENT_ID: str | None = None
    MICROSOFT_OAUTH_CLIENT_SECRET: str | None = None
    MICROSOFT_OAUTH_TENANT: str = "common"
    OAUTH_PROVIDER_ENDPOINTS: str = ""
    # Where the consent's callback sends the browser back to; unset: the API's own `/`.
    DASHBOARD_URL: str | None = None

    LOG_LEVEL: str = "INFO"

    # Deliverability (SPEC.md "Unsubscribe and suppression", "Bounces").
    # Where the API is reachable from outside: unsubscribe links are PUBLIC_URL/u/TOKEN.
    PUBLIC_URL: str = "http://127.0.0.1:8000"
    # Signs unsubscribe tokens (at least 16 bytes); unset: derived from SESSION_SECRET.
    UNSUBSCRIBE_KEY: str | None = None
    # Open and click tracking (issue 27): the base of pixel and redirect URLs (a custom
    # tracking domain: one CNAME and this; unset: PUBLIC_URL), and where each API process
    # keeps its write-ahead file of hits not yet in the database (unset: a folder of the
    # system's temporary directory named for the database).
    TRACKING_URL: str | None = None
    TRACKING_WAL_DIR: str | None = None
    TRACKING_FLUSH_SECONDS: float = Field(default=0.5, gt=0, le=60)
    # Abuse limits on the public /u/{token} routes, per client address and per token.
    UNSUBSCRIBE_REQUESTS_PER_MINUTE_PER_IP: int = Field(default=60, ge=1)
    UNSUBSCRIBE_REQUESTS_PER_MINUTE_PER_TOKEN: int = Field(default=10, ge=1)
    # A sender-level deferral (421, 4.7.x) holds the sender back this long.
    SENDER_DEFERRAL_SECONDS: float = Field(default=600, gt=0)
    SENDER_DEFERRAL_MAX_HOURS: float = Field(default=72, ge=0)
    # A batch whose hard bounces reach this percentage of at least 20 sends pauses itself.
    BOUNCE_PAUSE_PERCENT: float = Field(default=5.0, gt=0, le=100)
    # Soft bounces of one address in a row (a full mailbox...) that suppress it (issue 24).
    SOFT_BOUNCES_BEFORE_SUPPRESS: int = Field(default=3, ge=1)
    # Recipients and sender domains (issue 29, SPEC.md "Sender domains and recipient
    # checks"): RECIPIENT_DNS_CHECK=false turns the recipient domains' lookup off (the
    # disposable list is still checked); DNS_NAMESERVERS (`ip` or `ip:port`, comma-separated)
    # sends every lookup to given servers, else the system's.
    RECIPIENT_DNS_CHECK: bool = True
    DNS_NAMESERVERS: str = ""
    DNS_TIMEOUT_SECONDS: float = Field(default=3.0, gt=0, le=30)
    # The senders' domains checked on the reply poller's schedule, when new and daily after;
    # false: only when GET /senders/{id}/dns asks.
    SENDER_DOMAIN_CHECKS: bool = True

    # Operations (SPEC.md "Operations"). A Secrets Manager secret (JSON) that fills the
    # secret settings left unset, read once per process at cold start (adapters/secrets.py).
    APP_SECRET_ARN: str | None = None
    # auto: CloudWatch embedded metrics on Lambda, prometheus-client elsewhere.
    METRICS_BACKEND: Literal["auto", "emf", "prometheus", "none"] = "auto"
    # Postgres connections per process. Unset: 1 with no overflow on Lambda (a container
    # serves one request at a time; deploy.py sets each function's own), 5 + 10 elsewhere.
    DB_POOL_SIZE: int | None = Field(default=None, ge=1, le=100)
    DB_MAX_OVERFLOW: int | None = Field(default=None, ge=0, le=100)
    DB_POOL_TIMEOUT_SECONDS: float = Field(default=10.0, gt=0)
    # rediss:// URLs: the CA bundle that signed the server's certificate (default: the
    # system's), and whether to verify it at all.
    # Webhooks (issue 28): the retry delays in seconds, comma-separated (empty: 5 s, 5 min,
    # 30 min, 2 h, 5 h, 10 h, 10 h); hosts (`host` or `host:port`) that may be called
    # although private, over plain http too (`emailsched dev`, tests); dispatcher threads.
    WEBHOOK_RETRY_SECONDS: str = ""
    WEBHOOK_ALLOWED_HOSTS: str = ""
    WEBHOOK_DISPATCH_THREADS: int = Field(default=4, ge=1, le=64)

    REDIS_TLS_CA_FILE: str | None = None
    REDIS_TLS_VERIFY: bool = True

    @classmethod
    def settings_customise_sources(
            cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The secret only fills what the arguments, the environment and .env leave unset.
        return (init_settings, env_settings, dotenv_settings,
                SecretsManagerSource(settings_cls), file_secret_settings)

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

    @field_validator("UNSUBSCRIBE_KEY")
    @classmethod
    def _long_enough(cls, value: str | None) -> str | None:
        if value is not None and len(value.encode()) < 16:
            raise ValueError("must be at least 16 bytes")
        return value

    @field_validator("PUBLIC_URL", "TRACKING_URL")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("https://", "http://")):
            raise ValueError("must be an http(s) URL, e.g. https://api.example.com")
        return value.rstrip("/")

    @field_validator("OAUTH_PROVIDER_ENDPOINTS")
    @classmethod
    def _oauth_endpoints_parse(cls, value: str) -> str:
        from emailsched.domain.oauth import parse_overrides

        parse_overrides(value)  # OAuthSetupError (a ValueError) names what is wrong
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
    def on_lambda(self) -> bool:
        return bool(os.environ.get("AWS_LAMBDA_FUNCTION_NAME"))

    def db_pool(self) -> dict[str, Any]:
        """SQLAlchemy pool arguments: pool_size, max_overflow, pool_timeout."""
        size = self.DB_POOL_SIZE or (1 if self.on_lambda else 5)
        overflow = self.DB_MAX_OVERFLOW
        if overflow is None:
            overflow = 0 if self.on_lambda else size * 2
        return {"pool_size": size, "max_overflow": overflow,
                "pool_timeout": self.DB_POOL_TIMEOUT_SECONDS}

    @property
    def unsubscribe_key(self) -> bytes:
        """UNSUBSCRIBE_KEY, or a key derived from SESSION_SECRET under a label of its own
        (so an unsubscribe token can never pass for a session token, nor the reverse)."""
        if self.UNSUBSCRIBE_KEY:
            return self.UNSUBSCRIBE_KEY.encode()
        if not self.SESSION_SECRET:
            raise ValueError("UNSUBSCRIBE_KEY or SESSION_SECRET is required to sign "
                             "unsubscribe links")
        return hmac.new(self.SESSION_SECRET.encode(), b"emailsched/unsubscribe-key/v1",
                        hashlib.sha256).digest()

    def oauth_client(self, provider: str) -> tuple[str, str] | None:
        """The provider's (client id, client secret), or None when it is not configured."""
        client_id, secret = {
            "google": (self.GOOGLE_OAUTH_CLIENT_ID, self.GOOGLE_OAUTH_CLIENT_SECRET),
            "microsoft": (self.MICROSOFT_OAUTH_CLIENT_ID, self.MICROSOFT_OAUTH_CLIENT_SECRET),
        }.get(provider, (None, None))
        return (client_id, secret or "") if client_id else None

    @property
    def oauth_providers(self) -> list[str]:
        """The OAuth providers this deployment offers (those with a client id)."""
        return [p for p in ("google", "microsoft") if self.oauth_client(p) is not None]

    @property
    def pkce_key(self) -> bytes:
        """The key a consent's PKCE verifier is derived under (from SESSION_SECRET, under a
        label of its own)."""
        if not self.SESSION_SECRET:
            raise ValueError("SESSION_SECRET is required to connect mailboxes by OAuth")
        return hmac.new(self.SESSION_SECRET.encode(), b"emailsched/oauth-pkce-key/v1",
                        hashlib.sha256).digest()

    @property
    def tracking_key(self) -> bytes:
        """Signs open and click tokens: derived from the unsubscribe key under a label of
        its own, so neither kind of token can pass for the other."""
        return hmac.new(self.unsubscribe_key, b"emailsched/tracking-key/v1",
                        hashlib.sha256).digest()

    @property
    def tracking_url(self) -> str:
        return self.TRACKING_URL or self.PUBLIC_URL

    @property
    def tracking_wal_dir(self) -> str:
        if self.TRACKING_WAL_DIR:
            return self.TRACKING_WAL_DIR
        import tempfile

        database = hashlib.sha256(self.DATABASE_URL.encode()).hexdigest()[:16]
        return os.path.join(tempfile.gettempdir(), f"emailsched-hits-{database}")

    @property
    def import_bucket(self) -> str:
        return self.IMPORT_BUCKET or f"emailsched-imports-{self.AWS_REGION}"

    @property
    def dead_letter_queue_name(self) -> str:
        return f"{self.SEND_QUEUE_NAME}-dlq"

    @property
    def dashboard_origins(self) -> list[str]:
        return [o.strip() for o in self.DASHBOARD_ORIGINS.split(",") if o.strip()]

    @property
    def webhook_allowed_hosts(self) -> frozenset[str]:
        return frozenset(host.strip().lower() for host in self.WEBHOOK_ALLOWED_HOSTS.split(",")
                         if host.strip())

    def require_api_secrets(self) -> None:
        """The API refuses to start in google mode without its secrets."""
        missing = [name for name in ("SESSION_SECRET", "GOOGLE_CLIENT_ID")
                   if not getattr(self, name)]
        if self.AUTH_MODE == "google" and missing:
            raise ValueError(f"AUTH_MODE=google needs {', '.join(missing)}")
        if not self.SESSION_SECRET:
            raise ValueError("SESSION_SECRET is required")
