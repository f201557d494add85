"""The Metrics port three ways: CloudWatch embedded metrics (Powertools) on Lambda,
prometheus-client locally, nothing at all.

Every metric the code records is declared here once (`SPECS`), so the EMF names, the
Prometheus names (`emailsched_` + name, counters with `_total`) and the alarms in
infra/emailsched_infra/alarms.py agree.

Locally each component is its own process (api, workers, pump): with
PROMETHEUS_MULTIPROC_DIR set (emailsched.local.cluster sets it for every child) the
counters live in files there and `prometheus_text()` in the API process sums them all.
prometheus-client picks its value class when it is first imported, so the variable must be
set before the process starts.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

NAMESPACE = "emailsched"
Kind = Literal["counter", "histogram", "gauge"]


@dataclass(frozen=True)
class Spec:
    kind: Kind
    doc: str
    labels: tuple[str, ...] = ()


# Failure classes of emails_failed (its `class` dimension / label).
FAILURE_CLASSES = ("hard_bounce", "policy", "transient_exhausted", "other")
SPECS: dict[str, Spec] = {
    "emails_sent": Spec("counter", "Emails the SMTP server accepted (recorded sent)"),
    "emails_failed": Spec("counter", "Emails that failed for good, by class", ("class",)),
    "emails_deferred": Spec("counter", "Attempts that failed and will be retried"),
    "emails_throttled": Spec("counter", "Times a sender's limit held emails back"),
    "emails_held": Spec("counter", "Emails held because their sender is on hold"),
    "emails_suppressed": Spec("counter", "Emails not sent: the recipient is suppressed"),
    "send_latency_ms": Spec("histogram", "Milliseconds of one SMTP round"),
    "lateness_ms": Spec("histogram", "Milliseconds from an email's due time to sent"),
    "pump_claimed": Spec("counter", "Emails the pump claimed and enqueued"),
    "pump_top_ups": Spec("counter", "Top-ups (claim and enqueue rounds) of the pump"),
    "queue_depth": Spec("gauge", "Messages waiting on the send queue (read by the pump)"),
    "dead_letter_depth": Spec("gauge", "Messages on the dead-letter queue (read by the pump)"),
    # Sequences (issue 16).
    "followups_planned": Spec("counter", "Follow-up steps planned (scheduled)"),
    "followups_stopped": Spec("counter", "Follow-up steps not sent: the recipient stopped"),
    "inbound_messages": Spec("counter", "Messages the reply poller read from mailboxes"),
    "inbound_replies": Spec("counter", "Replies that ended a sequence"),
    "inbound_auto_replies": Spec("counter", "Automatic replies ignored"),
    "inbound_bounces": Spec("counter", "Delivery reports for our emails, by kind",
                            ("kind",)),
    "inbound_complaints": Spec("counter", "Spam complaints (ARF, JMRP) about our emails"),
    "mailbox_failures": Spec("counter", "Mailboxes the reply poller could not read"),
}
LATENCY_BUCKETS_MS = (5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000,
                      60_000, 300_000, 900_000)


def _spec(name: str, kind: Kind | None = None) -> Spec:
    spec = SPECS.get(name)
    if spec is None or (kind is not None and spec.kind != kind):
        raise ValueError(f"metric {name!r} is not declared as a {kind or 'metric'} in SPECS")
    return spec


class NullMetrics:
    """For code paths and tests that do not care."""

    def count(self, name: str, value: int = 1, **dims: str) -> None:
        _spec(name)

    def observe(self, name: str, value_ms: float) -> None:
        _spec(name)

    def gauge(self, name: str, value: float) -> None:
        _spec(name)

    def flush(self) -> None:
        return None


class EmfMetrics:
    """CloudWatch embedded metric format through Powertools: one JSON line per metric set
    on stdout, which Lambda ships to CloudWatch Logs and CloudWatch turns into metrics.

    A count with dimensions is recorded twice: in the function's plain set (so the total,
    e.g. emails_failed, has one series to alarm on) and in a set of its own carrying the
    dimensions (emails_failed with class=hard_bounce). `flush()` writes everything out; the
    Chalice middleware of functions/app.py calls it at the end of every invocation."""

    def __init__(self, namespace: str | None = None, service: str | None = None):
        from aws_lambda_powertools.metrics import EphemeralMetrics

        self._namespace = namespace or os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or NAMESPACE
        self._service = service or os.environ.get("POWERTOOLS_SERVICE_NAME") or NAMESPACE
        self._make = EphemeralMetrics
        self._lock = threading.Lock()
        self._plain = self._new()
        self._by_dims: dict[tuple[tuple[str, str], ...], Any] = {}

    def _new(self) -> Any:
        return self._make(namespace=self._namespace, service=self._service)

    def count(self, name: str, value: int = 1, **dims: str) -> None:
        _spec(name)
        with self._lock:
            self._plain.add_metric(name=name, unit="Count", value=value)
            if dims:
                key = tuple(sorted(dims.items()))
                metrics = self._by_dims.get(key)
                if metrics is None:
                    metrics = self._by_dims[key] = self._new()
                    for dim, dim_value in dims.items():
                        metrics.add_dimension(dim, dim_value)
                metrics.add_metric(name=name, unit="Count", value=value)

    def observe(self, name: str, value_ms: float) -> None:
        _spec(name, "histogram")
        with self._lock:
            self._plain.add_metric(name=name, unit="Milliseconds", value=value_ms)

    def gauge(self, name: str, value: float) -> None:
        _spec(name, "gauge")
        with self._lock:
            self._plain.add_metric(name=name, unit="Count", value=value)

    def flush(self) -> None:
        with self._lock:
            for metrics in (self._plain, *self._by_dims.values()):
                if metrics.metric_set:
                    metrics.flush_metrics()
            self._by_dims.clear()


_prometheus_lock = threading.Lock()
_prometheus: dict[str, Any] = {}


def _prometheus_metrics() -> Mapping[str, Any]:
    """The process's prometheus-client objects, made once (the default registry refuses a
    second metric of the same name)."""
    with _prometheus_lock:
        if not _prometheus:
            import prometheus_client as prom

            for name, spec in SPECS.items():
                full = f"{NAMESPACE}_{name}"
                if spec.kind == "counter":
                    _prometheus[name] = prom.Counter(full, spec.doc, spec.labels)
                elif spec.kind == "histogram":
                    _prometheus[name] = prom.Histogram(full, spec.doc, spec.labels,
                                                       buckets=LATENCY_BUCKETS_MS)
                else:
                    _prometheus[name] = prom.Gauge(full, spec.doc, spec.labels,
                                                   multiprocess_mode="mostrecent")
        return _prometheus


class PrometheusMetrics:
    def __init__(self) -> None:
        self._metrics = _prometheus_metrics()

    def count(self, name: str, value: int = 1, **dims: str) -> None:
        spec = _spec(name, "counter")
        metric = self._metrics[name]
        if spec.labels:
            metric = metric.labels(**{label: dims.get(label, "other") for label in spec.labels})
        metric.inc(value)

    def observe(self, name: str, value_ms: float) -> None:
        _spec(name, "histogram")
        self._metrics[name].observe(value_ms)

    def gauge(self, name: str, value: float) -> None:
        _spec(name, "gauge")
        self._metrics[name].set(value)

    def flush(self) -> None:
        return None  # scraped, not pushed


def prometheus_text() -> tuple[bytes, str]:
    """The body and content type of GET /metrics: every process's figures when
    PROMETHEUS_MULTIPROC_DIR is set, else this process's."""
    import prometheus_client as prom
    from prometheus_client import multiprocess

    _prometheus_metrics()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = prom.CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return prom.generate_latest(registry), prom.CONTENT_TYPE_LATEST
    return prom.generate_latest(), prom.CONTENT_TYPE_LATEST


Backend = Literal["auto", "emf", "prometheus", "none"]


def make_metrics(backend: Backend = "auto") -> NullMetrics | EmfMetrics | PrometheusMetrics:
    """`auto`: EMF on Lambda (or wherever POWERTOOLS_METRICS_NAMESPACE is set), else
    Prometheus."""
    if backend == "auto":
        on_lambda = bool(os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
                         or os.environ.get("POWERTOOLS_METRICS_NAMESPACE"))
        backend = "emf" if on_lambda else "prometheus"
    if backend == "emf":
        return EmfMetrics()
    if backend == "prometheus":
        return PrometheusMetrics()
    return NullMetrics()
