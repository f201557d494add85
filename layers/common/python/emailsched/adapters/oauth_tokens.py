"""Access tokens of OAuth senders, shared by every worker through Redis (issue 25).

A sender's live access token is kept in Redis ENCRYPTED under the credentials cipher (context
`sender:<id>:oauth_access`), with the time until which it is used (60 s, or a tenth of its
lifetime if less, before it expires) and a TTL to its expiry. A worker that finds none, or
one past its use, takes the sender's refresh lock (SET NX PX, released only by its owner),
looks again (another may have just refreshed), and only then refreshes: one refresh per
sender per expiry whatever the number of workers. Those that find the lock taken wait for
the new token. A rotated refresh token is stored before the access token is handed out.

`invalid_grant` is the grant revoked: the sender turns failing with `reconnect: ...` and its
unsent emails are held (adapters/db/oauth.py), and OAuthRefused goes up to the caller.
Each process keeps what it decrypted by ciphertext, so KMS is asked once per new token.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import redis

from emailsched.adapters.db.oauth import PgOAuthStore
from emailsched.adapters.oauth_client import OAuthClient, TokenAnswer, TokenEndpoint
from emailsched.adapters.redis_errors import wrap_redis_errors
from emailsched.domain.oauth import ProviderEndpoints, reuse_seconds
from emailsched.errors import NotFound, OAuthRefused, ServiceUnavailable
from emailsched.ports import CredentialCipher, credential_context

log = logging.getLogger(__name__)

Providers = Callable[[str], tuple[ProviderEndpoints, OAuthClient]]
# Deletes the lock only when it is still ours (a refresh slower than the lock's life).
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


@dataclass(frozen=True)
class _Live:
    token: str = field(repr=False)
    use_until: float  # epoch seconds
    expires_at: float


class RedisAccessTokens:
    def __init__(self, client: redis.Redis, prefix: str, store: PgOAuthStore,
                 cipher: Callable[[], CredentialCipher], endpoint: TokenEndpoint,
                 providers: Providers, *, lock_seconds: float = 20.0,
                 wait_seconds: float = 25.0, clock: Callable[[], float] = time.time):
        self._redis, self._prefix, self._store = client, prefix, store
        self._cipher, self._endpoint, self._providers = cipher, endpoint, providers
        self._lock_ms, self._wait = int(lock_seconds * 1000), wait_seconds
        self._clock = clock
        self._memo: dict[str, _Live] = {}  # ciphertext -> decrypted, this process
        self._memo_lock = threading.Lock()
        self._release = client.register_script(_RELEASE)

    def access_token(self, sender_id: uuid.UUID) -> tuple[str, float]:
        deadline = self._clock() + self._wait
        while True:
            live = self._cached(sender_id)
            if live is not None and self._clock() < live.use_until:
                return live.token, live.use_until
            owner = uuid.uuid4().hex
            with wrap_redis_errors():
                locked = self._redis.set(self._key(sender_id, "lock"), owner, nx=True,
                                         px=self._lock_ms)
            if locked:
                try:
                    return self._refresh_unless_done(sender_id)
                finally:
                    with wrap_redis_errors():
                        self._release(keys=[self._key(sender_id, "lock")], args=[owner])
            if self._clock() > deadline:
                raise ServiceUnavailable(f"sender {sender_id}: waited {self._wait:g} s for "
                                         "another worker's token refresh")
            time.sleep(0.05)

    def forget(self, sender_id: uuid.UUID) -> None:
        """Drops the cached token (a reconnect replaced the grant it came from)."""
        with wrap_redis_errors():
            self._redis.delete(self._key(sender_id, "token"))

    def refreshes(self) -> int:
        """How many refreshes every worker made (for the bench and the tests)."""
        with wrap_redis_errors():
            return int(self._redis.get(self._key(None, "refreshes")) or 0)

    def _refresh_unless_done(self, sender_id: uuid.UUID) -> tuple[str, float]:
        live = self._cached(sender_id)  # another worker may have refreshed meanwhile
        if live is not None and self._clock() < live.use_until:
            return live.token, live.use_until
        live = self._refresh(sender_id)
        return live.token, live.use_until

    def _refresh(self, sender_id: uuid.UUID) -> _Live:
        grant = self._store.grant(sender_id)
        if grant is None or not grant.refresh_token_enc:
            raise NotFound(f"sender {sender_id} is not connected by OAuth")
        provider, client = self._providers(grant.provider)
        refresh_token = self._cipher().decrypt(grant.refresh_token_enc, credential_context(
            str(sender_id), "oauth_refresh"))
        started = self._clock()
        try:
            answer = self._endpoint.refresh(provider, client, refresh_token)
        except OAuthRefused as refused:
            if not refused.revoked:
                raise
            # Whoever records this error (a verify, the send path) records `reconnect:`.
            message = reconnect_message(grant.provider, refused)
            self._store.revoked(sender_id, grant.refresh_token_enc, message)
            log.warning("sender %s: %s revoked its grant; the sender needs a reconnect",
                        sender_id, grant.provider)
            raise OAuthRefused(message, error=refused.error) from None
        if answer.refresh_token and answer.refresh_token != refresh_token:
            # Stored before anything else: a rotation lost would lock the mailbox out.
            self._store.rotate(sender_id, grant.refresh_token_enc, self._cipher().encrypt(
                answer.refresh_token, credential_context(str(sender_id), "oauth_refresh")))
        return self._keep(sender_id, answer, started)

    def _keep(self, sender_id: uuid.UUID, answer: TokenAnswer, started: float) -> _Live:
        live = _Live(answer.access_token, started + reuse_seconds(answer.expires_in),
                     started + answer.expires_in)
        sealed = self._cipher().encrypt(json.dumps(
            {"t": live.token, "u": live.use_until, "e": live.expires_at}),
            credential_context(str(sender_id), "oauth_access"))
        ttl_ms = max(1, int((live.expires_at - self._clock()) * 1000))
        with wrap_redis_errors():
            pipe = self._redis.pipeline()
            pipe.set(self._key(sender_id, "token"), sealed, px=ttl_ms)
            pipe.incr(self._key(None, "refreshes"))
            pipe.execute()
        with self._memo_lock:
            self._memo[sealed] = live
        log.info("sender %s: access token refreshed, used for %.0f s", sender_id,
                 live.use_until - started)
        return live

    def _cached(self, sender_id: uuid.UUID) -> _Live | None:
        with wrap_redis_errors():
            raw = self._redis.get(self._key(sender_id, "token"))
        if raw is None:
            return None
        sealed = raw.decode() if isinstance(raw, bytes) else str(raw)
        with self._memo_lock:
            found = self._memo.get(sealed)
        if found is not None:
            return found
        document = json.loads(self._cipher().decrypt(sealed, credential_context(
            str(sender_id), "oauth_access")))
        live = _Live(document["t"], float(document["u"]), float(document["e"]))
        with self._memo_lock:
            if len(self._memo) > 10_000:  # old tokens of many senders: start over
                self._memo.clear()
            self._memo[sealed] = live
        return live

    def _key(self, sender_id: uuid.UUID | None, what: str) -> str:
        return f"{self._prefix}oauth:{what}" if sender_id is None else (
            f"{self._prefix}oauth:{what}:{sender_id}")


def reconnect_message(provider: str, refused: OAuthRefused) -> str:
    """The sender's lastError for a revoked grant: `reconnect:` first, as SPEC says."""
    return (f"reconnect: {provider} no longer accepts this mailbox's grant "
            f"({refused.message}); connect it again")
