"""`emailsched dev --aws localstack`: LocalStack in host mode instead of moto, in a
virtualenv built once per machine; and what it says when that virtualenv cannot be built."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psutil
import pytest
import requests

from emailsched.local.localstack import (
    VENV_SETTING,
    LocalStackError,
    ensure_venv,
    shared_venv_dir,
    start_localstack,
)
from tests.support.stack import Api, wait_until

pytestmark = pytest.mark.e2e
CONFIGURED = ("DATABASE_URL", "REDIS_URL", "AWS_ENDPOINT_URL", "SMTP_HOST", "SMTP_PORT",
              "SESSION_SECRET", "AUTH_MODE", "REDIS_KEY_PREFIX")


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def dev_folder() -> Iterator[Path]:
    # Not under pytest's tmp folders (0700): embedded Postgres runs as its own user.
    folder = Path(tempfile.mkdtemp(prefix="emailsched-dev-ls-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in CONFIGURED}
    # The machine's shared virtualenv: built once (the session's LocalStack fixture or the
    # first test here), not once per fresh data folder.
    return {**env, "LOG_LEVEL": "WARNING", VENV_SETTING: str(shared_venv_dir()), **extra}


class Dev:
    def __init__(self, folder: Path, env: dict[str, str]):
        self.folder, self.env, self.port = folder, env, _free_port()
        self.output: list[str] = []
        self.process = subprocess.Popen(
            [sys.executable, "-m", "emailsched.cli", "dev", "--aws", "localstack", "--port",
             str(self.port), "--data-dir", str(folder / ".emailsched")],
            cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line.rstrip())

    @property
    def text(self) -> str:
        return "\n".join(self.output)

    def line(self, fragment: str) -> str:
        return next(line for line in self.output if fragment in line)


def test_dev_on_localstack_sends_a_batch_and_sigterm_stops_localstack_too(dev_folder: Path):
    ensure_venv(shared_venv_dir())  # a first build here is not part of the start's time
    started = time.monotonic()
    dev = Dev(dev_folder, _env())
    try:
        wait_until(lambda: "emailsched is running" in dev.text or dev.process.poll() is not None,
                   120, 0.2)
        assert "emailsched is running" in dev.text, dev.text[-3000:]
        took = time.monotonic() - started
        assert "LocalStack" in dev.line("    sqs "), dev.text
        pid = int((dev_folder / ".emailsched" / "localstack" / "localstack.pid").read_text())
        localstack = psutil.Process(pid)
        assert "localstack.runtime.main" in " ".join(localstack.cmdline())
        inbox = dev.line("SMTP inbox").split()[2].rstrip("/")
        api = Api(f"http://127.0.0.1:{dev.port}", "ls@example.com")
        answer = api.post("/emails/schedule", {
            "subject": "Hello from LocalStack", "body": "<p>Hi!</p>",
            "recipients": ["a@example.com", "b@example.com", "c@example.com"],
            "startTime": datetime.now(UTC).isoformat(), "delayMs": 0, "hourlyLimit": 1000,
            "sender": {"email": "me@example.com", "name": "Me"}})
        assert answer.status_code == 201, answer.text

        def arrived() -> list[str]:
            messages = requests.get(f"{inbox}/messages.json", timeout=5).json()
            return sorted(m["to"][0] for m in messages) if len(messages) >= 3 else []

        assert wait_until(arrived, 30) == ["a@example.com", "b@example.com", "c@example.com"]
        before = [localstack, *psutil.Process(dev.process.pid).children(recursive=True)]
    finally:
        dev.process.send_signal(signal.SIGTERM)
        dev.process.wait(timeout=40)
    deadline = time.monotonic() + 10
    while (left := [p for p in before if _running(p)]) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert left == [], f"still running after SIGTERM: {left}"
    print(f"emailsched dev --aws localstack ready in {took:.1f} s")


def _running(process: psutil.Process) -> bool:
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_the_virtualenv_is_built_once_and_a_second_start_takes_seconds(tmp_path: Path):
    venv = shared_venv_dir()
    ensure_venv(venv)
    marker = (venv / "emailsched-pins.json").stat().st_mtime
    began = time.monotonic()
    assert ensure_venv(venv) == venv / "bin" / "python"
    assert time.monotonic() - began < 1
    began = time.monotonic()
    server = start_localstack(None, tmp_path / "second")
    try:
        took = time.monotonic() - began
        assert requests.get(f"{server.url}/_localstack/health", timeout=5).ok
    finally:
        server.stop()
    assert (venv / "emailsched-pins.json").stat().st_mtime == marker  # not rebuilt
    assert took < 30, f"a start on the built virtualenv took {took:.1f} s"


def test_a_bogus_pin_fails_with_one_line_naming_it(tmp_path: Path):
    with pytest.raises(LocalStackError) as failure:
        ensure_venv(tmp_path / "venv", pins=("localstack-core==0.0.0.post999",), quiet=True)
    message = str(failure.value)
    assert "\n" not in message
    assert "pip install localstack-core==0.0.0.post999 failed" in message, message
    assert str(tmp_path / "venv") in message and "build.log" in message


def test_dev_with_an_unreachable_python_says_what_failed_and_leaves_nothing(dev_folder: Path):
    bogus = dev_folder / "no-such-python"
    venv = dev_folder / "ls-venv"
    dev = Dev(dev_folder, _env(**{VENV_SETTING: str(venv),
                                  "EMAILSCHED_LOCALSTACK_PYTHON": str(bogus)}))
    assert dev.process.wait(timeout=60) == 1
    time.sleep(0.3)  # the reader thread catches up
    line = dev.line("could not build LocalStack's virtualenv")
    assert f"creating it with {bogus} failed" in line, dev.text
    assert str(venv) in line
    assert not (venv / "emailsched-pins.json").exists()
