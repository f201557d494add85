"""`emailsched api`: the Chalice routes behind a threaded HTTP server (the local stand-in
for API Gateway), plus the built dashboard at `/`.

Requests go through chalice.local.LocalGateway, which builds the same event API Gateway
sends, so the app answers exactly as it does on Lambda.
"""

from __future__ import annotations

import base64
import collections
import json
import logging
import mimetypes
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from chalice.config import Config
from chalice.local import LocalGateway, LocalGatewayException

log = logging.getLogger("emailsched.api")
_STATIC_PREFIXES = ("/assets/",)
_STATIC_FILES = ("/", "/index.html", "/favicon.ico", "/favicon.svg", "/robots.txt")


# Requests the app works on at once; the other connections' threads wait on a semaphore.
# With a thread per keep-alive connection, 50 clients meant 50 threads taking turns at the GIL
# for each of a request's ~20 Postgres round trips (a convoy: p50 0.7 s at 60 requests/s
# with 100,000 emails stored, although one request alone takes about 3 ms). A few at a time
# keeps the database pool (5 + 10) from queueing too. See the api_load benchmark.
MAX_CONCURRENT_REQUESTS = 4


class FairSlots:
    """At most `size` holders at once, handed out first come, first served.

    threading.Semaphore lets a newly arrived thread take a freed slot before the ones that
    were already waiting (and wakes them in no promised order), so under load some requests
    waited many turns: p99 was 2.2x p50 at 1,000,000 stored. Here a released slot passes
    straight to the longest waiter."""

    def __init__(self, size: int):
        self._free = size
        self._waiting: collections.deque[threading.Lock] = collections.deque()
        self._guard = threading.Lock()

    def __enter__(self) -> None:
        with self._guard:
            if self._free > 0 and not self._waiting:
                self._free -= 1
                return
            turn = threading.Lock()
            turn.acquire()
            self._waiting.append(turn)
        turn.acquire()  # released by the holder that hands its slot over

    def __exit__(self, *exc_info: object) -> None:
        with self._guard:
            if self._waiting:
                self._waiting.popleft().release()
            else:
                self._free += 1


class ApiServer(ThreadingHTTPServer):
    daemon_threads = True
    # Keep the backlog deep enough for a load test's burst of connections.
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], gateway: LocalGateway,
                 dashboard_dir: Path | None,
                 max_concurrent: int = MAX_CONCURRENT_REQUESTS):
        super().__init__(address, _Handler)
        self.gateway = gateway
        self.dashboard_dir = dashboard_dir
        self.working = FairSlots(max_concurrent)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"


class _Handler(BaseHTTPRequestHandler):
    server: ApiServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        # Never log query strings or headers: tokens travel there.
        log.debug("%s %s", self.command, self.path.split("?")[0])

    def do_GET(self) -> None:
        if not self._serve_static():
            self._dispatch()

    def do_HEAD(self) -> None:  # the tracking routes answer HEAD (link scanners send it)
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_OPTIONS(self) -> None:
        self._dispatch()

    do_PUT = do_DELETE = do_PATCH = do_POST

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            with self.server.working:
                response = self.server.gateway.handle_request(self.command, self.path, headers,
                                                              body)
        except LocalGatewayException:
            self._send(404, {"Content-Type": "application/json"}, json.dumps(
                {"error": {"code": "not_found", "message": f"no route {self.path.split('?')[0]}",
                           "details": []}}).encode())
            return
        payload = response.get("body") or b""
        if response.get("isBase64Encoded"):  # a binary body (the tracking pixel)
            payload = base64.b64decode(payload)
        self._send(response["statusCode"], response.get("headers") or {},
                   payload if isinstance(payload, bytes) else payload.encode())

    def _serve_static(self) -> bool:
        root = self.server.dashboard_dir
        path = self.path.split("?")[0]
        if path == "/metrics":  # the local runtime's Prometheus figures (SPEC.md "Operations")
            from emailsched.adapters.metrics import prometheus_text

            body, kind = prometheus_text()
            self._send(200, {"Content-Type": kind}, body)
            return True
        if path == "/config.js":
            self._send(200, {"Content-Type": "text/javascript"},
                       b'window.__EMAILSCHED_CONFIG__ = {"apiBaseUrl": ""};\n')
            return True
        if root is None or not (path in _STATIC_FILES or path.startswith(_STATIC_PREFIXES)):
            return False
        target = (root / ("index.html" if path == "/" else path.lstrip("/"))).resolve()
        if not target.is_file() or root.resolve() not in target.parents:
            return False
        kind = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        cache = "no-cache" if target.name == "index.html" else "public, max-age=31536000"
        self._send(200, {"Content-Type": kind, "Cache-Control": cache}, target.read_bytes())
        return True

    def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            if name.lower() not in ("content-length", "connection"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


def make_server(app: Any, host: str = "127.0.0.1", port: int = 8000,
                dashboard_dir: Path | None = None) -> ApiServer:
    config = Config.create(chalice_stage="local", app_name="emailsched", lambda_timeout=60,
                           lambda_memory_size=512)
    dist = dashboard_dir if dashboard_dir and (dashboard_dir / "index.html").exists() else None
    return ApiServer((host, port), LocalGateway(app, config), dist)


def serve_in_thread(server: ApiServer) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, name="api", daemon=True)
    thread.start()
    return thread
