"""A webhook receiver on loopback for tests and the bench: records every request, verifies
it with the Standard Webhooks reference library, and answers what `answer` decides."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

try:  # the reference library (dev extras); the bench runs without it
    from standardwebhooks.webhooks import Webhook
except ImportError:  # pragma: no cover
    Webhook = None


@dataclass(frozen=True)
class Received:
    webhook_id: str
    timestamp: str
    body: bytes
    verified: bool
    status: int
    at: float  # time.time() when it arrived


Answer = Callable[[str, int], int]  # (webhook-id, attempt number for that id) -> status


@dataclass
class Receiver:
    answer: Answer = lambda webhook_id, attempt: 204
    secret: str | None = None  # set once the endpoint exists
    verify: bool = True
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                status = receiver.record(dict(self.headers.items()), body)
                content = b"" if status in (204, 304) else b"ok"  # 204 has no body
                self.send_response(status)
                self.send_header("content-length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        # A dispatcher killed mid-request resets its connection: expected, not news.
        self.server.handle_error = lambda *args: None  # type: ignore[method-assign]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def record(self, headers: dict[str, str], body: bytes) -> int:
        headers = {k.lower(): v for k, v in headers.items()}
        webhook_id = headers.get("webhook-id", "")
        verified = False
        if self.verify and self.secret and Webhook is not None:
            try:
                Webhook(self.secret).verify(body, headers)
                verified = True
            except Exception:  # any failure to verify is recorded as such
                verified = False
        with self.lock:
            attempt = 1 + sum(r.webhook_id == webhook_id for r in self.received)
            status = self.answer(webhook_id, attempt)
            self.received.append(Received(webhook_id, headers.get("webhook-timestamp", ""),
                                          body, verified, status, time.time()))
        return status

    def delivered_ids(self) -> set[str]:
        with self.lock:
            return {r.webhook_id for r in self.received if 200 <= r.status < 300}

    def attempts(self, webhook_id: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.webhook_id == webhook_id]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
