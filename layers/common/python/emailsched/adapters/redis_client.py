"""The Redis client from REDIS_URL: plain `redis://`, or TLS with AUTH
(`rediss://user:password@host:6379/0`, what ElastiCache with in-transit encryption and
AUTH/RBAC requires), and a start-up check that names the URL without its password."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import redis

from emailsched.errors import ConfigurationError

log = logging.getLogger(__name__)


def redacted(url: str) -> str:
    """`url` with its password replaced by ***."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    netloc = f"{user}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def make_redis(url: str, *, ca_file: str | None = None, verify: bool = True,
               timeout: float = 5.0) -> redis.Redis:
    options: dict[str, Any] = {"socket_timeout": timeout, "socket_connect_timeout": timeout,
                               "health_check_interval": 30}
    if url.startswith("rediss://"):
        options["ssl_cert_reqs"] = "required" if verify else "none"
        options["ssl_check_hostname"] = verify
        if ca_file:
            options["ssl_ca_certs"] = ca_file
    return redis.Redis.from_url(url, **options)


def check_redis(client: redis.Redis, url: str) -> None:
    """PING once at container start: a wrong password or certificate is one clear error
    naming REDIS_URL (without its password), not a failure deep inside the first send."""
    try:
        client.ping()
    except redis.AuthenticationError as error:
        raise ConfigurationError(
            f"REDIS_URL {redacted(url)}: authentication failed ({error}); check the user "
            "and password") from None
    except redis.ResponseError as error:
        if "WRONGPASS" in str(error) or "NOAUTH" in str(error) or "NOPERM" in str(error):
            raise ConfigurationError(
                f"REDIS_URL {redacted(url)}: authentication failed ({error}); check the user "
                "and password") from None
        raise
    except redis.ConnectionError as error:
        # Down now is not a configuration error: the calls that need Redis report it as
        # ServiceUnavailable and retry. Logged so a TLS mistake is visible at start.
        log.warning("REDIS_URL %s: cannot connect at start (%s); check the host, port, "
                    "TLS (rediss://) and REDIS_TLS_CA_FILE", redacted(url), error)
