"""The webhooks bench's receiver, a process of its own (so it shares no interpreter lock
with the producer): answers 204 to every POST, notes each event's latency from its
`timestamp` (the change) to its arrival, and once `count` distinct events have arrived
prints `{"latencies": [...], "first": t, "last": t}` and exits.

    python -m emailsched.bench.webhook_receiver PORT COUNT
"""

from __future__ import annotations

import json
import sys
import threading
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def main(port: int, count: int) -> None:
    latencies: dict[str, float] = {}
    done, lock = threading.Event(), threading.Lock()
    times = {"first": 0.0, "last": 0.0}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            now = time.time()
            self.send_response(204)
            self.send_header("content-length", "0")
            self.end_headers()
            stamp = datetime.fromisoformat(json.loads(body)["timestamp"].replace("Z", "+00:00"))
            with lock:
                latencies.setdefault(self.headers["webhook-id"], now - stamp.timestamp())
                times["first"] = times["first"] or now
                times["last"] = now
                if len(latencies) >= count:
                    done.set()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print("listening", flush=True)
    done.wait()
    with lock:
        print(json.dumps({"latencies": list(latencies.values()), **times}), flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
