"""`emailsched dev`: the whole product on one machine.

Starts what is not configured (Postgres, Redis, moto's SQS, an SMTP capture inbox) with its
data under the data folder, applies migrations, creates the queues, then runs the API,
the sender workers and the pump as child processes whose lines it prints with a prefix.
Ctrl-C or SIGTERM stops everything. Started again on the same folder, it resumes: the
ledger is in the embedded Postgres, and emails whose queue messages died with the old
moto server are handed back to the pump at once.
"""

from __future__ import annotations

import fcntl
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from contextlib import ExitStack
from pathlib import Path
from typing import IO

from emailsched.local.process_group import ChildProcess

DEV_DEFAULTS = {
    "AUTH_MODE": "dev",
    # moto's SQS slows down as its queue deepens: keep it shallow locally.
    "PUMP_MAX_IN_FLIGHT": "300",
    "PUMP_LOST_AFTER_SECONDS": "30",
    "AWS_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "dev",
    "AWS_SECRET_ACCESS_KEY": "dev",
}
PUMP_INTERVAL_SECONDS = 1.0


class AlreadyRunning(Exception):
    pass


def run_dev(port: int, workers: int, data_dir: str) -> int:
    folder = Path(data_dir).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    try:
        lock = _lock(folder)
    except AlreadyRunning as error:
        print(f"emailsched dev: {error}", file=sys.stderr)
        return 1
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    with lock, ExitStack() as services:
        started = time.monotonic()
        env, urls = _services(folder, services)
        _prepare(env)
        children = _start_children(env, port, workers)
        services.callback(_stop_children, children)
        _wait_for_api(port, children, stop)
        _print_banner(port, urls, time.monotonic() - started)
        while not stop.is_set():
            if any(child.exited() for child in children):
                print("emailsched dev: a component stopped; shutting down", file=sys.stderr)
                break
            stop.wait(0.5)
        print("\nemailsched dev: stopping...", flush=True)
    return 0


def _lock(folder: Path) -> IO[str]:
    handle = (folder / "dev.lock").open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        pid = handle.read().strip() or "?"
        raise AlreadyRunning(f"another `emailsched dev` (pid {pid}) is running on "
                             f"{folder}; stop it first or pass --data-dir") from None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    return handle


def _services(folder: Path, stack: ExitStack) -> tuple[dict[str, str], dict[str, str]]:
    """The environment the components run with, starting an embedded service for each
    of DATABASE_URL, REDIS_URL, AWS_ENDPOINT_URL, SMTP_HOST that is not set."""
    from emailsched.local.embedded import start_moto, start_postgres, start_redis
    from emailsched.local.inbox import CaptureInbox

    env = {**DEV_DEFAULTS, **_dotenv(), **os.environ}
    urls: dict[str, str] = {}
    if not env.get("DATABASE_URL"):
        postgres = start_postgres(folder)
        stack.callback(postgres.stop)
        env["DATABASE_URL"] = postgres.url
        urls["postgres"] = f"embedded, data in {folder / 'postgres'}"
    if not env.get("REDIS_URL"):
        redis_server = start_redis(folder)
        stack.callback(redis_server.stop)
        env["REDIS_URL"] = redis_server.url
        urls["redis"] = f"embedded, data in {folder / 'redis'}"
    if not env.get("AWS_ENDPOINT_URL"):
        moto = start_moto(None, folder / "moto")
        stack.callback(moto.stop)
        env["AWS_ENDPOINT_URL"] = moto.url
        urls["sqs"] = f"moto server at {moto.url}"
    if not env.get("SMTP_HOST"):
        inbox = CaptureInbox(folder / "inbox").start()
        stack.callback(inbox.stop)
        env["SMTP_HOST"], env["SMTP_PORT"] = inbox.smtp_host, str(inbox.smtp_port)
        urls["inbox"] = inbox.http_url
    env.setdefault("SESSION_SECRET", _session_secret(folder))
    return env, urls


def _dotenv() -> dict[str, str]:
    path = Path(".env")
    if not path.exists():
        return {}
    pairs = (line.split("=", 1) for line in path.read_text().splitlines()
             if "=" in line and not line.lstrip().startswith("#"))
    return {k.strip(): v.strip().strip('"') for k, v in pairs}


def _session_secret(folder: Path) -> str:
    path = folder / "session_secret"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def _prepare(env: dict[str, str]) -> None:
    """Migrations and queues, then hand back what the previous run left in flight: no
    worker runs yet (we hold the lock), so nothing queued or sending can be in progress."""
    subprocess.run([sys.executable, "-m", "emailsched.cli", "setup"], env=env, check=True)
    from sqlalchemy import create_engine, text

    engine = create_engine(env["DATABASE_URL"])
    with engine.begin() as connection:
        connection.execute(text(
            "UPDATE emails SET status = 'scheduled', claim_token = NULL, "
            "wake_at = GREATEST(due_at, now()) WHERE status IN ('queued', 'sending')"))
    engine.dispose()


def _start_children(env: dict[str, str], port: int, workers: int) -> list[ChildProcess]:
    cli = [sys.executable, "-m", "emailsched.cli"]
    children = [ChildProcess("api", [*cli, "api", "--port", str(port)], env)]
    children += [ChildProcess(f"worker{n + 1}", [*cli, "worker", "--concurrency", "2"], env)
                 for n in range(workers)]
    children.append(ChildProcess("pump", [*cli, "pump", "--interval",
                                          str(PUMP_INTERVAL_SECONDS)], env))
    return children


def _stop_children(children: list[ChildProcess]) -> None:
    for child in children:
        child.terminate()
    for child in children:
        child.wait_or_kill(timeout=5)


def _wait_for_api(port: int, children: list[ChildProcess], stop: threading.Event) -> None:
    import urllib.request

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not stop.is_set():
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/auth/config", timeout=1):
                return
        except OSError:
            if children[0].exited():
                return
            time.sleep(0.1)


def _print_banner(port: int, urls: dict[str, str], seconds: float) -> None:
    base = f"http://127.0.0.1:{port}"
    lines = [
        "",
        f"  emailsched is running (ready in {seconds:.1f} s)",
        f"    dashboard + API  {base}/",
        f"    OpenAPI          {base}/openapi.json",
    ]
    if "inbox" in urls:
        lines.append(f"    SMTP inbox       {urls['inbox']}/  (messages.json for scripts)")
    lines += [f"    {name:<16} {where}" for name, where in urls.items() if name != "inbox"]
    lines += ["", "  Sign in with any email address (dev login). Ctrl-C stops everything.", ""]
    print("\n".join(lines), flush=True)

