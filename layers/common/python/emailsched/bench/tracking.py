"""Tracking hits under load (issue 27): 100 keep-alive clients fetch open pixels and follow
click redirects of stored emails through a real `emailsched api` process, without pause,
for a fixed time. Hits/s and latency are what the clients see; then how long the flusher
took to store every hit after the load ended, and the AWS cost per million hits
(bench/cost.py `hit_cost`) from the API's CPU per hit and the time to store one.

The clients run in this process, beside the API, on the same cores: on a small or shared
machine they cost the API CPU, and the figures are a floor.
"""

from __future__ import annotations

import http.client
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import psutil
import sqlalchemy
from sqlalchemy import text

from emailsched.adapters.db.hits import PgHits
from emailsched.bench.client import batch_body, recipients
from emailsched.bench.cost import hit_cost
from emailsched.bench.environment import BenchEnvironment
from emailsched.bench.product import running_product
from emailsched.bench.report import Section
from emailsched.bench.stats import percentile
from emailsched.domain.batch_tracking import click_url, pixel_url
from emailsched.domain.tracking import click_token, open_token
from emailsched.settings import Settings

CLIENTS = 100
EMAILS = 1_000
TARGET_HITS_PER_SECOND = 2_000
TARGET_P99_MS = 50.0
KEY = "bench-tracking-unsubscribe-key-0123456789"
LINKS = ("https://example.com/a?x=1&y=%20z#f", "https://example.org/b")
BODY = f'<p>Hi, <a href="{LINKS[0].replace("&", "&amp;")}">a</a> <a href="{LINKS[1]}">b</a></p>'
AGENT = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0"


def run_tracking(env: BenchEnvironment, seconds: float, section: Section) -> None:
    with running_product(env, "tracking", UNSUBSCRIBE_KEY=KEY) as product:
        client = product.client("tracking@example.com")
        body = batch_body(recipients(EMAILS), datetime.now(UTC) + timedelta(days=1))
        client.schedule({**body, "body": BODY, "tracking": {"opens": True, "clicks": True}})
        client.close()
        engine = sqlalchemy.create_engine(product.database_url)
        try:
            paths = _paths(engine, product.cluster.env)
            api = psutil.Process(next(c.pid for c in product.cluster.children
                                      if c.name == "api"))
            cpu_before = sum(api.cpu_times()[:2])
            latencies, errors = _load(product.cluster.api_url, paths, seconds)
            api_cpu = sum(api.cpu_times()[:2]) - cpu_before
            drained = _wait_stored(engine, len(latencies))
            store_ms = _store_ms(engine)
        finally:
            engine.dispose()
    _report(section, latencies, errors, seconds, drained, api_cpu, store_ms)


def _paths(engine: sqlalchemy.Engine, env: dict[str, str]) -> list[str]:
    """An open pixel and a click of each stored email, as paths on the API."""
    known: dict[str, Any] = {k: v for k, v in env.items() if k in Settings.model_fields}
    key = Settings.model_validate(known).tracking_key
    with engine.connect() as connection:
        ids = [row[0] for row in connection.execute(text("SELECT id FROM emails"))]
    paths = []
    for n, email_id in enumerate(ids):
        paths.append(urlsplit(pixel_url("", open_token(key, email_id))).path)
        link = LINKS[n % 2]  # one link each: no burst, every click a person's
        paths.append(urlsplit(click_url("", click_token(key, email_id, link))).path)
    return paths


def _load(api_url: str, paths: list[str], seconds: float) -> tuple[list[float], list[str]]:
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(CLIENTS + 1)
    parts = urlsplit(api_url)

    def client(n: int) -> None:
        connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port,
                                                timeout=60)
        mine, wrong = [], []
        headers = {"User-Agent": AGENT, "Accept": "*/*", "Connection": "keep-alive"}
        start.wait()
        deadline, i = time.monotonic() + seconds, n * 7
        while time.monotonic() < deadline:
            path = paths[i % len(paths)]
            i += 1
            began = time.perf_counter()
            connection.request("GET", path, headers=headers)
            answer = connection.getresponse()
            answer.read()
            mine.append((time.perf_counter() - began) * 1000)
            if answer.status not in (200, 302):
                wrong.append(f"{path[:5]}: {answer.status}")
        connection.close()
        with lock:
            latencies.extend(mine)
            errors.extend(wrong)

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    start.wait()
    for thread in threads:
        thread.join(seconds + 120)
    return latencies, errors


def _wait_stored(engine: sqlalchemy.Engine, hits: int, timeout: float = 120) -> float:
    """Seconds after the load until every hit was in email_events."""
    began = time.monotonic()
    count = text("SELECT count(*) FROM email_events WHERE type IN ('opened', 'clicked')")
    while time.monotonic() - began < timeout:
        with engine.connect() as connection:
            if connection.execute(count).scalar_one() >= hits:
                return time.monotonic() - began
        time.sleep(0.2)
    raise TimeoutError(f"not every one of {hits:,} hits was stored within {timeout:g} s")


def _store_ms(engine: sqlalchemy.Engine, rounds: int = 200, batch: int = 1) -> float:
    """The wall time of storing one hit (what the API function does on Lambda)."""
    with engine.connect() as connection:
        ids = [str(row[0]) for row in connection.execute(text("SELECT id FROM emails LIMIT 10"))]
    store = PgHits(engine)
    make: Callable[[int], dict[str, Any]] = lambda n: {  # noqa: E731
        "hit": uuid.uuid4().hex, "emailId": ids[n % len(ids)], "type": "opened",
        "at": datetime.now(UTC).isoformat(),
        "detail": {"url": None, "userAgent": AGENT, "machine": False, "reason": None}}
    began = time.perf_counter()
    for _ in range(rounds):
        store.write([make(n) for n in range(batch)])
    return (time.perf_counter() - began) * 1000 / (rounds * batch)


def _report(section: Section, latencies: list[float], errors: list[str], seconds: float,
            drained: float, api_cpu: float, store_ms: float) -> None:
    if not latencies:
        raise RuntimeError("no request finished")
    rate, p99 = len(latencies) / seconds, percentile(latencies, 0.99)
    section.add(f"hits per second, {CLIENTS} clients", rate, "hits/s",
                f">= {TARGET_HITS_PER_SECOND:,}", rate >= TARGET_HITS_PER_SECOND)
    section.add("p50 / p95", f"{percentile(latencies, 0.5):.1f} / "
                f"{percentile(latencies, 0.95):.1f}", "ms")
    section.add(f"p99, {CLIENTS} clients", p99, "ms", f"<= {TARGET_P99_MS:g} ms",
                p99 <= TARGET_P99_MS and not errors)
    section.add("errors", len(errors), "", "0", not errors)
    section.add("every hit stored, seconds after the load", drained, "s")
    api_ms = api_cpu * 1000 / len(latencies)
    section.add("API CPU per hit (route + write-ahead + flusher)", api_ms, "ms")
    section.add("storing one hit (on Lambda, before the answer)", store_ms, "ms")
    usd = hit_cost(api_ms, store_ms)
    section.add("USD per million hits on AWS", usd.pop("total"), "$")
    for name, value in usd.items():
        section.add(f"  {name}", value, "$")
    section.notes.append(
        f"{CLIENTS} keep-alive clients in the bench process, half pixels and half clicks of "
        f"{EMAILS:,} stored emails, for {seconds:g} s; the clients share the machine's cores "
        f"with the API. Cost (bench/cost.py hit_cost): API Gateway and the API function, which "
        "on Lambda stores each hit before answering (no write-ahead file there)")
