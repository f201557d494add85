"""Issue 19: the metrics of a run add up. 100 emails, 10 of them refused at RCPT with 550:
sent + failed + suppressed = scheduled, in the EMF lines the handlers print (Lambda's
backend) and on GET /metrics (the local runtime's), and prometheus-client's multiprocess
mode sums what separate processes counted."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.support.smtp_sinks import RecordingSink
from tests.support.stack import Api, Pipeline, Services, prepare, wait_until

pytestmark = pytest.mark.integration
SCHEDULED, REFUSED = 100, 10


def recipients() -> list[str]:
    return [f"{'gone' if i < REFUSED else 'person'}{i:03d}@example.com"
            for i in range(SCHEDULED)]


@pytest.fixture
def refusing_sink() -> Iterator[RecordingSink]:
    with RecordingSink(rcpt_script=lambda to: "550 5.1.1 no such user"
                       if to.startswith("gone") else None) as sink:
        yield sink


def run_batch(services: Services, sink: RecordingSink, **overrides: Any) -> Pipeline:
    # The 10 refusals are hard bounces; the batch must not pause itself for them (the
    # bounce rule counts them against the sends so far, which depends on which poller's
    # rounds land first), so the rule is set to pause only a batch all of whose sends bounce.
    container = prepare(services.settings(SMTP_PORT=sink.port, RELAY_SENDER_DOMAINS="*",
                                          BOUNCE_PAUSE_PERCENT=100, **overrides))
    rules = container.scheduling_rules
    if getattr(rules, "relay_domains", "*") != "*":  # while issue 13's wiring lands
        container.__dict__["scheduling_rules"] = dataclasses.replace(rules, relay_domains="*")
    pipeline = Pipeline(container, pollers=2).start()
    api = Api(pipeline.url)
    answer = api.post("/emails/schedule", {
        "subject": "Metrics", "body": "<p>hi</p>", "recipients": recipients(),
        "startTime": datetime.now(UTC).isoformat(), "delayMs": 0, "hourlyLimit": 10_000,
        "sender": {"email": "ops@example.com", "name": "Ops"}})
    assert answer.status_code == 201, answer.text

    def finished() -> bool:
        stats = api.get("/emails/stats").json()
        return bool(stats["sent"] + stats["failed"] == SCHEDULED)

    wait_until(finished, timeout=90, every=0.5)
    return pipeline


def emf_totals(text: str) -> tuple[Counter[str], Counter[tuple[str, str]]]:
    """Sums of the plain metric sets, and of emails_failed by class."""
    plain: Counter[str] = Counter()
    by_class: Counter[tuple[str, str]] = Counter()
    for line in text.splitlines():
        if not line.startswith('{"_aws"'):
            continue
        document = json.loads(line)
        directive = document["_aws"]["CloudWatchMetrics"][0]
        assert directive["Namespace"] == "emailsched"
        for metric in directive["Metrics"]:
            values = document[metric["Name"]]
            total = sum(values) if isinstance(values, list) else values
            if directive["Dimensions"] == [["service"]]:
                plain[metric["Name"]] += total
            else:
                by_class[(metric["Name"], document["class"])] += total
    return plain, by_class


def test_emf_lines_add_up(services: Services, refusing_sink: RecordingSink,
                          capsys: pytest.CaptureFixture[str],
                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "emailsched")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "emailsched-test")
    pipeline = run_batch(services, refusing_sink, METRICS_BACKEND="auto")
    try:
        time.sleep(2)  # the last invocations flush as they end
    finally:
        pipeline.close()
        pipeline.container.close()
    out = capsys.readouterr().out
    plain, by_class = emf_totals(out)
    assert plain["emails_sent"] + plain["emails_failed"] + plain["emails_suppressed"] == SCHEDULED
    assert plain["emails_sent"] == SCHEDULED - REFUSED
    assert plain["emails_failed"] == REFUSED
    assert by_class == {("emails_failed", "hard_bounce"): REFUSED}
    assert plain["pump_claimed"] == SCHEDULED
    assert plain["pump_top_ups"] >= 1
    assert "lateness_ms" in plain and "send_latency_ms" in plain
    assert '"queue_depth"' in out and '"dead_letter_depth"' in out
    assert all('"service":"emailsched-test"' in line for line in out.splitlines()
               if line.startswith('{"_aws"'))


def scrape(url: str) -> dict[str, float]:
    text = requests.get(f"{url}/metrics", timeout=10).text
    values: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            key = sample.name + "".join(f"{{{k}={v}}}" for k, v in sorted(sample.labels.items())
                                        if k != "le")
            if sample.name.endswith("_bucket"):
                continue
            values[key] = values.get(key, 0) + sample.value
    return values


def test_metrics_endpoint_adds_up(services: Services, refusing_sink: RecordingSink) -> None:
    # In-process counters are the process's since it started: compare before and after.
    container = prepare(services.settings(METRICS_BACKEND="prometheus"))
    probe = Pipeline(container, pollers=0)
    probe.start()
    before = scrape(probe.url)
    probe.close()
    pipeline = run_batch(services, refusing_sink, METRICS_BACKEND="prometheus")
    try:
        after = scrape(pipeline.url)
    finally:
        pipeline.close()
        pipeline.container.close()

    def delta(name: str) -> float:
        return after.get(name, 0) - before.get(name, 0)

    sent = delta("emailsched_emails_sent_total")
    failed = sum(delta(f"emailsched_emails_failed_total{{class={c}}}")
                 for c in ("hard_bounce", "policy", "transient_exhausted", "other"))
    suppressed = delta("emailsched_emails_suppressed_total")
    assert sent + failed + suppressed == SCHEDULED
    assert sent == SCHEDULED - REFUSED
    assert delta("emailsched_emails_failed_total{class=hard_bounce}") == REFUSED
    assert delta("emailsched_pump_claimed_total") == SCHEDULED
    assert delta("emailsched_lateness_ms_count") == SCHEDULED - REFUSED
    assert "emailsched_queue_depth" in after


COUNT = """
import sys
from emailsched.adapters.metrics import PrometheusMetrics
m = PrometheusMetrics()
for _ in range(int(sys.argv[1])):
    m.count("emails_sent")
m.count("emails_failed", 1, **{"class": "policy"})
"""
RENDER = """
from emailsched.adapters.metrics import prometheus_text
print(prometheus_text()[0].decode())
"""


def test_multiprocess_mode_sums_every_process(tmp_path: Path) -> None:
    from emailsched.local.cluster import fresh_metrics_dir

    folder = fresh_metrics_dir(tmp_path / "metrics")
    env = {"PROMETHEUS_MULTIPROC_DIR": str(folder), "PATH": "/usr/bin:/bin"}
    for count in (3, 4):
        subprocess.run([sys.executable, "-c", COUNT, str(count)], env=env, check=True)
    text = subprocess.run([sys.executable, "-c", RENDER], env=env, check=True,
                          capture_output=True, text=True).stdout
    assert "emailsched_emails_sent_total 7.0" in text
    assert 'emailsched_emails_failed_total{class="policy"} 2.0' in text


HELD_RECIPIENTS = [f"held{i}@example.com" for i in range(6)]
PASSWORD = "s3cret-Pa55word-nobody-may-see"


def test_held_and_suppressed_are_counted_and_the_totals_still_add_up(
        services: Services) -> None:
    """A sender whose login starts failing holds its emails (emails_held); while held, one
    recipient is suppressed (the claim after the release ends it: emails_suppressed); after
    the sender is verified again the rest are sent: sent + failed + suppressed = scheduled."""
    from tests.support.smtp_sinks import TlsAuthSink

    sink = TlsAuthSink("metrics-box", PASSWORD).start()
    container = prepare(services.settings(METRICS_BACKEND="prometheus", SMTP_TLS_VERIFY=False,
                                          SENDER_FAILURES_BEFORE_HOLD=1))
    pipeline = Pipeline(container, pollers=2).start()
    try:
        before = scrape(pipeline.url)
        api = Api(pipeline.url)
        sender = api.post("/senders", {
            "email": "held@example.com", "name": "Held",
            "smtp": {"host": sink.host, "port": sink.port, "security": "starttls",
                     "username": sink.user, "password": PASSWORD}})
        assert sender.status_code == 201, sender.text
        sender_id = sender.json()["id"]
        sink.password = "changed-on-the-server"  # every login now gets 535: held
        answer = api.post("/emails/schedule", {
            "subject": "Held", "body": "<p>hi</p>", "recipients": HELD_RECIPIENTS,
            "startTime": datetime.now(UTC).isoformat(), "delayMs": 0, "hourlyLimit": 1000,
            "senderIds": [sender_id]})
        assert answer.status_code == 201, answer.text

        def held() -> float:
            return scrape(pipeline.url).get("emailsched_emails_held_total", 0) - before.get(
                "emailsched_emails_held_total", 0)

        wait_until(lambda: held() >= 1, timeout=60, every=0.5)
        assert api.post("/suppressions", {"emails": [HELD_RECIPIENTS[0]]}).status_code in (
            200, 201)
        sink.password = PASSWORD
        verified = api.post(f"/senders/{sender_id}/verify")
        assert verified.status_code == 200, verified.text

        def finished() -> bool:
            stats = api.get("/emails/stats").json()
            return bool(stats["sent"] + stats["failed"] == len(HELD_RECIPIENTS) - 1)

        wait_until(finished, timeout=90, every=0.5)
        time.sleep(0.5)
        after = scrape(pipeline.url)
    finally:
        pipeline.close()
        pipeline.container.close()
        sink.stop()

    def delta(name: str) -> float:
        return after.get(name, 0) - before.get(name, 0)

    sent = delta("emailsched_emails_sent_total")
    failed = sum(delta(f"emailsched_emails_failed_total{{class={c}}}")
                 for c in ("hard_bounce", "policy", "transient_exhausted", "other"))
    suppressed = delta("emailsched_emails_suppressed_total")
    print(f"\nheld {delta('emailsched_emails_held_total'):g}, sent {sent:g}, "
          f"failed {failed:g}, suppressed {suppressed:g}, scheduled {len(HELD_RECIPIENTS)}")
    assert (sent, failed, suppressed) == (len(HELD_RECIPIENTS) - 1, 0, 1)
    assert sent + failed + suppressed == len(HELD_RECIPIENTS)
    assert 1 <= delta("emailsched_emails_held_total") <= len(HELD_RECIPIENTS)
    assert sorted(m.to[0] for m in sink.messages) == HELD_RECIPIENTS[1:]
