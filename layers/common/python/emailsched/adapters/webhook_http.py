"""Delivering webhooks over HTTP without becoming an SSRF proxy.

The URL's host is resolved here and every answer checked (domain/webhook_urls.py); the
connection is then made to the checked address itself, with the Host header and TLS SNI
(and certificate check) naming the host, so a DNS answer that changes between the check
and the connect (rebinding) is never used. The peer address is checked once more after
connecting. Redirects are not followed (http.client never does), an attempt has
TIMEOUT_SECONDS, and at most MAX_BODY_BYTES of an answer are read.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from collections.abc import Callable
from datetime import UTC, datetime

from emailsched.domain import webhook_urls
from emailsched.domain.webhook_urls import Target
from emailsched.domain.webhooks import (
    MAX_BODY_BYTES,
    TIMEOUT_SECONDS,
    Outcome,
    parse_retry_after,
)
from emailsched.errors import InvalidRequest

Resolver = Callable[[str, int], list[str]]
KEPT_BODY_CHARS = 1024  # of an answer, in the delivery log


def resolve(host: str, port: int) -> list[str]:
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return []
    return list(dict.fromkeys(str(info[4][0]) for info in found))


class _PinnedHttp(http.client.HTTPConnection):
    """Plain HTTP (allowed hosts only) to one checked address."""

    def __init__(self, target: Target, address: str, timeout: float):
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _PinnedHttps(http.client.HTTPSConnection):
    """HTTPS to one checked address; SNI and the certificate check name the URL's host."""

    def __init__(self, target: Target, address: str, timeout: float, context: ssl.SSLContext):
        super().__init__(target.host, target.port, timeout=timeout, context=context)
        self._address, self._tls = address, context

    def connect(self) -> None:
        raw = socket.create_connection((self._address, self.port), self.timeout)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = self._tls.wrap_socket(raw, server_hostname=self.host)


class WebhookClient:
    def __init__(self, allowed_hosts: frozenset[str], resolver: Resolver = resolve,
                 timeout: float = TIMEOUT_SECONDS, tls: ssl.SSLContext | None = None):
        self._allowed, self._resolve, self._timeout = allowed_hosts, resolver, timeout
        self._tls = tls or ssl.create_default_context()

    def check(self, url: str) -> Target:
        """The URL's target when it may be called now; InvalidRequest on `url` if not."""
        target = webhook_urls.parse(url, self._allowed)
        webhook_urls.check_addresses(target, self._resolve(target.host, target.port))
        return target

    def open(self, url: str) -> Delivery:
        """A connection for one endpoint's deliveries; checked again at every open."""
        return Delivery(self, url)

    def connection(self, url: str) -> tuple[http.client.HTTPConnection, Target]:
        """A connection (not yet open) to the first checked address of the URL's host."""
        target = webhook_urls.parse(url, self._allowed)
        address = webhook_urls.check_addresses(
            target, self._resolve(target.host, target.port))[0]
        if target.scheme == "https":
            return _PinnedHttps(target, address, self._timeout, self._tls), target
        return _PinnedHttp(target, address, self._timeout), target

    @property
    def timeout(self) -> float:
        return self._timeout


class Delivery:
    """POSTs to one endpoint, reusing its connection while the endpoint keeps it open."""

    def __init__(self, client: WebhookClient, url: str):
        self._client, self._url = client, url
        self._connection: http.client.HTTPConnection | None = None
        self._path = "/"

    def post(self, payload: bytes, headers: dict[str, str]) -> Outcome:
        started = time.monotonic()
        try:
            status, retry_after, text = self._exchange(payload, headers)
        except InvalidRequest as refused:
            self.close()
            return _failed(refused.details[0]["message"] if refused.details else
                           refused.message, started)
        except (OSError, http.client.HTTPException) as error:
            self.close()
            return _failed(_describe(error), started)
        elapsed = time.monotonic() - started
        if elapsed > self._client.timeout:  # a slow drip of bytes: not in time
            self.close()
            return _failed(f"no complete answer within {self._client.timeout:g} s", started)
        return Outcome(status, None, parse_retry_after(retry_after, datetime.now(UTC)), text,
                       int(elapsed * 1000))

    def _open(self) -> http.client.HTTPConnection:
        connection, target = self._client.connection(self._url)
        self._connection, self._path = connection, target.path
        connection.connect()
        peer = str(connection.sock.getpeername()[0]) if connection.sock else ""
        if not (target.allowed or webhook_urls.public(ipaddress.ip_address(peer.split("%")[0]))):
            raise webhook_urls.refused("connected to a refused address")
        return connection

    def _exchange(self, payload: bytes, headers: dict[str, str]) -> tuple[int, str | None, str]:
        connection = self._connection or self._open()
        connection.request("POST", self._path, body=payload, headers=headers)
        response = connection.getresponse()
        content = response.read(MAX_BODY_BYTES + 1)
        if len(content) > MAX_BODY_BYTES or response.will_close:
            self.close()
        text = content[:KEPT_BODY_CHARS].decode("utf-8", "replace")
        return response.status, response.getheader("retry-after"), text

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def _describe(error: Exception) -> str:
    if isinstance(error, TimeoutError | socket.timeout):
        return "timed out"
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    return f"{type(error).__name__}: {error}"[:300]


def _failed(message: str, started: float) -> Outcome:
    return Outcome(None, message, None, None, int((time.monotonic() - started) * 1000))
