"""Recipient checks' cost (issue 29): POST /emails/schedule with 100,000 recipients over
10,000 distinct domains, served by a bench-started dnsmasq (every domain with an MX), timed
with RECIPIENT_DNS_CHECK=false, then on with an empty cache (each domain looked up) and
again with the cache warm (the same list: answers from Redis). Targets: cold at most 2x
the time without lookups, warm within 1.2x.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import psutil
import redis

from emailsched.bench.client import batch_body
from emailsched.bench.environment import BenchEnvironment
from emailsched.bench.product import Product, running_product
from emailsched.bench.report import Section
from emailsched.bench.stats import median
from emailsched.local.dnsmasq import running_dnsmasq

RECIPIENTS = 100_000
DOMAINS = 10_000
COLD_TARGET, WARM_TARGET = 2.0, 1.2


def _domain(i: int) -> str:
    return f"d{i:05d}.bench.test"


def _zones(domains: int) -> list[str]:
    return ["local=/test/", *(f"mx-host={_domain(i)},mx.{_domain(i)},10"
                              for i in range(domains))]


def _payload(attempt: int, recipients: int, domains: int) -> bytes:
    start = datetime.now(UTC) + timedelta(days=1)
    addresses = [f"r{i:06d}@{_domain(i % domains)}" for i in range(recipients)]
    return json.dumps(batch_body(addresses, start, delay_ms=1000, limit=200,
                                 sender=f"dns{attempt}@example.com")).encode()


def _forget_answers(product: Product) -> None:
    """The cache emptied: the next request looks every domain up again."""
    env = product.cluster.env
    client = redis.Redis.from_url(env["REDIS_URL"])
    keys = list(client.scan_iter(f"{env['REDIS_KEY_PREFIX']}mailhost:*", count=10_000))
    for start in range(0, len(keys), 5_000):
        client.delete(*keys[start:start + 5_000])
    client.close()


def _api_cpu(product: Product) -> float:
    """CPU-seconds the API process has used so far: its share of a request, apart from
    the machine's other load (and from the DNS server's)."""
    api = next(c for c in product.cluster.children if c.name == "api")
    times = psutil.Process(api.pid).cpu_times()
    return float(times.user + times.system)


def _timed(product: Product, repeats: int, recipients: int, domains: int,
           cold: bool, tag: str) -> tuple[list[float], list[float]]:
    """Each request's wall seconds and the API's CPU-seconds for it."""
    api = product.client(f"{tag}@example.com")
    api.schedule(batch_body(["w@example.com"], datetime.now(UTC) + timedelta(days=1)))
    times, cpu = [], []
    for attempt in range(repeats):
        payload = _payload(attempt, recipients, domains)
        if cold:
            _forget_answers(product)
        used = _api_cpu(product)
        answer, seconds = api.timed_schedule(payload)
        cpu.append(_api_cpu(product) - used)
        if answer["emailCount"] != recipients:
            raise RuntimeError(f"scheduled {answer['emailCount']} of {recipients}")
        times.append(seconds)
    api.close()
    return times, cpu


def run_dns_checks(env: BenchEnvironment, repeats: int, section: Section,
                   recipients: int = RECIPIENTS, domains: int = DOMAINS) -> None:
    # Each product stores as many batches before the requests compared: the cold runs
    # against the first `repeats` without lookups, the warm ones against the next (an
    # insert costs more as the emails table grows).
    with running_product(env, "dns_off") as product:
        off, off_cpu = _timed(product, repeats, recipients, domains, cold=False, tag="off")
        off_later, off_later_cpu = _timed(product, repeats, recipients, domains, cold=False,
                                          tag="off_later")
    with running_dnsmasq(env.scratch("dns_zones"), _zones(domains)) as dns, running_product(
            env, "dns_on", RECIPIENT_DNS_CHECK="true",
            DNS_NAMESERVERS=dns.nameservers) as product:
        cold, cold_cpu = _timed(product, repeats, recipients, domains, cold=True, tag="cold")
        warm, warm_cpu = _timed(product, repeats, recipients, domains, cold=False, tag="warm")
    base, later = median(off), median(off_later)
    section.add(f"{recipients:,} recipients, lookups off", base, "s")
    section.add(f"{domains:,} domains looked up (cold cache) / off", median(cold) / base, "x",
                f"<= {COLD_TARGET:g}x", median(cold) / base <= COLD_TARGET)
    section.add("same list again (warm cache) / off", median(warm) / later, "x",
                f"<= {WARM_TARGET:g}x", median(warm) / later <= WARM_TARGET)
    section.add("API CPU per request, lookups off", median(off_cpu) * 1000, "ms")
    # A short list can use less CPU than the meter's tick: no ratio then, the seconds above.
    if median(off_cpu) > 0 and median(off_later_cpu) > 0:
        section.add("API CPU per request, cold cache / off",
                    median(cold_cpu) / median(off_cpu), "x")
        section.add("API CPU per request, warm cache / off",
                    median(warm_cpu) / median(off_later_cpu), "x")
    for name, times, cpu in (("off", off, off_cpu), ("cold", cold, cold_cpu),
                             ("off, later", off_later, off_later_cpu),
                             ("warm", warm, warm_cpu)):
        section.details.append(f"{name}, each request (s): "
                               + ", ".join(f"{t:.3f}" for t in times)
                               + "; the API's CPU-s: " + ", ".join(f"{c:.2f}" for c in cpu))
    section.notes.append(f"median of {repeats} request(s) each after a one-recipient warm-up; "
                         f"{recipients:,} recipients over {domains:,} domains with an MX in a "
                         "bench-started dnsmasq; cold: the Redis cache emptied before each; "
                         "warm is compared with as many requests without lookups made after "
                         "as many stored batches")
