"""The SMTP sink the benchmarks send to: aiosmtpd in a process of its own.

It accepts every message and appends one line per message to a file: the time it accepted
it, the envelope sender and the Message-ID. Nothing else (no header parsing, no storage of
the message), so that it costs as little as aiosmtpd allows and the same sink serves our
pipeline and the plain-smtplib ceiling. A process of its own, so that the benchmark's own
polling and the ceiling clients never share its interpreter lock.

    python -m emailsched.bench.sink OUT_FILE [--auth]   # prints "port N" once listening

With --auth it requires AUTH (PLAIN or LOGIN, over plain TCP: a benchmark on loopback) and
accepts any login whose password is the login itself (bench/mailboxes.py); each line then
also names the login the message came under.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import signal
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

_MESSAGE_ID = re.compile(rb"(?im)^message-id:[ \t]*(\S+)")
START_TIMEOUT_SECONDS = 15.0


@dataclass(frozen=True)
class Accepted:
    at: float  # time.time() when the sink accepted the message
    mail_from: str
    message_id: str
    login: str = ""  # the AUTH login it came under (a sink started with auth)


class _Recorder:
    def __init__(self, out: IO[str]):
        self._out = out

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw: bytes = envelope.original_content or b""
        found = _MESSAGE_ID.search(raw, 0, 4096)
        message_id = found.group(1).decode("ascii", "replace") if found else ""
        auth = getattr(session, "auth_data", None)
        login = auth.login.decode() if isinstance(auth, LoginPassword) else ""
        self._out.write(f"{time.time():.6f}\t{envelope.mail_from}\t{message_id}"
                        f"{chr(9) + login if login else ''}\n")
        self._out.flush()
        return "250 2.0.0 OK"


def _login_is_password(server: Any, session: Any, envelope: Any, mechanism: str,
                       auth_data: Any) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == auth_data.password
    return AuthResult(success=ok, handled=False, auth_data=auth_data)


async def _serve(out_file: Path, auth: bool = False) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    with out_file.open("a", encoding="utf-8") as out:
        recorder = _Recorder(out)
        options: dict[str, Any] = {}
        if auth:  # plain TCP on loopback, on purpose: no warning per connection
            warnings.filterwarnings("ignore", "Requiring AUTH while not requiring TLS")
            logging.getLogger("mail.log").setLevel(logging.ERROR)
            options = {"authenticator": _login_is_password, "auth_required": True,
                       "auth_require_tls": False}
        server = await loop.create_server(
            lambda: SMTP(recorder, hostname="bench-sink", decode_data=False,
                         enable_SMTPUTF8=True, data_size_limit=None, **options),
            host="127.0.0.1", port=0)
        port = server.sockets[0].getsockname()[1]
        print(f"port {port}", flush=True)
        await stop.wait()
        server.close()


class SinkProcess:
    """A running sink: `port`, the records so far (`accepted()`), and `stop()`."""

    def __init__(self, out_file: Path, auth: bool = False):
        self.out_file = out_file
        out_file.parent.mkdir(parents=True, exist_ok=True)
        out_file.write_text("")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "emailsched.bench.sink", str(out_file),
             *(["--auth"] if auth else [])],
            stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
        self.port = self._read_port()

    @property
    def pid(self) -> int:
        return self.process.pid

    def _read_port(self) -> int:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()  # the sink prints it once it listens
        if not line.startswith("port "):
            self.stop()
            raise RuntimeError(f"the SMTP sink did not start: {line!r}")
        return int(line.split()[1])

    def accepted(self) -> list[Accepted]:
        records = []
        for line in self.out_file.read_text(encoding="utf-8").splitlines():
            parts = line.split("\t")
            if len(parts) in (3, 4):
                records.append(Accepted(float(parts[0]), *parts[1:]))
        return records

    def count(self) -> int:
        with self.out_file.open("rb") as handle:
            return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 16), b""))

    def wait_for(self, count: int, timeout: float, every: float = 0.2) -> int:
        """Wait until `count` messages were accepted in all (or timeout); the count."""
        deadline = time.monotonic() + timeout
        while (seen := self.count()) < count and time.monotonic() < deadline:
            time.sleep(every)
        return seen

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


def main(argv: list[str]) -> int:
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(Path(argv[0]), auth="--auth" in argv[1:]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
