"""Issue 19: Redis over TLS with AUTH (`rediss://user:password@host`), against a real
redis-server started here with a TLS port and a self-signed certificate."""

from __future__ import annotations

import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from emailsched.adapters.redis_client import check_redis, make_redis, redacted
from emailsched.adapters.redis_limiter import RedisRateLimiter
from emailsched.adapters.redis_quotas import QuotaLimits, RedisQuotas
from emailsched.errors import ConfigurationError
from emailsched.ports import Seed, SendLimits

pytestmark = pytest.mark.integration
USER, PASSWORD = "emailsched", "s3cret-pass"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def tls_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path]]:
    folder = tmp_path_factory.mktemp("redis-tls")
    cert, key = folder / "server.crt", folder / "server.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost", "-addext",
                    "subjectAltName=DNS:localhost,IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    port = _port()
    server = subprocess.Popen(
        ["redis-server", "--port", "0", "--tls-port", str(port), "--bind", "127.0.0.1",
         "--tls-cert-file", str(cert), "--tls-key-file", str(key),
         "--tls-ca-cert-file", str(cert), "--tls-auth-clients", "no",
         "--user", "default", "off", "--user", USER, "on", f">{PASSWORD}", "~*", "&*", "+@all",
         "--save", "", "--appendonly", "no", "--dir", str(folder)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                server.kill()
                raise
            time.sleep(0.1)
    yield port, cert
    server.terminate()
    server.wait(timeout=10)


class _NoHistory:
    """A sender with nothing sent yet (the ledger's seed for a fresh window)."""

    def seed(self, sender_id: str, window_start: datetime,
             day_start: datetime | None = None) -> Seed:
        return Seed(count=0, last_send_ms=None, day_count=None if day_start is None else 0)


def test_limiter_and_quotas_work_over_tls_with_auth(tls_redis: tuple[int, Path]) -> None:
    port, ca = tls_redis
    url = f"rediss://{USER}:{PASSWORD}@127.0.0.1:{port}/0"
    client = make_redis(url, ca_file=str(ca))
    check_redis(client, url)
    prefix = f"tls-{uuid.uuid4().hex[:6]}:"
    # Quotas: requests per minute and recipients per day, as scheduling uses them.
    quotas = RedisQuotas(client, prefix, QuotaLimits(requests_per_minute=2,
                                                     recipients_per_day=10))
    user, now = uuid.uuid4(), time.time()
    quotas.check_request(user, now)
    quotas.check_request(user, now)
    with pytest.raises(Exception, match=r"(?i)too many|limit|minute"):
        quotas.check_request(user, now)
    key = quotas.reserve_recipients(user, 8, now)
    with pytest.raises(Exception):  # noqa: B017 - over the day's recipients
        quotas.reserve_recipients(user, 3, now)
    quotas.release(key, 8)
    quotas.reserve_recipients(user, 3, now)
    assert client.eval("return redis.call('INCR', KEYS[1])", 1, f"{prefix}n") == 1
    # The limiter itself (Lua scripts, EVALSHA, Redis TIME) over the same TLS+AUTH client:
    # a sender's hourly limit of 5 and daily cap of 3, counted together in one step.
    limiter = RedisRateLimiter(client, _NoHistory(), window_ms=3_600_000, min_gap_ms=0,
                               prefix=prefix)
    sender, limits = str(uuid.uuid4()), SendLimits(hourly=5, daily=3)
    first = limiter.acquire(sender, limits, 2)
    assert first.slots == 2
    second = limiter.acquire(sender, limits, 5)
    assert second.slots == 1  # the day's third: the daily cap holds first
    refused = limiter.acquire(sender, limits, 1)
    assert refused.slots == 0 and refused.wait_ms > 0
    limiter.refund(sender, second.granted_at_ms, limits)
    assert limiter.acquire(sender, limits, 1).slots == 1  # the refunded slot, again


def test_a_wrong_password_is_a_clear_start_up_error(tls_redis: tuple[int, Path]) -> None:
    port, ca = tls_redis
    url = f"rediss://{USER}:wrong-password@127.0.0.1:{port}/0"
    with pytest.raises(ConfigurationError) as raised:
        check_redis(make_redis(url, ca_file=str(ca)), url)
    message = str(raised.value)
    assert "REDIS_URL" in message and "authentication failed" in message
    assert "wrong-password" not in message
    assert f"rediss://{USER}:***@127.0.0.1:{port}/0" in message


def test_plain_url_without_the_ca_fails_verification(tls_redis: tuple[int, Path]) -> None:
    port, _ = tls_redis
    url = f"rediss://{USER}:{PASSWORD}@127.0.0.1:{port}/0"
    client = make_redis(url)  # system CAs do not know the self-signed certificate
    import redis

    with pytest.raises(redis.ConnectionError):
        client.ping()
    assert redacted(url).count("***") == 1
