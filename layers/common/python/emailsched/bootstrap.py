"""Wiring: builds the engine, clients and services from the settings, once per process.

Nothing here runs at import time. Lambda reuses the container across warm invocations;
tests call `reset()` between configurations.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property
from typing import Any

import redis

from emailsched.adapters.clock import SystemClock
from emailsched.adapters.db.engine import make_engine
from emailsched.adapters.db.ledger import Ledger
from emailsched.adapters.db.stores import PgAccountStore, PgBatchStore, PgReadStore
from emailsched.adapters.redis_limiter import RedisRateLimiter
from emailsched.adapters.redis_quotas import QuotaLimits, RedisQuotas
from emailsched.adapters.smtp import SmtpMailer
from emailsched.adapters.sqs import SqsQueue, make_sqs_client
from emailsched.domain.retry import RetryPolicy
from emailsched.ports import Clock
from emailsched.services.auth import AuthService, TokenSigner
from emailsched.services.batch_control import BatchControlService
from emailsched.services.pump import PumpConfig, PumpService
from emailsched.services.queries import QueryService
from emailsched.services.scheduling import SchedulingRules, SchedulingService
from emailsched.services.sender import SenderConfig, SenderService
from emailsched.settings import Settings


@dataclass
class Container:
    settings: Settings
    clock: Clock = field(default_factory=SystemClock)

    @cached_property
    def engine(self) -> Any:
        return make_engine(self.settings.DATABASE_URL)

    @cached_property
    def ledger(self) -> Ledger:
        return Ledger(self.engine)

    @cached_property
    def redis(self) -> redis.Redis:
        return redis.Redis.from_url(self.settings.REDIS_URL, socket_timeout=5,
                                    socket_connect_timeout=5, health_check_interval=30)

    @cached_property
    def sqs(self) -> Any:
        return make_sqs_client(self.settings.AWS_REGION, self.settings.AWS_ENDPOINT_URL)

    @cached_property
    def queue(self) -> SqsQueue:
        return SqsQueue(self.sqs, self.settings.SEND_QUEUE_NAME)

    @cached_property
    def dead_letter_queue(self) -> SqsQueue:
        return SqsQueue(self.sqs, self.settings.dead_letter_queue_name)

    @cached_property
    def limiter(self) -> RedisRateLimiter:
        s = self.settings
        return RedisRateLimiter(
            self.redis, self.ledger, window_ms=s.RATE_WINDOW_SECONDS * 1000,
            min_gap_ms=s.MIN_DELAY_BETWEEN_EMAILS_MS, day_seconds=s.DAILY_WINDOW_SECONDS,
            prefix=s.REDIS_KEY_PREFIX, clock=self.clock)

    @cached_property
    def mailer(self) -> SmtpMailer:
        s = self.settings
        return SmtpMailer(s.SMTP_HOST, s.SMTP_PORT, user=s.SMTP_USER, password=s.SMTP_PASSWORD,
                          security=s.smtp_security, timeout=s.SMTP_TIMEOUT_SECONDS,
                          verify_tls=s.SMTP_TLS_VERIFY, sessions=s.SMTP_CONNECTIONS)

    @cached_property
    def scheduling_rules(self) -> SchedulingRules:
        return SchedulingRules(window_ms=self.settings.RATE_WINDOW_SECONDS * 1000,
                               min_gap_ms=self.settings.MIN_DELAY_BETWEEN_EMAILS_MS)

    @cached_property
    def scheduling(self) -> SchedulingService:
        s = self.settings
        quotas = RedisQuotas(self.redis, s.REDIS_KEY_PREFIX, QuotaLimits(
            requests_per_minute=s.SCHEDULE_REQUESTS_PER_MINUTE,
            recipients_per_day=s.MAX_RECIPIENTS_PER_USER_PER_DAY))
        return SchedulingService(PgBatchStore(self.engine), self.clock, self.scheduling_rules,
                                 quotas)

    @cached_property
    def batch_control(self) -> BatchControlService:
        return BatchControlService(PgBatchStore(self.engine), self.clock, self.scheduling_rules)

    @cached_property
    def queries(self) -> QueryService:
        return QueryService(PgReadStore(self.engine), self.clock)

    @cached_property
    def pump(self) -> PumpService:
        s = self.settings
        return PumpService(self.ledger, self.queue, self.clock, PumpConfig(
            horizon=timedelta(seconds=s.PUMP_HORIZON_SECONDS),
            max_in_flight=s.PUMP_MAX_IN_FLIGHT,
            lost_after=timedelta(seconds=s.PUMP_LOST_AFTER_SECONDS)))

    @cached_property
    def sender(self) -> SenderService:
        s = self.settings
        return SenderService(
            self.ledger, self.limiter, self.mailer, self.clock,
            RetryPolicy(s.MAX_SEND_ATTEMPTS, s.RETRY_BASE_SECONDS),
            SenderConfig(lease=timedelta(seconds=s.SEND_LEASE_SECONDS),
                         early_hold=timedelta(seconds=s.EARLY_HOLD_SECONDS),
                         horizon=timedelta(seconds=s.PUMP_HORIZON_SECONDS),
                         receives_before_release=s.THROTTLE_RECEIVES_BEFORE_RELEASE,
                         message_id_domain=s.MESSAGE_ID_DOMAIN))

    @cached_property
    def auth(self) -> AuthService:
        s = self.settings
        s.require_api_secrets()
        assert s.SESSION_SECRET is not None
        signer = TokenSigner(s.SESSION_SECRET, timedelta(seconds=s.SESSION_TTL_SECONDS),
                             self.clock)
        google = None
        if s.GOOGLE_CLIENT_ID:
            from emailsched.adapters.google_tokens import GoogleTokenVerifier

            google = GoogleTokenVerifier(s.GOOGLE_CLIENT_ID, s.GOOGLE_CERTS_URL)
        return AuthService(PgAccountStore(self.engine), signer,
                           dev_login_enabled=s.AUTH_MODE == "dev", google=google)

    def close(self) -> None:
        if "mailer" in self.__dict__:
            self.mailer.close()
        if "engine" in self.__dict__:
            self.engine.dispose()
        if "redis" in self.__dict__:
            self.redis.close()


_lock = threading.Lock()
_container: Container | None = None


def container() -> Container:
    global _container
    with _lock:
        if _container is None:
            _container = Container(Settings())
        return _container


def reset(replacement: Container | None = None) -> None:
    """Drop the cached container (closing its connections), optionally installing another."""
    global _container
    with _lock:
        if _container is not None and _container is not replacement:
            _container.close()
        _container = replacement
