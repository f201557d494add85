"""Wiring: builds the engine, clients and services from the settings, once per process.

Nothing here runs at import time. Lambda reuses the container across warm invocations;
tests call `reset()` between configurations.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from emailsched.ports import Clock

# Each cached property imports its adapter and service inside: a function imports only what
# it uses, when it first uses it (the sender never loads Google auth, the API never smtplib,
# and none loads SQLAlchemy or boto3 at import time; see the cold_start benchmark).
if TYPE_CHECKING:
    import redis

    from emailsched.adapters.db.hits import PgHits
    from emailsched.adapters.db.ledger import Ledger
    from emailsched.adapters.dns_lookup import DnsLookup
    from emailsched.adapters.hit_log import HitLog
    from emailsched.adapters.import_objects import S3ImportObjects, SqsImportJobs
    from emailsched.adapters.mailer_pool import SmtpMailerPool
    from emailsched.adapters.metrics import EmfMetrics, NullMetrics, PrometheusMetrics
    from emailsched.adapters.oauth_client import OAuthClient
    from emailsched.adapters.oauth_mailer import OAuthSmtpMailer
    from emailsched.adapters.oauth_tokens import RedisAccessTokens
    from emailsched.adapters.redis_limiter import RedisRateLimiter
    from emailsched.adapters.smtp import SmtpMailer
    from emailsched.adapters.sqs import SqsQueue
    from emailsched.adapters.webhook_http import WebhookClient
    from emailsched.domain.oauth import ProviderEndpoints
    from emailsched.ports import CredentialCipher, SmtpAccount, StoredAccountVerifier
    from emailsched.services.analytics import AnalyticsService
    from emailsched.services.api_keys import ApiKeyService
    from emailsched.services.auth import AuthService
    from emailsched.services.batch_control import BatchControlService
    from emailsched.services.deliverability import Deliverability
    from emailsched.services.domain_health import DomainHealth
    from emailsched.services.email_history import EmailHistoryService
    from emailsched.services.followups import FollowUpPlanner
    from emailsched.services.health import HealthService
    from emailsched.services.import_job import ImportJob
    from emailsched.services.imports import ImportService
    from emailsched.services.inbox import InboxService
    from emailsched.services.oauth_connect import OAuthConnectService
    from emailsched.services.pump import PumpService
    from emailsched.services.queries import QueryService
    from emailsched.services.recipient_checks import RecipientChecks
    from emailsched.services.replies import ReplyPoller
    from emailsched.services.scheduling import SchedulingRules, SchedulingService
    from emailsched.services.sender import SenderService
    from emailsched.services.senders import SenderAccountService, StoredAccountCheck
    from emailsched.services.suppressions import SuppressionService
    from emailsched.services.tracking import TrackingService
    from emailsched.services.webhook_dispatch import Dispatcher
    from emailsched.services.webhooks import WebhookService
    from emailsched.settings import Settings


def _system_clock() -> Clock:
    from emailsched.adapters.clock import SystemClock

    return SystemClock()


@dataclass
class Container:
    settings: Settings
    clock: Clock = field(default_factory=_system_clock)

    @cached_property
    def engine(self) -> Any:
        from emailsched.adapters.db.engine import make_engine

        return make_engine(self.settings.DATABASE_URL, **self.settings.db_pool())

    @cached_property
    def ledger(self) -> Ledger:
        from emailsched.adapters.db.ledger import Ledger

        return Ledger(self.engine)

    @cached_property
    def redis(self) -> redis.Redis:
        from emailsched.adapters.redis_client import check_redis, make_redis

        s = self.settings
        client = make_redis(s.REDIS_URL, ca_file=s.REDIS_TLS_CA_FILE, verify=s.REDIS_TLS_VERIFY)
        check_redis(client, s.REDIS_URL)  # once per container: a wrong password stops here
        return client

    @cached_property
    def metrics(self) -> EmfMetrics | NullMetrics | PrometheusMetrics:
        from emailsched.adapters.metrics import make_metrics

        return make_metrics(self.settings.METRICS_BACKEND)

    def flush_metrics(self) -> None:
        """End of an invocation: EMF lines out (a no-op for the other backends)."""
        if "metrics" in self.__dict__:
            self.metrics.flush()

    @cached_property
    def health(self) -> HealthService:
        from emailsched.adapters.health_checks import DatabaseCheck, QueueCheck, RedisCheck
        from emailsched.services.health import HealthService

        return HealthService({"database": DatabaseCheck(self.engine),
                              "redis": RedisCheck(self.redis),
                              "queue": QueueCheck(self.queue)}, self.clock)

    @cached_property
    def sqs(self) -> Any:
        from emailsched.adapters.sqs import make_sqs_client

        return make_sqs_client(self.settings.AWS_REGION, self.settings.AWS_ENDPOINT_URL)

    @cached_property
    def queue(self) -> SqsQueue:
        from emailsched.adapters.sqs import SqsQueue

        return SqsQueue(self.sqs, self.settings.SEND_QUEUE_NAME)

    @cached_property
    def dead_letter_queue(self) -> SqsQueue:
        from emailsched.adapters.sqs import SqsQueue

        return SqsQueue(self.sqs, self.settings.dead_letter_queue_name)

    @cached_property
    def limiter(self) -> RedisRateLimiter:
        from emailsched.adapters.redis_limiter import RedisRateLimiter

        s = self.settings
        return RedisRateLimiter(
            self.redis, self.ledger, window_ms=s.RATE_WINDOW_SECONDS * 1000,
            min_gap_ms=s.MIN_DELAY_BETWEEN_EMAILS_MS, day_seconds=s.DAILY_WINDOW_SECONDS,
            prefix=s.REDIS_KEY_PREFIX, clock=self.clock)

    @cached_property
    def mailer(self) -> SmtpMailer:
        from emailsched.adapters.smtp import SmtpMailer

        s = self.settings
        return SmtpMailer(s.SMTP_HOST, s.SMTP_PORT, user=s.SMTP_USER, password=s.SMTP_PASSWORD,
                          security=s.smtp_security, timeout=s.SMTP_TIMEOUT_SECONDS,
                          verify_tls=s.SMTP_TLS_VERIFY, sessions=s.SMTP_CONNECTIONS)

    @cached_property
    def scheduling_rules(self) -> SchedulingRules:
        from emailsched.services.scheduling import SchedulingRules

        return SchedulingRules(window_ms=self.settings.RATE_WINDOW_SECONDS * 1000,
                               min_gap_ms=self.settings.MIN_DELAY_BETWEEN_EMAILS_MS,
                               day_seconds=self.settings.DAILY_WINDOW_SECONDS,
                               relay_domains=self.settings.RELAY_SENDER_DOMAINS)

    @cached_property
    def cipher(self) -> CredentialCipher:
        """Sender passwords at rest; ConfigurationError naming the setting when no key is
        set (asked for only where an smtp sender is stored or sent through)."""
        from emailsched.adapters.credentials import make_cipher

        cipher = make_cipher(self.settings)
        cipher.check()  # a missing or unusable key fails here, naming the setting
        return cipher

    @cached_property
    def sender_accounts(self) -> SenderAccountService:
        from emailsched.adapters.db.stores import PgSenderStore
        from emailsched.adapters.mailbox_verifier import NetworkMailboxVerifier
        from emailsched.services.senders import SenderAccountService, SenderRules

        s = self.settings
        verifier = NetworkMailboxVerifier(s.SENDER_VERIFY_TIMEOUT_SECONDS, s.SMTP_TLS_VERIFY)
        return SenderAccountService(
            PgSenderStore(self.engine), verifier, lambda: self.cipher, self.clock,
            SenderRules(s.RELAY_SENDER_DOMAINS, self.scheduling_rules.pacing),
            stored=self.stored_account_verifier)

    @cached_property
    def stored_account_check(self) -> StoredAccountCheck:
        """A stored account checked in-process, its passwords decrypted here: the verifier
        function's work on AWS, and the API's own where one key does both (locally)."""
        from emailsched.adapters.db.stores import PgSenderStore
        from emailsched.adapters.mailbox_verifier import NetworkMailboxVerifier
        from emailsched.services.senders import StoredAccountCheck

        s = self.settings
        verifier = NetworkMailboxVerifier(s.SENDER_VERIFY_TIMEOUT_SECONDS, s.SMTP_TLS_VERIFY)
        return StoredAccountCheck(PgSenderStore(self.engine), verifier, lambda: self.cipher,
                                  tokens=lambda: self.access_tokens)

    @cached_property
    def stored_account_verifier(self) -> StoredAccountVerifier:
        """VERIFIER_FUNCTION_NAME set (on AWS, where the API may not decrypt): the verifier
        function, invoked synchronously; unset: in-process."""
        s = self.settings
        if not s.VERIFIER_FUNCTION_NAME:
            return self.stored_account_check
        from emailsched.adapters.account_verifier import (
            LambdaStoredAccountVerifier,
            make_lambda_client,
        )

        # Its check may take a connect timeout per account (SMTP and IMAP) and TLS.
        timeout = 2 * s.SENDER_VERIFY_TIMEOUT_SECONDS + 5
        return LambdaStoredAccountVerifier(
            make_lambda_client(s.AWS_REGION, s.AWS_ENDPOINT_URL, timeout),
            s.VERIFIER_FUNCTION_NAME)

    @cached_property
    def mailer_pool(self) -> SmtpMailerPool:
        """The relay mailer for relay senders, one SmtpMailer per sender account else."""
        from emailsched.adapters.mailer_pool import SmtpMailerPool

        return SmtpMailerPool(self.mailer, self.ledger, lambda: self.cipher,
                              self._account_mailer, idle_seconds=60.0, max_mailers=500)

    def _account_mailer(self, account: SmtpAccount,
                        password: str) -> SmtpMailer | OAuthSmtpMailer:
        from emailsched.adapters.oauth_mailer import OAuthSmtpMailer
        from emailsched.adapters.smtp import SmtpMailer

        s = self.settings

        def build(login: Any = None) -> SmtpMailer:
            return SmtpMailer(account.host, account.port, user=account.username,
                              password=password, security=account.security,
                              timeout=s.SMTP_TIMEOUT_SECONDS, verify_tls=s.SMTP_TLS_VERIFY,
                              sessions=s.SMTP_CONNECTIONS, login=login)

        if account.kind in ("google", "microsoft"):
            return OAuthSmtpMailer(account.sender_id, account.kind, account.username,
                                   self.access_tokens, build)
        return build()

    # --- mailboxes connected by OAuth (issue 25) -------------------------------------------
    def oauth_provider(self, provider: str) -> tuple[ProviderEndpoints, OAuthClient]:
        """The provider's endpoints (OAUTH_PROVIDER_ENDPOINTS applied) and client;
        ProviderNotConfigured when this deployment has no client id for it."""
        from emailsched.adapters.oauth_client import OAuthClient
        from emailsched.domain.oauth import endpoints
        from emailsched.errors import ProviderNotConfigured

        s = self.settings
        client = s.oauth_client(provider)
        if client is None:
            raise ProviderNotConfigured(f"{provider} is not configured here (no "
                                        f"{provider.upper()}_OAUTH_CLIENT_ID)")
        found = endpoints(provider, s.OAUTH_PROVIDER_ENDPOINTS, s.MICROSOFT_OAUTH_TENANT)
        return found, OAuthClient(*client)

    @cached_property
    def access_tokens(self) -> RedisAccessTokens:
        from emailsched.adapters.db.oauth import PgOAuthStore
        from emailsched.adapters.oauth_client import TokenEndpoint
        from emailsched.adapters.oauth_tokens import RedisAccessTokens

        return RedisAccessTokens(self.redis, self.settings.REDIS_KEY_PREFIX,
                                 PgOAuthStore(self.engine), lambda: self.cipher,
                                 TokenEndpoint(), self.oauth_provider)

    @cached_property
    def oauth_connect(self) -> OAuthConnectService:
        from emailsched.adapters.db.oauth import PgOAuthStore
        from emailsched.adapters.mailbox_verifier import NetworkMailboxVerifier
        from emailsched.adapters.oauth_client import TokenEndpoint
        from emailsched.services.oauth_connect import ConnectConfig, OAuthConnectService

        s = self.settings
        endpoint = TokenEndpoint()

        def exchange(provider: ProviderEndpoints, code: str, verifier: str,
                     redirect_uri: str) -> Any:
            return endpoint.exchange(provider, self.oauth_provider(provider.name)[1], code,
                                     verifier, redirect_uri)

        def provider(name: str) -> tuple[ProviderEndpoints, str]:
            found, client = self.oauth_provider(name)
            return found, client.client_id

        config = ConnectConfig(s.PUBLIC_URL, s.DASHBOARD_URL or f"{s.PUBLIC_URL}/",
                               s.pkce_key, provider)
        verifier = NetworkMailboxVerifier(s.SENDER_VERIFY_TIMEOUT_SECONDS, s.SMTP_TLS_VERIFY)
        return OAuthConnectService(PgOAuthStore(self.engine), exchange, verifier,
                                   self.sender_accounts, self.clock, config,
                                   forget_token=lambda sid: self.access_tokens.forget(sid))

    @cached_property
    def scheduling(self) -> SchedulingService:
        from emailsched.adapters.db.stores import PgBatchStore
        from emailsched.adapters.redis_quotas import QuotaLimits, RedisQuotas
        from emailsched.services.scheduling import SchedulingService

        s = self.settings
        quotas = RedisQuotas(self.redis, s.REDIS_KEY_PREFIX, QuotaLimits(
            requests_per_minute=s.SCHEDULE_REQUESTS_PER_MINUTE,
            recipients_per_day=s.MAX_RECIPIENTS_PER_USER_PER_DAY))
        from emailsched.adapters.db.suppressions import PgSuppressionStore

        return SchedulingService(PgBatchStore(self.engine), self.clock, self.scheduling_rules,
                                 quotas, PgSuppressionStore(self.engine), self.recipient_checks)

    @cached_property
    def dns(self) -> DnsLookup:
        from emailsched.adapters.dns_lookup import DnsLookup

        s = self.settings
        return DnsLookup(s.DNS_NAMESERVERS, s.DNS_TIMEOUT_SECONDS)

    @cached_property
    def domain_health(self) -> DomainHealth:
        from emailsched.adapters.db.sender_domains import PgSenderDomains
        from emailsched.services.domain_health import DomainHealth

        return DomainHealth(PgSenderDomains(self.engine), self.dns, self.clock,
                            skip_reserved=not self.dns.configured)

    @cached_property
    def recipient_checks(self) -> RecipientChecks:
        from emailsched.adapters.disposable import is_disposable
        from emailsched.adapters.redis_domain_cache import RedisDomainCache
        from emailsched.services.recipient_checks import RecipientChecks

        s = self.settings
        if not s.RECIPIENT_DNS_CHECK:
            return RecipientChecks(is_disposable, None, None)
        return RecipientChecks(is_disposable, self.dns,
                               RedisDomainCache(self.redis, s.REDIS_KEY_PREFIX))

    @cached_property
    def batch_control(self) -> BatchControlService:
        from emailsched.adapters.db.stores import PgBatchStore
        from emailsched.services.batch_control import BatchControlService

        return BatchControlService(PgBatchStore(self.engine), self.clock, self.scheduling_rules)

    @cached_property
    def queries(self) -> QueryService:
        from emailsched.adapters.db.stores import PgReadStore
        from emailsched.services.queries import QueryService

        return QueryService(PgReadStore(self.engine), self.clock)

    @cached_property
    def email_history(self) -> EmailHistoryService:
        from emailsched.adapters.db.email_history import PgEmailHistory
        from emailsched.services.email_history import EmailHistoryService

        return EmailHistoryService(PgEmailHistory(self.engine), self.clock)

    @cached_property
    def inbox(self) -> InboxService:
        from emailsched.adapters.db.inbox import PgInbox
        from emailsched.services.inbox import InboxService

        return InboxService(PgInbox(self.engine), self.clock)

    @cached_property
    def pump(self) -> PumpService:
        from emailsched.services.pump import PumpConfig, PumpService

        s = self.settings
        return PumpService(self.ledger, self.queue, self.clock, PumpConfig(
            horizon=timedelta(seconds=s.PUMP_HORIZON_SECONDS),
            max_in_flight=s.PUMP_MAX_IN_FLIGHT,
            lost_after=timedelta(seconds=s.PUMP_LOST_AFTER_SECONDS)),
            metrics=self.metrics,
            depths={"queue_depth": self.queue, "dead_letter_depth": self.dead_letter_queue})

    @cached_property
    def sender(self) -> SenderService:
        from emailsched.domain.retry import RetryPolicy
        from emailsched.services.sender import SenderConfig, SenderService

        s = self.settings
        return SenderService(
            self.ledger, self.limiter, self.mailer_pool, self.clock,
            RetryPolicy(s.MAX_SEND_ATTEMPTS, s.RETRY_BASE_SECONDS, s.SENDER_DEFERRAL_SECONDS,
                        s.SENDER_DEFERRAL_MAX_HOURS * 3600),
            SenderConfig(lease=timedelta(seconds=s.SEND_LEASE_SECONDS),
                         early_hold=timedelta(seconds=s.EARLY_HOLD_SECONDS),
                         horizon=timedelta(seconds=s.PUMP_HORIZON_SECONDS),
                         receives_before_release=s.THROTTLE_RECEIVES_BEFORE_RELEASE,
                         failures_before_hold=s.SENDER_FAILURES_BEFORE_HOLD),
            self.metrics, self.ledger, self.deliverability)

    @cached_property
    def deliverability(self) -> Deliverability:
        from emailsched.adapters.db.bounce_ledger import PgBounces
        from emailsched.adapters.redis_deferrals import RedisSenderDeferrals
        from emailsched.domain.batch_tracking import TrackingRules
        from emailsched.domain.compose import ComposeRules
        from emailsched.services.deliverability import Deliverability

        s = self.settings
        return Deliverability(
            ComposeRules(s.PUBLIC_URL, s.unsubscribe_key, s.MESSAGE_ID_DOMAIN,
                         TrackingRules(s.tracking_url, s.tracking_key)),
            PgBounces(self.engine, s.BOUNCE_PAUSE_PERCENT),
            RedisSenderDeferrals(self.redis, s.REDIS_KEY_PREFIX))

    @cached_property
    def followups(self) -> FollowUpPlanner:
        from emailsched.adapters.db.sequences import PgFollowUpStore
        from emailsched.services.followups import FollowUpPlanner

        return FollowUpPlanner(PgFollowUpStore(self.engine), self.clock,
                               self.scheduling_rules.pacing, metrics=self.metrics)

    @cached_property
    def replies(self) -> ReplyPoller:
        from emailsched.adapters.db.inbox_keeper import PgInboxKeeper
        from emailsched.adapters.db.sequences import PgReplyStore
        from emailsched.adapters.mailboxes import MailboxOpeners
        from emailsched.services.inbox_keeper import InboxKeeper
        from emailsched.services.replies import ReplyConfig, ReplyPoller

        s = self.settings
        opener = MailboxOpeners(lambda: self.cipher, s.DEV_REPLY_MAILDIR,
                                timeout=s.SENDER_VERIFY_TIMEOUT_SECONDS,
                                verify_tls=s.IMAP_TLS_VERIFY,
                                tokens=lambda: self.access_tokens)
        store = PgReplyStore(self.engine, s.SOFT_BOUNCES_BEFORE_SUPPRESS)
        inbox = InboxKeeper(PgInboxKeeper(self.engine), store, self.clock)
        return ReplyPoller(store, opener, self.clock,
                           ReplyConfig(include_relay=bool(s.DEV_REPLY_MAILDIR)),
                           metrics=self.metrics, inbox=inbox)

    @cached_property
    def auth(self) -> AuthService:
        from emailsched.adapters.db.stores import PgAccountStore
        from emailsched.services.auth import AuthService, TokenSigner

        s = self.settings
        s.require_api_secrets()
        assert s.SESSION_SECRET is not None
        signer = TokenSigner(s.SESSION_SECRET, timedelta(seconds=s.SESSION_TTL_SECONDS),
                             self.clock)
        google = None
        if s.GOOGLE_CLIENT_ID:
            google = _LazyGoogleVerifier(s.GOOGLE_CLIENT_ID, s.GOOGLE_CERTS_URL)
        from emailsched.adapters.db.api_keys import PgApiKeyStore

        return AuthService(PgAccountStore(self.engine), signer,
                           dev_login_enabled=s.AUTH_MODE == "dev", google=google,
                           keys=PgApiKeyStore(self.engine))

    @cached_property
    def api_keys(self) -> ApiKeyService:
        from emailsched.adapters.db.api_keys import PgApiKeyStore
        from emailsched.services.api_keys import ApiKeyService

        return ApiKeyService(PgApiKeyStore(self.engine))

    @cached_property
    def suppressions(self) -> SuppressionService:
        from emailsched.adapters.db.suppressions import PgSuppressionStore
        from emailsched.adapters.redis_public_limits import RedisPublicLimits
        from emailsched.services.suppressions import SuppressionService

        s = self.settings
        limits = RedisPublicLimits(self.redis, s.REDIS_KEY_PREFIX,
                                   per_ip=s.UNSUBSCRIBE_REQUESTS_PER_MINUTE_PER_IP,
                                   per_token=s.UNSUBSCRIBE_REQUESTS_PER_MINUTE_PER_TOKEN)
        return SuppressionService(PgSuppressionStore(self.engine), self.clock,
                                  s.unsubscribe_key, limits)

    # --- Big lists (issue 17) -------------------------------------------------------
    @cached_property
    def s3(self) -> Any:
        from emailsched.adapters.import_objects import make_s3_client

        return make_s3_client(self.settings.AWS_REGION, self.settings.AWS_ENDPOINT_URL)

    @cached_property
    def import_objects(self) -> S3ImportObjects:
        from emailsched.adapters.import_objects import S3ImportObjects

        return S3ImportObjects(self.s3, self.settings.import_bucket)

    @cached_property
    def imports(self) -> ImportService:
        from emailsched.adapters.db.imports import PgImportStore
        from emailsched.services.imports import ImportService

        s = self.settings
        return ImportService(PgImportStore(self.engine), self.import_objects,
                             self.import_jobs, self.scheduling,
                             max_bytes=s.MAX_IMPORT_BYTES, url_seconds=s.IMPORT_UPLOAD_URL_SECONDS)

    @cached_property
    def import_jobs(self) -> SqsImportJobs:
        from emailsched.adapters.import_objects import SqsImportJobs

        return SqsImportJobs(self.sqs, self.settings.IMPORT_QUEUE_NAME)

    @cached_property
    def import_job(self) -> ImportJob:
        from emailsched.adapters.db.imports import PgImportStore
        from emailsched.adapters.db.stores import PgBatchStore
        from emailsched.adapters.db.suppressions import PgSuppressionStore
        from emailsched.adapters.redis_quotas import QuotaLimits, RedisQuotas
        from emailsched.services.import_job import ImportJob, ImportLimits

        s = self.settings
        quotas = RedisQuotas(self.redis, s.REDIS_KEY_PREFIX, QuotaLimits(
            requests_per_minute=s.SCHEDULE_REQUESTS_PER_MINUTE,
            recipients_per_day=s.MAX_RECIPIENTS_PER_USER_PER_DAY))
        return ImportJob(PgImportStore(self.engine), self.import_objects,
                         PgBatchStore(self.engine), PgSuppressionStore(self.engine), quotas,
                         self.scheduling_rules.pacing,
                         ImportLimits(s.MAX_IMPORT_ROWS, s.MAX_IMPORT_BYTES,
                                      s.IMPORT_ROWS_PER_INVOCATION, s.IMPORT_CHUNK_ROWS),
                         self.recipient_checks)

    # --- Integrations (issue 28) ----------------------------------------------------
    @cached_property
    def webhook_client(self) -> WebhookClient:
        from emailsched.adapters.webhook_http import WebhookClient

        return WebhookClient(self.settings.webhook_allowed_hosts)

    @cached_property
    def webhooks(self) -> WebhookService:
        from emailsched.adapters.db.webhooks import PgWebhookStore
        from emailsched.services.webhooks import WebhookService

        return WebhookService(PgWebhookStore(self.engine), self.webhook_client,
                              lambda: self.cipher, self.clock)

    @cached_property
    def webhook_dispatcher(self) -> Dispatcher:
        from emailsched.adapters.db.webhooks import PgWebhookOutbox
        from emailsched.domain.webhooks import parse_retry_seconds
        from emailsched.services.webhook_dispatch import DispatchConfig, Dispatcher

        s = self.settings
        return Dispatcher(PgWebhookOutbox(self.engine), self.webhook_client.open,
                          lambda: self.cipher, self.clock, DispatchConfig(
                              retry_seconds=parse_retry_seconds(s.WEBHOOK_RETRY_SECONDS),
                              threads=s.WEBHOOK_DISPATCH_THREADS))

    # --- Engagement (issue 27) -------------------------------------------------------
    @cached_property
    def hits(self) -> PgHits:
        from emailsched.adapters.db.hits import PgHits

        return PgHits(self.engine)

    @cached_property
    def hit_log(self) -> HitLog:
        """This process's write-ahead file of hits, its flusher started (and with it the
        replay of what a killed process left)."""
        from emailsched.adapters.hit_log import HitLog

        s = self.settings
        log = HitLog(s.tracking_wal_dir, self.hits.write, s.TRACKING_FLUSH_SECONDS)
        log.start()
        return log

    @cached_property
    def tracking(self) -> TrackingService:
        """On Lambda a hit is stored before the answer (one INSERT): a frozen container
        runs no flusher, and a reclaimed one takes its /tmp with it. Elsewhere it goes
        through this process's write-ahead file."""
        from emailsched.services.tracking import TrackingService

        store: Callable[[dict[str, Any]], object] = (
            (lambda hit: self.hits.write([hit])) if self.settings.on_lambda
            else self.hit_log.append)
        return TrackingService(self.settings.tracking_key, store, self.clock)

    @cached_property
    def analytics(self) -> AnalyticsService:
        from emailsched.adapters.db.analytics import PgAnalytics
        from emailsched.services.analytics import AnalyticsService

        return AnalyticsService(PgAnalytics(self.engine), self.clock)

    def close(self) -> None:
        if "hit_log" in self.__dict__:
            self.hit_log.close()
        if "mailer_pool" in self.__dict__:
            self.mailer_pool.close()
        elif "mailer" in self.__dict__:
            self.mailer.close()
        if "engine" in self.__dict__:
            self.engine.dispose()
        if "redis" in self.__dict__:
            self.redis.close()


class _LazyGoogleVerifier:
    """Builds the Google token verifier (google-auth, requests) on the first Google sign-in,
    not on the first authenticated request: every other route checks our own session token."""

    def __init__(self, client_id: str, certs_url: str) -> None:
        self._client_id, self._certs_url = client_id, certs_url
        self._verifier: Any = None
        self._building = threading.Lock()

    def verify(self, credential: str) -> Any:
        with self._building:
            if self._verifier is None:
                from emailsched.adapters.google_tokens import GoogleTokenVerifier

                self._verifier = GoogleTokenVerifier(self._client_id, self._certs_url)
        return self._verifier.verify(credential)


_lock = threading.Lock()
_container: Container | None = None


def container() -> Container:
    global _container
    with _lock:
        if _container is None:
            from emailsched.settings import Settings

            _container = Container(Settings())
        return _container


def built() -> bool:
    """Whether this process has built its container yet."""
    return _container is not None


def reset(replacement: Container | None = None) -> None:
    """Drop the cached container (closing its connections), optionally installing another."""
    global _container
    with _lock:
        if _container is not None and _container is not replacement:
            _container.close()
        _container = replacement
