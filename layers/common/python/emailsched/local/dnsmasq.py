"""A DNS server of our own for tests and the benchmark: Debian's dnsmasq (`dnsmasq-base`)
serving given zones on a loopback port, as FACTS.md describes: no root config, no upstream
(`no-resolv`), `local=/ZONE/` so that any other name under a served zone is NXDOMAIN.

    with running_dnsmasq(folder, ["local=/test/", "mx-host=a.test,mx.a.test,10"]) as server:
        settings DNS_NAMESERVERS=server.nameservers
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

START_SECONDS = 10.0


def dnsmasq_binary() -> str | None:
    return shutil.which("dnsmasq") or shutil.which("dnsmasq", path="/usr/sbin:/usr/local/sbin")


def _free_port() -> int:
    """A port free for both UDP and TCP on 127.0.0.1 (dnsmasq listens on both)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.0.0.1", 0))
            port = int(udp.getsockname()[1])
            with socket.socket() as tcp, contextlib.suppress(OSError):
                tcp.bind(("127.0.0.1", port))
                return port


@dataclass(frozen=True)
class DnsmasqServer:
    port: int
    process: subprocess.Popen[bytes]

    @property
    def nameservers(self) -> str:
        """DNS_NAMESERVERS for this server."""
        return f"127.0.0.1:{self.port}"


def _config(port: int, lines: Iterable[str]) -> str:
    return "\n".join([f"port={port}", "listen-address=127.0.0.1", "bind-interfaces",
                      "no-resolv", "no-hosts", "cache-size=0", *lines]) + "\n"


def _wait_ready(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"dnsmasq stopped: {log.read_text(errors='replace')[-2000:]}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"dnsmasq did not listen on {port} in {START_SECONDS} s")


@contextlib.contextmanager
def running_dnsmasq(folder: Path, lines: Iterable[str]) -> Iterator[DnsmasqServer]:
    """dnsmasq serving `lines` (dnsmasq.conf options) until the block ends."""
    binary = dnsmasq_binary()
    if binary is None:
        raise RuntimeError("dnsmasq is not installed (apt-get install dnsmasq-base)")
    folder.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    conf, log = folder / "dnsmasq.conf", folder / "dnsmasq.log"
    conf.write_text(_config(port, lines))
    with log.open("wb") as out:
        process = subprocess.Popen(
            [binary, "--keep-in-foreground", f"--conf-file={conf}", "--pid-file=",
             "--log-facility=-", "--user=root" if _root() else "--user="],
            stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_ready(port, process, log)
        yield DnsmasqServer(port, process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _root() -> bool:
    import os

    return os.geteuid() == 0
