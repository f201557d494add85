"""Many mailboxes (issue 13's closing figures, issue 17 item 2): the same 2,000 emails, all
due now, sent by one mailbox, by 20, and by 200, each mailbox an `smtp` sender account with
its own login (created through POST /senders, so verified and its password encrypted under
a local CREDENTIALS_KEY), spread over 4 SMTP sinks that require AUTH. Same stack, same
workers and pump as the throughput section; the rate is taken at the sinks, from the first
to the last message accepted. Also: what one connection per sender costs (connect, EHLO,
AUTH), measured against the same sinks.
"""

from __future__ import annotations

import base64
import os
import smtplib
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from emailsched.bench.client import batch_body, recipients
from emailsched.bench.environment import BenchEnvironment
from emailsched.bench.product import Product, running_product
from emailsched.bench.report import Section
from emailsched.bench.sink import Accepted, SinkProcess
from emailsched.bench.stats import median, percentile, rate
from emailsched.bench.throughput import PUMP_INTERVAL_SECONDS, WORKER_CONCURRENCY

EMAILS = 2_000
MAILBOX_COUNTS = (1, 20, 200)
SINKS = 4
WORKERS = 4
MAX_SENDERS_PER_BATCH = 50  # SPEC.md: senderIds takes 1 to 50
TARGET_SHARE = 0.50  # issue 17: 200 mailboxes at >= 50 % of one mailbox's rate
CONNECTIONS_MEASURED = 200


@dataclass
class MailboxRun:
    mailboxes: int
    per_second: float
    seconds: float
    create_ms: list[float]
    wrong_login: int
    duplicates: int
    statuses: dict[str, int]
    due_spread_seconds: float = 0.0  # latest due time minus earliest, as planned
    timeline: list[int] | None = None  # accepted in each second of the run


def run_mailboxes(env: BenchEnvironment, emails: int, section: Section,
                  counts: tuple[int, ...] = MAILBOX_COUNTS) -> None:
    runs = [_one_run(env, emails, count) for count in counts]
    one = runs[0]
    for run in runs:
        share = run.per_second / one.per_second
        target = run.mailboxes == max(counts) and run.mailboxes > 1
        section.add(f"emails/s, {run.mailboxes} mailbox(es)", run.per_second, "/s")
        if run.mailboxes > 1:
            section.add("  as share of 1 mailbox's rate", share * 100, "%",
                        f">= {TARGET_SHARE:.0%}" if target else "",
                        share >= TARGET_SHARE if target else None)
        if run.wrong_login or run.duplicates:
            section.add(f"  WRONG login or DUPLICATE, {run.mailboxes} mailbox(es)",
                        run.wrong_login + run.duplicates, "", "0", False)
        section.details.append(
            f"{run.mailboxes} mailbox(es): {emails:,} emails in {run.seconds:.1f} s; ledger "
            f"{run.statuses}; POST /senders (verify + encrypt + store) median "
            f"{median(run.create_ms):.1f} ms; due times spread over "
            f"{run.due_spread_seconds:.1f} s; accepted per second {run.timeline}")
    cost = _connection_cost(env)
    section.add("connection per sender: connect + EHLO + AUTH, median", median(cost), "ms")
    section.summary = {"emailsPerSecond": {str(r.mailboxes): round(r.per_second, 1)
                                           for r in runs},
                       "shareOfOneMailbox": round(runs[-1].per_second / one.per_second, 3),
                       "connectionMs": round(median(cost), 2)}
    section.add("  p90", percentile(cost, 0.9), "ms")
    section.notes += [
        f"{emails:,} emails due now, no limits, MIN_DELAY_BETWEEN_EMAILS_MS=0, in one batch "
        f"per {MAX_SENDERS_PER_BATCH} senders (senderIds rotation: {emails // max(counts)} "
        f"per mailbox with {max(counts)}); {WORKERS} `emailsched worker --concurrency "
        f"{WORKER_CONCURRENCY}` processes, pump every {PUMP_INTERVAL_SECONDS:g} s",
        f"each mailbox is an smtp sender with its own login on one of {SINKS} AUTH sinks "
        "(bench/sink.py --auth, plain TCP on loopback), created through POST /senders",
        "rates at the sinks, first to last accepted; every message is checked to have come "
        "under its own sender's login",
        f"connection cost: smtplib connect + EHLO + AUTH PLAIN to the same sinks, "
        f"{CONNECTIONS_MEASURED} times in a row (QUIT not counted)",
    ]


def _one_run(env: BenchEnvironment, emails: int, mailboxes: int) -> MailboxRun:
    key = base64.b64encode(os.urandom(32)).decode()
    with running_product(env, f"mailboxes{mailboxes}", MIN_DELAY_BETWEEN_EMAILS_MS=0,
                         CREDENTIALS_KEY=key) as product:
        sinks = [SinkProcess(product.folder / f"auth-sink{n}.tsv", auth=True)
                 for n in range(SINKS)]
        try:
            return _send(product, sinks, emails, mailboxes)
        finally:
            for sink in sinks:
                sink.stop()


def _send(product: Product, sinks: list[SinkProcess], emails: int,
          mailboxes: int) -> MailboxRun:
    api = product.client(f"mailboxes{mailboxes}@example.com")
    ids, create_ms = [], []
    for n in range(mailboxes):
        login = f"box{n:03d}"
        sink = sinks[n % len(sinks)]
        started = time.perf_counter()
        answer = api.session.post(f"{api.base_url}/senders", json={
            "email": f"{login}@example.com", "name": login.title(),
            "smtp": {"host": "127.0.0.1", "port": sink.port, "security": "none",
                     "username": login, "password": login}}, timeout=60)
        create_ms.append((time.perf_counter() - started) * 1000)
        if answer.status_code != 201:
            raise RuntimeError(f"POST /senders answered {answer.status_code}: "
                               f"{answer.text[:300]}")
        ids.append(answer.json()["id"])
    everyone = recipients(emails)
    per_sender = emails // mailboxes
    start = datetime.now(UTC)
    for first in range(0, mailboxes, MAX_SENDERS_PER_BATCH):
        group = ids[first:first + MAX_SENDERS_PER_BATCH]
        share = everyone[first * per_sender:(first + len(group)) * per_sender]
        body = batch_body(share, start, subject="Mailboxes")
        del body["sender"]
        body["senderIds"] = group
        api.schedule(body)
    api.close()
    [(spread,)] = product._rows("SELECT extract(epoch FROM max(due_at) - min(due_at)) "
                                "FROM emails")
    product.start_workers(WORKERS, WORKER_CONCURRENCY)
    product.cluster.start_pump(PUMP_INTERVAL_SECONDS)
    started = time.monotonic()
    deadline = started + max(180.0, emails / 10)
    while sum(s.count() for s in sinks) < emails and time.monotonic() < deadline:
        time.sleep(0.2)
    seconds = time.monotonic() - started
    product.cluster.stop_children()
    accepted: list[Accepted] = [a for s in sinks for a in s.accepted()]
    if len(accepted) < emails:
        raise RuntimeError(f"{mailboxes} mailbox(es): {len(accepted)} of {emails} emails "
                           f"arrived in {seconds:.0f} s")
    wrong = sum(1 for a in accepted if a.mail_from.split("@")[0] != a.login)
    message_ids = [a.message_id for a in accepted]
    earliest = min(a.at for a in accepted)
    timeline = [0] * (int(max(a.at for a in accepted) - earliest) + 1)
    for a in accepted:
        timeline[int(a.at - earliest)] += 1
    return MailboxRun(mailboxes, rate([a.at for a in accepted]), seconds, create_ms, wrong,
                      len(message_ids) - len(set(message_ids)), product.statuses(),
                      float(spread or 0), timeline)


def _connection_cost(env: BenchEnvironment) -> list[float]:
    folder = env.scratch("mailbox-connections")
    sink = SinkProcess(folder / "sink.tsv", auth=True)
    try:
        spent: list[float] = []
        for n in range(CONNECTIONS_MEASURED):
            login = f"box{n:03d}"
            started = time.perf_counter()
            connection = smtplib.SMTP("127.0.0.1", sink.port, timeout=10)
            connection.ehlo()
            connection.login(login, login)
            spent.append((time.perf_counter() - started) * 1000)
            connection.quit()
        return spent
    finally:
        sink.stop()
