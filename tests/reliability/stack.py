"""One scenario's stack: its own database, Redis key prefix, queue, SMTP sink, and the
product's processes (API, pump, two or more workers) started from emailsched's Cluster.

Most scenarios share the session's services (the machine's Postgres and Redis where they
answer, else embedded ones; one moto server, and one LocalStack for the scenarios that also
run on it) and keep apart by database, key prefix and queue name. Scenarios that restart or
kill the services get `OwnServices`, embedded ones under the scenario's folder that can be
stopped, killed and started again.

The scenarios that exercise SQS's semantics (worker kills: visibility timeouts and
redelivery; poison messages: dead-lettering; concurrent pumps: what lands on the queue) run
on both emulators, `@on_both_emulators`; the rest, and the long ones, on moto.
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import redis

from emailsched.local.embedded import (
    EmbeddedMoto,
    EmbeddedPostgres,
    EmbeddedRedis,
    start_moto,
    start_postgres,
    start_redis,
)
from tests.reliability.outcomes import (
    FINAL,
    LedgerEmail,
    Outcome,
    email_id,
    judge,
    read_ledger,
)
from tests.reliability.processes import LoggedCluster, free_port, kill_tree
from tests.support.smtp_sinks import RecordingSink
from tests.support.stack import SECRET, Api, create_database

# Short everything, so that killed workers' emails come back within seconds.
RELIABILITY_ENV = {
    "AUTH_MODE": "dev",
    "SESSION_SECRET": SECRET,
    "MIN_DELAY_BETWEEN_EMAILS_MS": "0",
    "RETRY_BASE_SECONDS": "0.5",
    "SENDER_DEFERRAL_SECONDS": "1",  # a 421's hold on its sender (600 s in the product)
    "SEND_LEASE_SECONDS": "10",
    "PUMP_LOST_AFTER_SECONDS": "10",
    "PUMP_HORIZON_SECONDS": "60",
    "SMTP_TIMEOUT_SECONDS": "10",
    "LOG_LEVEL": "INFO",
    "GOOGLE_CERTS_URL": "http://127.0.0.1:9/certs",  # never the internet, whatever happens
}
SETTLE_GRACE_SECONDS = 2.0  # a duplicate would arrive within this after the last send
DEFAULT_WINDOW_SECONDS = 3600  # the product's, where a scenario does not shorten it
# As tests/conftest.py's `aws_services`: EMAILSCHED_TEST_AWS=moto leaves LocalStack out.
EMULATORS = [name.strip() for name in
             os.environ.get("EMAILSCHED_TEST_AWS", "moto,localstack").split(",")
             if name.strip()]
# A scenario run once per emulator: the `emulator` fixture (moto unless parametrised)
# picks the SQS that `launch` (and `steady_on`) give it.
on_both_emulators = pytest.mark.parametrize("emulator", EMULATORS)


@dataclass(frozen=True)
class SharedServices:
    """The session's services; each scenario takes a database, key prefix and queue."""

    admin_postgres_url: str
    redis_url: str
    moto_url: str


class OwnServices:
    """Embedded Postgres, Redis and (optionally) moto under `folder`, which a scenario may
    stop, kill and start again: each comes back at the same address with its data."""

    def __init__(self, folder: Path, with_moto: bool):
        self.folder = folder
        self.postgres: EmbeddedPostgres = start_postgres(folder)
        self.redis: EmbeddedRedis = start_redis(folder)
        self.moto: EmbeddedMoto | None = start_moto(None, folder / "moto") if with_moto else None
        self._moto_port = self.moto.port if self.moto else None

    def env(self) -> dict[str, str]:
        env = {"DATABASE_URL": self.postgres.url, "REDIS_URL": self.redis.url}
        if self.moto is not None:
            env["AWS_ENDPOINT_URL"] = self.moto.url
        return env

    def restart_postgres(self, down_seconds: float) -> None:
        """A clean shutdown (sessions ended), `down_seconds` without it, and back."""
        url = self.postgres.url
        self.postgres.stop()
        time.sleep(down_seconds)
        self.postgres = start_postgres(self.folder)
        assert self.postgres.url == url, "Postgres came back at another address"

    def restart_redis(self, down_seconds: float, *, empty: bool) -> None:
        """SIGTERM (Redis writes its append-only file), then back with its data, or with
        none at all when `empty`."""
        url = self.redis.url
        self.redis.stop()
        if empty:
            data = self.folder / "redis"
            for path in [*data.glob("appendonly*"), *data.glob("*.rdb")]:
                shutil.rmtree(path) if path.is_dir() else path.unlink()
        time.sleep(down_seconds)
        self.redis = start_redis(self.folder)
        assert self.redis.url == url, "Redis came back at another address"

    def kill(self) -> None:
        """SIGKILL every service (Postgres with its backends), as a power cut would."""
        kill_tree(self.postgres.pid)
        kill_tree(self.redis.pid)
        if self.moto is not None:
            kill_tree(self.moto.pid)
        self.stop()  # forgets the dead servers' handles; nothing is left to stop

    def start(self) -> None:
        self.postgres = start_postgres(self.folder)
        self.redis = start_redis(self.folder)
        if self._moto_port is not None:
            self.moto = start_moto(self._moto_port, self.folder / "moto")

    def stop(self) -> None:
        self.postgres.stop()
        self.redis.stop()
        if self.moto is not None:
            self.moto.stop()


@dataclass
class Scenario:
    """A running stack and what it takes to look at it."""

    cluster: LoggedCluster
    sink: RecordingSink
    database_url: str
    window_seconds: int
    own: OwnServices | None = None

    @property
    def api_url(self) -> str:
        return self.cluster.api_url

    def api(self, email: str = "owner@example.com") -> Api:
        return Api(self.api_url, email)

    def start_components(self, workers: int = 2, concurrency: int = 2,
                         pump_interval: float | None = 0.5) -> None:
        self.cluster.start_api()
        for _ in range(workers):
            self.cluster.start_worker(concurrency)
        if pump_interval is not None:
            self.cluster.start_pump(pump_interval)
        self.cluster.wait_for_api()
        self.wait_for_workers()

    def wait_for_workers(self, timeout: float = 60) -> None:
        """Until every running worker has said it polls the queue."""
        deadline = time.monotonic() + timeout
        while not all("worker: polling" in w.output() for w in self.cluster.workers()):
            assert time.monotonic() < deadline, "a worker did not start polling"
            time.sleep(0.1)

    def ledger(self) -> list[LedgerEmail]:
        return read_ledger(self.database_url)

    def settle(self, expected: int, timeout: float, users: set[str] | None = None) -> Outcome:
        """Wait until `expected` emails (of `users`, or all) are final and every sent one
        has arrived, or `timeout` passes; then a little longer for duplicates; judge."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            mine = [e for e in self.ledger() if users is None or e.user in users]
            arrived = {email_id(message_id) for message_id in self.sink.message_ids}
            if len(mine) >= expected and all(
                    e.status in FINAL and (e.status != "sent" or e.id in arrived)
                    for e in mine):
                break
            time.sleep(0.5)
        time.sleep(SETTLE_GRACE_SECONDS)
        return self.judge(users)

    def judge(self, users: set[str] | None = None) -> Outcome:
        return judge(self.ledger(), self.sink.messages, self.window_seconds, users)


class Launcher:
    """Starts scenarios on the session's services (or their own) and tears them down.
    `aws_url` is the emulator their SQS is on (the shared moto unless given)."""

    def __init__(self, shared: SharedServices, folder: Path, aws_url: str | None = None):
        self._shared = shared
        self._folder = folder
        self._aws_url = aws_url or shared.moto_url
        self._cleanup = ExitStack()

    def __call__(self, name: str, *, env: dict[str, str] | None = None,
                 sink: RecordingSink | None = None, own_services: bool = False,
                 own_moto: bool = False, workers: int = 2, concurrency: int = 2,
                 pump_interval: float | None = 0.5,
                 route_database: Callable[[str], str] | None = None) -> Scenario:
        """`route_database` maps the scenario's database URL to the one the product's
        processes use (through a proxy, say); the test itself reads the ledger directly."""
        folder = self._folder / name
        folder.mkdir(parents=True, exist_ok=True)
        sink = sink or RecordingSink()
        sink.start()
        self._cleanup.callback(sink.stop)
        own = self._own_services(folder, own_moto) if own_services else None
        services = own.env() if own else self._shared_services()
        if own and not own_moto:
            services["AWS_ENDPOINT_URL"] = self._aws_url
        settings = {**RELIABILITY_ENV, **services, **(env or {}),
                    "SEND_QUEUE_NAME": f"rel-{name}-{uuid.uuid4().hex[:6]}",
                    "SMTP_HOST": sink.host, "SMTP_PORT": str(sink.port)}
        database_url = settings["DATABASE_URL"]
        if route_database is not None:
            settings["DATABASE_URL"] = route_database(database_url)
        cluster = LoggedCluster(folder, port=free_port(), env=settings)
        self._cleanup.callback(cluster.stop)
        cluster.start_services()  # nothing left to start: every service is given
        _migrate_and_make_queues(settings)
        window = int(settings.get("RATE_WINDOW_SECONDS", DEFAULT_WINDOW_SECONDS))
        scenario = Scenario(cluster, sink, database_url, window, own)
        scenario.start_components(workers, concurrency, pump_interval)
        return scenario

    def _own_services(self, folder: Path, with_moto: bool) -> OwnServices:
        own = OwnServices(folder, with_moto)
        self._cleanup.callback(own.stop)
        return own

    def _shared_services(self) -> dict[str, str]:
        database, drop = create_database(self._shared.admin_postgres_url)
        self._cleanup.callback(drop)
        prefix = f"emailsched-rel-{uuid.uuid4().hex[:8]}:"
        self._cleanup.callback(_forget_keys, self._shared.redis_url, prefix)
        return {"DATABASE_URL": database, "REDIS_URL": self._shared.redis_url,
                "REDIS_KEY_PREFIX": prefix, "AWS_ENDPOINT_URL": self._aws_url}

    def close(self) -> None:
        self._cleanup.close()


def _migrate_and_make_queues(settings: dict[str, str]) -> None:
    """What `emailsched setup` (Cluster.prepare) does for a fresh stack, done in this
    process: seconds cheaper than starting another Python on a busy machine."""
    from emailsched.adapters.db.engine import make_engine, migrate
    from emailsched.adapters.queues import ensure_queues
    from emailsched.adapters.sqs import make_sqs_client

    engine = make_engine(settings["DATABASE_URL"])
    try:
        migrate(engine)
    finally:
        engine.dispose()
    ensure_queues(make_sqs_client("us-east-1", settings["AWS_ENDPOINT_URL"]),
                  settings["SEND_QUEUE_NAME"])


def _forget_keys(redis_url: str, prefix: str) -> None:
    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def batch(recipients: list[str], start: datetime, *, delay_ms: int = 0, limit: int = 100_000,
          sender: str = "sales@example.com", subject: str = "Hello",
          body: str = "<p>Hello <b>there</b></p>") -> dict[str, Any]:
    """A POST /emails/schedule body."""
    return {"subject": subject, "body": body, "recipients": recipients,
            "startTime": start.isoformat(), "delayMs": delay_ms, "hourlyLimit": limit,
            "sender": {"email": sender, "name": "Sales"}}


def schedule(api: Api, body: dict[str, Any]) -> dict[str, Any]:
    answer = api.post("/emails/schedule", body)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())
