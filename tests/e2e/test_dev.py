"""`emailsched dev` as a user runs it: nothing configured, one command, real services."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psutil
import pytest
import requests

from tests.support.stack import Api, Services, create_database, wait_until

pytestmark = pytest.mark.e2e
CONFIGURED = ("DATABASE_URL", "REDIS_URL", "AWS_ENDPOINT_URL", "SMTP_HOST", "SMTP_PORT",
              "SESSION_SECRET", "AUTH_MODE", "REDIS_KEY_PREFIX")


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Dev:
    """One `emailsched dev` process and what it printed."""

    folder: Path
    env: dict[str, str]
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[str] | None = None
    output: list[str] = field(default_factory=list)

    def start(self, timeout: float = 30) -> float:
        started = time.monotonic()
        self.output = []
        self.process = subprocess.Popen(
            [sys.executable, "-m", "emailsched.cli", "dev", "--port", str(self.port),
             "--data-dir", str(self.folder / ".emailsched")],
            cwd=self.folder, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True)
        import threading

        threading.Thread(target=self._read, daemon=True).start()
        wait_until(lambda: "emailsched is running" in "\n".join(self.output), timeout, 0.2)
        return time.monotonic() - started

    def _read(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line.rstrip())

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def inbox(self) -> str:
        found = re.search(r"SMTP inbox\s+(http://\S+?)/?\s", "\n".join(self.output) + " ")
        assert found, "\n".join(self.output[-30:])
        return found.group(1)

    def processes(self) -> list[psutil.Process]:
        """The dev process, its children, and the embedded servers running on its folder."""
        assert self.process is not None
        found = {self.process.pid: psutil.Process(self.process.pid)}
        found.update({p.pid: p for p in found[self.process.pid].children(recursive=True)})
        for process in psutil.process_iter(["cmdline"]):
            if str(self.folder) in " ".join(process.info["cmdline"] or []):
                found[process.pid] = process
        return list(found.values())

    def recorded(self) -> list[psutil.Process]:
        """The processes the data folder names: the dev record, the pidfiles, and Postgres'
        postmaster (daemonized by pg_ctl, so no one's child) with its backends."""
        data = self.folder / ".emailsched"
        pids = {int(json.loads(line)["pid"])
                for line in (data / "processes.json").read_text().splitlines()}
        for pidfile in (data / "redis" / "redis.pid", data / "moto" / "moto.pid",
                        data / "postgres" / "postmaster.pid"):
            pids.add(int(pidfile.read_text().split()[0]))
        found = {}
        for pid in pids:
            with contextlib.suppress(psutil.NoSuchProcess):
                process = psutil.Process(pid)
                found[pid] = process
                found.update({p.pid: p for p in process.children(recursive=True)})
        return list(found.values())

    def stop(self) -> list[psutil.Process]:
        assert self.process is not None
        before = self.processes()
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=20)
        return [p for p in before if _alive(p)]

    def kill(self) -> list[psutil.Process]:
        """SIGKILL `emailsched dev` alone; what it started and still runs 15 s later."""
        assert self.process is not None
        before = {p.pid: p for p in [*self.processes(), *self.recorded()]}
        assert len(before) >= 8, before  # dev, watchdog, api, 2 workers, pump, 3 servers
        self.process.kill()
        self.process.wait(timeout=10)
        deadline = time.monotonic() + 15
        while (left := [p for p in before.values() if _running(p)]) \
                and time.monotonic() < deadline:
            time.sleep(0.2)
        return left


def _running(process: psutil.Process) -> bool:
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _alive(process: psutil.Process) -> bool:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            if process.status() == psutil.STATUS_ZOMBIE:
                return False
        except psutil.NoSuchProcess:
            return False
        time.sleep(0.1)
    return True


@pytest.fixture
def dev_folder() -> Iterator[Path]:
    # Not under pytest's tmp folders (0700): embedded Postgres runs as its own user.
    folder = Path(tempfile.mkdtemp(prefix="emailsched-dev-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in CONFIGURED}
    return {**env, "LOG_LEVEL": "WARNING", **extra}


def schedule(api: Api, recipients: list[str], start: datetime, delay_ms: int) -> Any:
    answer = api.post("/emails/schedule", {
        "subject": "Hello from dev", "body": "<p>Hi!</p>", "recipients": recipients,
        "startTime": start.isoformat(), "delayMs": delay_ms, "hourlyLimit": 1000,
        "sender": {"email": "me@example.com", "name": "Me"}})
    assert answer.status_code == 201, answer.text
    return answer.json()


def inbox_messages(dev: Dev) -> list[dict[str, Any]]:
    return list(requests.get(f"{dev.inbox}/messages.json", timeout=5).json())


def test_one_command_runs_everything_and_sends(dev_folder: Path):
    dev = Dev(dev_folder, clean_env())
    took = dev.start(timeout=30)
    try:
        api = Api(dev.url, "first@example.com")
        schedule(api, ["a@example.com", "b@example.com", "c@example.com"],
                 datetime.now(UTC), 0)
        arrived = wait_until(lambda: len(inbox_messages(dev)) == 3 and inbox_messages(dev), 20)
        assert sorted(m["to"][0] for m in arrived) == ["a@example.com", "b@example.com",
                                                       "c@example.com"]
        sent = wait_until(lambda: len(api.get("/emails/sent").json()["emails"]) == 3, 10)
        assert sent
        assert requests.get(f"{dev.url}/auth/config", timeout=5).json()["authMode"] == "dev"
        assert_a_second_dev_says_one_is_running(dev_folder)
    finally:
        left = dev.stop()
    assert left == [], f"still running after stop: {left}"
    print(f"cold start to a working API: {took:.1f} s")


def test_a_restart_resumes_with_every_email_sent_once_at_its_time(dev_folder: Path):
    # No minimum gap: the backlog due during the outage must not push the rest late.
    dev = Dev(dev_folder, clean_env(MIN_DELAY_BETWEEN_EMAILS_MS="0"))
    dev.start(timeout=30)
    start = datetime.now(UTC) + timedelta(seconds=6)
    recipients = [f"later{i:02d}@example.com" for i in range(20)]
    try:
        api = Api(dev.url)
        schedule(api, recipients, start, 600)
        due = {e["recipientEmail"]: datetime.fromisoformat(e["scheduledTime"]).timestamp()
               for e in api.get("/emails/scheduled", limit=100).json()["emails"]}
        time.sleep(2)  # let the pump put them on the (soon gone) queue
    finally:
        left = dev.stop()
    assert left == []
    took = dev.start(timeout=30)
    ready_at = time.time()
    try:
        wait_until(lambda: len(inbox_messages(dev)) >= 20, 40)
        time.sleep(1.5)
        arrived = inbox_messages(dev)
    finally:
        assert dev.stop() == []
    assert len(arrived) == 20 and len({m["messageId"] for m in arrived}) == 20
    for message in arrived:
        planned = due[message["to"][0]]
        received = datetime.fromisoformat(message["receivedAt"]).timestamp()
        assert received >= planned - 0.05
        if planned > ready_at + 1:  # due after the restart: on time
            assert received - planned < 1.5
        else:  # due during the outage: as soon as it ended
            assert received - ready_at < 3
    print(f"warm start to a working API: {took:.1f} s")


def test_a_killed_dev_leaves_nothing_running_and_starts_again_on_the_same_folder(
        dev_folder: Path):
    dev = Dev(dev_folder, clean_env())
    dev.start(timeout=30)
    left = dev.kill()
    assert left == [], f"still running after kill -9: {left}"
    dev.port = free_port()  # as a user would, on another port
    took = dev.start(timeout=30)
    try:
        api = Api(dev.url, "again@example.com")
        schedule(api, ["after-kill@example.com"], datetime.now(UTC), 0)
        assert wait_until(lambda: inbox_messages(dev), 20)
    finally:
        assert dev.stop() == []
    assert not (dev_folder / ".emailsched" / "processes.json").exists()
    print(f"start after kill -9: {took:.1f} s")


def test_a_port_held_by_another_program_is_one_line_at_start(dev_folder: Path):
    import socket

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "emailsched.cli", "dev", "--port", str(port),
             "--data-dir", str(dev_folder / ".emailsched")],
            cwd=dev_folder, env=clean_env(), capture_output=True, text=True, timeout=30)
        took = time.monotonic() - started
    assert done.returncode != 0
    assert done.stderr.strip().splitlines() == [
        f"emailsched dev: port {port} is in use by another program; choose another with "
        "--port"], done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert took < 10
    assert not (dev_folder / ".emailsched" / "postgres").exists()  # nothing was started


def test_configured_services_are_used_instead_of_embedded_ones(dev_folder: Path,
                                                               services: Services):
    from tests.support.stack import MACHINE_POSTGRES

    database, drop = create_database(os.environ.get("EMAILSCHED_TEST_POSTGRES",
                                                    MACHINE_POSTGRES))
    try:
        dev = Dev(dev_folder, clean_env(DATABASE_URL=database, REDIS_URL=services.redis_url,
                                        REDIS_KEY_PREFIX="emailsched-e2e:"))
        dev.start(timeout=30)
        try:
            banner = "\n".join(dev.output)
            assert "postgres" not in banner.split("emailsched is running")[1].split("Sign")[0]
            assert not (dev_folder / ".emailsched" / "postgres").exists()
            assert not (dev_folder / ".emailsched" / "redis").exists()
            api = Api(dev.url)
            schedule(api, ["x@example.com"], datetime.now(UTC), 0)
            assert wait_until(lambda: inbox_messages(dev), 20)
        finally:
            assert dev.stop() == []
    finally:
        drop()


def assert_a_second_dev_says_one_is_running(dev_folder: Path) -> None:
    second = subprocess.run(
        [sys.executable, "-m", "emailsched.cli", "dev", "--port", str(free_port()),
         "--data-dir", str(dev_folder / ".emailsched")],
        cwd=dev_folder, env=clean_env(), capture_output=True, text=True, timeout=30)
    assert second.returncode == 1
    assert "is running" in second.stderr
