"""Real services for tests: a fresh Postgres database, a Redis key prefix, moto's server,
and the whole pipeline (API server, pump, sender pollers) running in threads on them."""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis
import requests
import sqlalchemy
from sqlalchemy.engine import make_url

from emailsched import bootstrap
from emailsched.adapters.db.engine import migrate
from emailsched.adapters.import_objects import ensure_bucket
from emailsched.adapters.queues import ensure_import_queue, ensure_queues
from emailsched.adapters.sqs import SqsQueue
from emailsched.bench.environment import answers
from emailsched.local.api_server import make_server, serve_in_thread
from emailsched.local.app_loader import load_app
from emailsched.local.pump_loop import run_pump
from emailsched.local.worker import QueuePoller, run_pollers
from emailsched.settings import Settings

MACHINE_POSTGRES = "postgresql+pg8000://postgres@127.0.0.1:5432/postgres"
MACHINE_REDIS = "redis://127.0.0.1:6379/0"
SECRET = "test-session-secret-that-is-long-enough-0123456789"
TEST_CREDENTIALS_KEY = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="  # 32 bytes, tests only


def admin_postgres_url(scratch: Path) -> tuple[str, Callable[[], None]]:
    """The machine's Postgres where it answers, else an embedded one."""
    url = os.environ.get("EMAILSCHED_TEST_POSTGRES", MACHINE_POSTGRES)
    engine = sqlalchemy.create_engine(url)
    if answers(lambda: engine.connect().close()):
        engine.dispose()
        return url, lambda: None
    from emailsched.local.embedded import start_postgres

    # Not under pytest's tmp folders: pytest makes them 0700 at every session start, which
    # locks out the `pgserver` user that embedded Postgres runs as under root.
    server = start_postgres(Path(tempfile.mkdtemp(prefix="emailsched-test-pg-")))
    return server.url, server.stop


def create_database(admin_url: str) -> tuple[str, Callable[[], None]]:
    name = f"emailsched_test_{uuid.uuid4().hex[:10]}"
    admin = sqlalchemy.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)

    def drop() -> None:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()

    return url, drop


def redis_url(scratch: Path) -> tuple[str, Callable[[], None]]:
    url = os.environ.get("EMAILSCHED_TEST_REDIS", MACHINE_REDIS)
    if answers(lambda: redis.Redis.from_url(url, socket_connect_timeout=1).ping()):
        return url, lambda: None
    from emailsched.local.embedded import start_redis

    server = start_redis(scratch / "redis")
    return server.url, server.stop


@dataclass
class Services:
    database_url: str
    redis_url: str
    aws_endpoint_url: str

    def settings(self, **overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "DATABASE_URL": self.database_url, "REDIS_URL": self.redis_url,
            "REDIS_KEY_PREFIX": f"emailsched-test-{uuid.uuid4().hex[:8]}:",
            "AWS_ENDPOINT_URL": self.aws_endpoint_url,
            "SEND_QUEUE_NAME": f"send-{uuid.uuid4().hex[:8]}",
            "IMPORT_QUEUE_NAME": f"imports-{uuid.uuid4().hex[:8]}",
            "IMPORT_BUCKET": f"imports-{uuid.uuid4().hex[:8]}",
            "AUTH_MODE": "dev", "SESSION_SECRET": SECRET, "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": 1, "MIN_DELAY_BETWEEN_EMAILS_MS": 0, "PUMP_HORIZON_SECONDS": 60,
            "PUMP_MAX_IN_FLIGHT": 500, "EARLY_HOLD_SECONDS": 2, "RETRY_BASE_SECONDS": 0.5,
            "LOG_LEVEL": "INFO",
            # As in `emailsched dev`: any From address may use the relay (the sink).
            "RELAY_SENDER_DOMAINS": "*", "CREDENTIALS_KEY": TEST_CREDENTIALS_KEY,
            # No internet here: the recipient domains' lookups are the DNS tests' own, with
            # their dnsmasq (tests/support/dnsmasq.py, DNS_NAMESERVERS).
            "RECIPIENT_DNS_CHECK": False, "SENDER_DOMAIN_CHECKS": False,
        }
        values.update(overrides)
        return Settings(**values)


def reset_database(url: str) -> None:
    engine = sqlalchemy.create_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql("TRUNCATE emails, batches, senders, users, import_rows CASCADE")
    engine.dispose()


def prepare(settings: Settings) -> bootstrap.Container:
    """A container on fresh queues and a clean ledger, installed as the process's own."""
    container = bootstrap.Container(settings)
    migrate(container.engine)
    reset_database(settings.DATABASE_URL)
    ensure_queues(container.sqs, settings.SEND_QUEUE_NAME)
    ensure_import_queue(container.sqs, settings.IMPORT_QUEUE_NAME)
    ensure_bucket(container.s3, settings.import_bucket, settings.AWS_REGION, ["*"])
    bootstrap.reset(container)
    return container


@contextlib.contextmanager
def serving_api() -> Iterator[str]:
    """functions/app.py through the local API server on a free loopback port, with no pump
    or pollers, on the container installed last (prepare()); yields its URL."""
    server = make_server(load_app().app, "127.0.0.1", 0)
    serve_in_thread(server)
    try:
        yield server.url
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Pipeline:
    """API server, pump and sender pollers in threads, calling functions/app.py's handlers."""

    container: bootstrap.Container
    pollers: int = 2
    pump_interval: float = 0.25
    stop: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)
    url: str = ""

    def start(self) -> Pipeline:
        module = load_app()
        self._server = make_server(module.app, "127.0.0.1", 0)
        self.url = self._server.url
        self.threads.append(serve_in_thread(self._server))
        self.start_workers()
        self.start_pump()
        self.start_imports()
        return self

    def start_imports(self) -> None:
        """The import function's poller (Big lists), as `emailsched imports`."""
        module = load_app()
        queue = SqsQueue(self.container.sqs, self.container.settings.IMPORT_QUEUE_NAME)
        arn = queue.arn()
        self.threads += run_pollers(
            lambda: QueuePoller(queue, module.run_import, queue_arn=arn, batch_size=1,
                                region=self.container.settings.AWS_REGION, wait_seconds=1),
            1, self.stop)

    def start_pump(self) -> None:
        module = load_app()
        thread = threading.Thread(target=run_pump, args=(
            module.pump, self.pump_interval, self.stop, self.container.settings.AWS_REGION),
            daemon=True, name="pump")
        thread.start()
        self.threads.append(thread)

    def start_workers(self) -> None:
        module = load_app()
        queue, arn = self.container.queue, self.container.queue.arn()
        self.threads += run_pollers(
            lambda: QueuePoller(queue, module.send_emails, queue_arn=arn,
                                region=self.container.settings.AWS_REGION, wait_seconds=1),
            self.pollers, self.stop)

    def close(self) -> None:
        self.stop.set()
        self._server.shutdown()
        self._server.server_close()
        for thread in self.threads:
            thread.join(timeout=10)


class Api:
    """A signed-in HTTP client."""

    def __init__(self, base_url: str, email: str = "alice@example.com"):
        self.base_url = base_url
        self.session = requests.Session()
        answer = self.session.post(f"{base_url}/auth/dev-login", json={"email": email})
        answer.raise_for_status()
        self.user = answer.json()["user"]
        self.session.headers["Authorization"] = f"Bearer {answer.json()['token']}"

    def get(self, path: str, **params: Any) -> requests.Response:
        return self.session.get(f"{self.base_url}{path}", params=params, timeout=30)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> requests.Response:
        return self.session.post(f"{self.base_url}{path}", json=body, timeout=60, **kwargs)


def wait_until(condition: Callable[[], Any], timeout: float, every: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout} s: {condition}")
        time.sleep(every)


@contextlib.contextmanager
def running(pipeline: Pipeline) -> Iterator[Pipeline]:
    pipeline.start()
    try:
        yield pipeline
    finally:
        pipeline.close()
