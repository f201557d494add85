"""The whole product as processes on one machine: embedded services where none are
configured, then the API, sender workers and the pump as child processes.

`emailsched dev` runs one; the benchmarks and the reliability suite run others, and kill,
restart or starve their parts.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from emailsched.local.process_group import ChildProcess

LOCAL_DEFAULTS = {
    "AUTH_MODE": "dev",
    # The relay is the capture inbox: any From address may go through it (SPEC.md).
    "RELAY_SENDER_DOMAINS": "*",
    # Recipient domains are not looked up locally (issue 29): every email goes to the
    # capture inbox anyway, and a machine offline would wait on DNS timeouts. Set it to
    # true in .env to try the check (example names are never looked up, see
    # services/recipient_checks.py).
    "RECIPIENT_DNS_CHECK": "false",
    "SENDER_DOMAIN_CHECKS": "false",
    # moto's SQS slows down as its queue deepens: keep it shallow locally (at most 20
    # messages of 50 emails, plus whatever is due a few at a time).
    "PUMP_MAX_IN_FLIGHT": "1000",
    "PUMP_LOST_AFTER_SECONDS": "30",
    "AWS_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "dev",
    "AWS_SECRET_ACCESS_KEY": "dev",
}


def fresh_metrics_dir(path: Path) -> Path:
    """prometheus-client's multiprocess folder, emptied: every child (api, workers, pump)
    writes its counters there and the API's GET /metrics sums them. Files of an earlier
    run would add to this one's."""
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):
        stale.unlink()
    return path


class Cluster:
    def __init__(self, folder: Path, *, port: int = 8000, env: dict[str, str] | None = None,
                 quiet: bool = False, aws: str = "moto"):
        self.folder = folder.resolve()
        self.aws = aws  # the emulator started when AWS_ENDPOINT_URL is unset: moto, localstack
        self.port = port
        self.quiet = quiet
        self.env: dict[str, str] = {**LOCAL_DEFAULTS, **(env or {})}
        self.urls: dict[str, str] = {}
        self.children: list[ChildProcess] = []
        self.inbox: Any = None
        self._services = ExitStack()

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start_services(self) -> None:
        """Start an embedded service for each of DATABASE_URL, REDIS_URL, AWS_ENDPOINT_URL
        and SMTP_HOST that is not configured."""
        from emailsched.local.embedded import start_moto, start_postgres, start_redis
        from emailsched.local.inbox import CaptureInbox

        self.folder.mkdir(parents=True, exist_ok=True)
        env = self.env
        if not env.get("PROMETHEUS_MULTIPROC_DIR"):
            env["PROMETHEUS_MULTIPROC_DIR"] = str(fresh_metrics_dir(self.folder / "metrics"))
        if not env.get("DATABASE_URL"):
            postgres = start_postgres(self.folder)
            self._services.callback(postgres.stop)
            env["DATABASE_URL"] = postgres.url
            self.urls["postgres"] = f"embedded, data in {self.folder / 'postgres'}"
        if not env.get("REDIS_URL"):
            redis_server = start_redis(self.folder)
            self._services.callback(redis_server.stop)
            env["REDIS_URL"] = redis_server.url
            self.urls["redis"] = f"embedded, data in {self.folder / 'redis'}"
        if not env.get("AWS_ENDPOINT_URL") and self.aws == "localstack":
            from emailsched.local.localstack import start_localstack, venv_dir_for

            localstack = start_localstack(None, self.folder / "localstack",
                                          venv=venv_dir_for(self.folder, env), env=env)
            self._services.callback(localstack.stop)
            env["AWS_ENDPOINT_URL"] = localstack.url
            self.urls["sqs"] = localstack.describe()
        if not env.get("AWS_ENDPOINT_URL"):
            moto = start_moto(None, self.folder / "moto")
            self._services.callback(moto.stop)
            env["AWS_ENDPOINT_URL"] = moto.url
            self.urls["sqs"] = f"moto server at {moto.url}"
        if not env.get("SMTP_HOST"):
            # Sequences: the inbox's Reply and Bounce write per-sender Maildirs that the dev
            # reply poller reads (DEV_REPLY_MAILDIR), so replies work with no account.
            replies = self.folder / "replies"
            env.setdefault("DEV_REPLY_MAILDIR", str(replies))
            self.inbox = CaptureInbox(self.folder / "inbox",
                                      reply_maildir=Path(env["DEV_REPLY_MAILDIR"])).start()
            self._services.callback(self.inbox.stop)
            env["SMTP_HOST"], env["SMTP_PORT"] = self.inbox.smtp_host, str(self.inbox.smtp_port)
            self.urls["inbox"] = self.inbox.http_url
        # Webhooks to a receiver on this machine (SPEC.md: dev lists 127.0.0.1).
        env.setdefault("WEBHOOK_ALLOWED_HOSTS", "127.0.0.1")
        env.setdefault("SESSION_SECRET", self._session_secret())
        if not env.get("CREDENTIALS_KMS_KEY_ID"):
            env.setdefault("CREDENTIALS_KEY", self._credentials_key())
        # Unsubscribe links point at the API itself (SPEC.md: PUBLIC_URL in dev).
        env.setdefault("PUBLIC_URL", self.api_url)

    def prepare(self) -> None:
        """Migrations and queues, then hand back what a previous run left in flight. Only
        safe while no worker runs: nothing queued or sending can be in progress."""
        subprocess.run([sys.executable, "-m", "emailsched.cli", "setup"], env=self._child_env(),
                       check=True, stdout=subprocess.DEVNULL if self.quiet else None)
        from sqlalchemy import create_engine

        from emailsched.adapters.db.ledger import Ledger

        engine = create_engine(self.env["DATABASE_URL"])
        Ledger(engine).recover_everything_in_flight()
        engine.dispose()

    def start_api(self) -> ChildProcess:
        return self._start("api", "api: listening", "api", "--port", str(self.port))

    def start_worker(self, concurrency: int = 2) -> ChildProcess:
        number = sum(1 for c in self.children if c.name.startswith("worker")) + 1
        return self._start(f"worker{number}", "worker: polling", "worker", "--concurrency",
                           str(concurrency))

    def start_pump(self, interval: float = 1.0) -> ChildProcess:
        return self._start("pump", "pump: running", "pump", "--interval", str(interval))

    def start_imports(self) -> ChildProcess:
        """The import function's stand-in (`emailsched imports`): Big lists."""
        return self._start("imports", "imports: polling", "imports")

    def start_replies(self, interval: float = 2.0) -> ChildProcess:
        """The reply poller (`emailsched replies`), like the pump: the scheduled function's
        local stand-in."""
        return self._start("replies", "replies: polling", "replies", "--interval",
                           str(interval))

    def start_webhooks(self, interval: float = 0.5) -> ChildProcess:
        """The webhook dispatcher (`emailsched webhooks`): the scheduled function's local
        stand-in."""
        return self._start("webhooks", "webhooks: dispatching", "webhooks", "--interval",
                           str(interval))

    def wait_until_ready(self, timeout: float = 60) -> None:
        """Until every component says it runs (the workers poll, the pump pumps)."""
        deadline = time.monotonic() + timeout
        for child in self.children:
            while not child.ready.wait(0.1):
                if child.exited() or time.monotonic() > deadline:
                    raise TimeoutError(f"{child.name} did not start within {timeout} s")

    def workers(self) -> list[ChildProcess]:
        return [c for c in self.children if c.name.startswith("worker") and not c.exited()]

    def wait_for_api(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.api_url}/auth/config", timeout=1):
                    return
            except OSError:
                if any(c.name == "api" and c.exited() for c in self.children):
                    raise TimeoutError(f"the API stopped before it answered at "
                                       f"{self.api_url}") from None
                time.sleep(0.1)
        raise TimeoutError(f"the API did not answer at {self.api_url} within {timeout} s")

    def kill(self, child: ChildProcess, sig: int = signal.SIGKILL) -> None:
        child.process.send_signal(sig)
        child.wait_or_kill(timeout=10)

    def stop_children(self) -> None:
        for child in self.children:
            child.terminate()
        for child in self.children:
            child.wait_or_kill(timeout=5)
        self.children = []

    def stop(self) -> None:
        self.stop_children()
        self._services.close()

    def _start(self, name: str, ready_when: str, *arguments: str) -> ChildProcess:
        command = [sys.executable, "-m", "emailsched.cli", *arguments]
        child = ChildProcess(name, command, self._child_env(), quiet=self.quiet,
                             ready_when=ready_when)
        self.children.append(child)
        return child

    def _child_env(self) -> dict[str, str]:
        return {**os.environ, **self.env}

    def _credentials_key(self) -> str:
        """The key sender passwords are encrypted under, kept with the data it protects."""
        from emailsched.adapters.credentials import generate_local_key

        path = self.folder / "credentials_key"
        if not path.exists():
            path.write_text(generate_local_key())
            path.chmod(0o600)
        return path.read_text().strip()

    def _session_secret(self) -> str:
        path = self.folder / "session_secret"
        if not path.exists():
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()
