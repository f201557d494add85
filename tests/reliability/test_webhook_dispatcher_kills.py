"""Scenario 12: the webhook dispatcher (`emailsched webhooks`, its own process) is SIGKILLed
five times while 1,000 events flow into the outbox towards a receiver that fails 20 % of
attempts. Every event must reach the receiver with a 2xx (none lost), each attempt signed
(verified with the Standard Webhooks library); a duplicate may only be an event whose 2xx
was cut before the killed dispatcher recorded it (answers are recorded every 50 ms,
DispatchConfig.record_seconds), so duplicates are counted, printed and bounded by what
one endpoint can be sent in that time per kill.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy

from emailsched.domain.records import User
from tests.support.stack import Services, prepare, wait_until
from tests.support.webhook_receiver import Receiver

pytestmark = pytest.mark.reliability

EVENTS, KILLS, FAILING = 1000, 5, 0.2
UNRECORDED_AT_MOST = 50  # answers within record_seconds on loopback, generously


def _dispatcher(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "emailsched.cli", "webhooks",
                                 "--interval", "0.1"], env=env, stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def _delivered_in_outbox(database_url: str) -> int:
    engine = sqlalchemy.create_engine(database_url)
    try:
        with engine.connect() as c:
            return int(c.execute(sqlalchemy.text(
                "SELECT count(*) FROM webhook_messages WHERE state = 'delivered'")).scalar())
    finally:
        engine.dispose()


@pytest.mark.scenario("12. the webhook dispatcher SIGKILLed while 1,000 events flow")
def test_a_killed_dispatcher_loses_no_event(services: Services, figures, tmp_path: Path):
    chance = random.Random(28)
    receiver = Receiver(answer=lambda webhook_id, attempt:
                        500 if chance.random() < FAILING else 204).start()
    settings = services.settings(WEBHOOK_ALLOWED_HOSTS="127.0.0.1",
                                 WEBHOOK_RETRY_SECONDS="1,1,1,1,1,1,1,1,1,1")
    container = prepare(settings)
    processes: list[subprocess.Popen[bytes]] = []
    try:
        user: User = container.auth.dev_login("hooks@example.com", "Hooks").user
        endpoint, receiver.secret = container.webhooks.create(
            user.id, receiver.url, ["webhook.test"], "reliability")
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path),
               **{name: str(value) for name, value in settings.model_dump().items()
                  if value is not None and isinstance(value, str | int | float | bool)}}
        log = tmp_path / "webhooks.log"
        processes.append(_dispatcher(env, log))
        sent: list[str] = []
        next_kill, kills = time.monotonic() + 1.5, 0
        while len(sent) < EVENTS or kills < KILLS:
            for _ in range(min(25, EVENTS - len(sent))):
                sent.append(container.webhooks.test(user.id, endpoint.id))
            if time.monotonic() >= next_kill and kills < KILLS:
                processes[-1].send_signal(signal.SIGKILL)
                processes[-1].wait(10)
                kills += 1
                processes.append(_dispatcher(env, log))
                next_kill = time.monotonic() + 1.5
            time.sleep(0.1)

        wait_until(lambda: receiver.delivered_ids() >= set(sent), timeout=180, every=0.5)
        wait_until(lambda: _delivered_in_outbox(settings.DATABASE_URL) == EVENTS, timeout=60)
        ok = Counter(r.webhook_id for r in receiver.received if 200 <= r.status < 300)
        duplicates = sum(count - 1 for count in ok.values())
        failed = sum(1 for r in receiver.received if r.status >= 300)
        print(f"\nwebhooks: {EVENTS} events, {KILLS} dispatcher kills, "
              f"{len(receiver.received)} attempts, {failed} answered 500, "
              f"{len(ok)} delivered, {duplicates} duplicate deliveries")
        figures.record({"events": EVENTS, "kills": kills, "attempts": len(receiver.received),
                        "failed_attempts": failed, "delivered": len(ok),
                        "duplicates": duplicates})
        assert set(ok) == set(sent), "an event was lost"
        assert all(r.verified for r in receiver.received), "an attempt did not verify"
        assert duplicates <= KILLS * UNRECORDED_AT_MOST
        assert failed > 0
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(10)
        receiver.close()
        container.close()
