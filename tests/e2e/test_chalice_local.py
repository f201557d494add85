"""`chalice local` as a Chalice user runs it, from the repository: the committed
functions/.chalice/config.json has a `local` stage, settings come from the environment, and
`emailsched worker` (plus `emailsched pump --once`) does what `chalice local` cannot: run the
SQS and scheduled handlers."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests

from tests.support.smtp_sinks import RecordingSink
from tests.support.stack import SECRET, Api, Services, wait_until

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]
CHALICE = Path(sys.executable).parent / "chalice"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_committed_config_has_a_local_stage_without_secrets():
    path = REPO / "functions" / ".chalice" / "config.json"
    ignored = subprocess.run(["git", "check-ignore", "-q", str(path)], cwd=REPO)
    assert ignored.returncode == 1, "functions/.chalice/config.json must not be git-ignored"
    config = json.loads(path.read_text())
    assert config["app_name"] == "emailsched"
    # Chalice lets a stage's variables override the environment: the local stage sets none.
    assert config["stages"]["local"].get("environment_variables", {}) == {}


@pytest.fixture
def env(services: Services, sink: RecordingSink) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "SMTP_"))}
    return {**base, "DATABASE_URL": services.database_url, "REDIS_URL": services.redis_url,
            "REDIS_KEY_PREFIX": f"chalice-local-{uuid.uuid4().hex[:8]}:",
            "AWS_ENDPOINT_URL": services.aws_endpoint_url,
            "SEND_QUEUE_NAME": f"chalice-local-{uuid.uuid4().hex[:8]}",
            "AUTH_MODE": "dev", "SESSION_SECRET": SECRET, "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(sink.port), "MIN_DELAY_BETWEEN_EMAILS_MS": "0",
            "LOG_LEVEL": "WARNING", "RELAY_SENDER_DOMAINS": "*", "RECIPIENT_DNS_CHECK": "false",
            "SENDER_DOMAIN_CHECKS": "false"}


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in started:
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_chalice_local_serves_the_api_and_a_worker_sends_what_it_scheduled(
        env: dict[str, str], sink: RecordingSink, processes: list[subprocess.Popen[bytes]],
        tmp_path: Path):
    cli = [sys.executable, "-m", "emailsched.cli"]
    subprocess.run([*cli, "setup"], cwd=REPO, env=env, check=True, capture_output=True)
    port = _free_port()
    log = (tmp_path / "chalice.log").open("wb")
    processes.append(subprocess.Popen(
        [str(CHALICE), "local", "--port", str(port), "--stage", "local", "--no-autoreload"],
        cwd=REPO / "functions", env=env, stdout=log, stderr=subprocess.STDOUT))
    url = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        assert processes[0].poll() is None, (tmp_path / "chalice.log").read_text()[-3000:]
        try:
            return requests.get(f"{url}/auth/config", timeout=2).ok
        except requests.ConnectionError:
            return False

    wait_until(answers, 60, 0.2)
    assert requests.get(f"{url}/auth/config", timeout=5).json()["authMode"] == "dev"
    api = Api(url, "chalice@example.com")
    answer = api.post("/emails/schedule", {
        "subject": "From chalice local", "body": "<p>Hi</p>",
        "recipients": ["x@example.com", "y@example.com"],
        "startTime": datetime.now(UTC).isoformat(), "delayMs": 0, "hourlyLimit": 100,
        "sender": {"email": "me@example.com", "name": "Me"}})
    assert answer.status_code == 201, answer.text

    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    processes.append(subprocess.Popen([*cli, "worker"], cwd=REPO, env=env, **quiet))
    subprocess.run([*cli, "pump", "--once"], cwd=REPO, env=env, check=True, timeout=60,
                   capture_output=True)
    messages = sink.wait_for(2, timeout=30)
    assert sorted(m.to[0] for m in messages) == ["x@example.com", "y@example.com"]
    sent = wait_until(lambda: [e for e in api.get("/emails/sent").json()["emails"]
                               if e["status"] == "sent"] or None, 10)
    assert len(sent) == 2
