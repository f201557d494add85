"""A TCP proxy in front of Postgres that drops a client's connection at the worst moment:
right after the server committed the statement that marks an email sent, before the
client hears so. To the worker it looks like any dropped connection; in the ledger the
email is `sent`.

It reads both directions of the protocol. From the client (after a length-prefixed startup
message; TLS is declined) it notes when the statement that marks an email sent is
executed (pg8000 sends each as Parse/Bind/Execute/Sync, the text in the Parse). From the
server it holds each answer back until its ReadyForQuery: once `arm()`ed, the first one
that says "idle, no transaction open" after such a statement (autocommit, or the COMMIT
that followed) is never delivered, and both connections are closed instead.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

MARK_SENT = b"UPDATE emails SET status = 'sent'"
SSL_REQUEST = struct.pack("!i", 80877103)


def upstream_of(database_url: str) -> socket.socket:
    """A connection to the Postgres a SQLAlchemy URL names (TCP, or its unix socket)."""
    parts = urlsplit(database_url)
    unix = parse_qs(parts.query).get("unix_sock")
    if unix:
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        connection.connect(unix[0])
        return connection
    return socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 5432))


class _Session:
    """One client's connection through the proxy."""

    def __init__(self, client: socket.socket, server: socket.socket):
        self.client, self.server = client, server
        self.statement = b""  # the text of the last Parse
        self.marked = False  # a statement marking an email sent ran since the last idle

    def close(self) -> None:
        for end in (self.client, self.server):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                end.close()


class CommitCutter:
    def __init__(self, upstream_url: str):
        self._upstream_url = upstream_url
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._armed = threading.Event()
        self._lock = threading.Lock()
        self.cuts = 0

    def url(self, database: str) -> str:
        return f"postgresql+pg8000://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> CommitCutter:
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def arm(self) -> None:
        """Cut the next connection that commits an email's `sent`."""
        self._armed.set()

    def stop(self) -> None:
        self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            session = _Session(client, upstream_of(self._upstream_url))
            for direction in (self._from_client, self._from_server):
                threading.Thread(target=self._run, args=(direction, session),
                                 daemon=True).start()

    @staticmethod
    def _run(direction: Callable[[_Session], None], session: _Session) -> None:
        try:
            direction(session)
        except OSError:
            pass
        finally:
            session.close()

    def _from_client(self, session: _Session) -> None:
        reader = _Reader(session.client)
        startup = reader.message(typed=False)
        if startup[4:] == SSL_REQUEST:
            session.client.sendall(b"N")
            startup = reader.message(typed=False)
        session.server.sendall(startup)
        while True:
            message = reader.message()
            if message[:1] == b"P":
                session.statement = message[5:].split(b"\0", 2)[1]
            elif message[:1] == b"E" and MARK_SENT in session.statement:
                session.marked = True
            session.server.sendall(message)

    def _from_server(self, session: _Session) -> None:
        reader = _Reader(session.server)
        held: list[bytes] = []
        while True:
            message = reader.message()
            held.append(message)
            if message[:1] != b"Z":  # ReadyForQuery ends every answer
                continue
            idle = message[5:6] == b"I"
            if idle and session.marked and self._take_the_cut():
                return  # the commit is done; its answer never arrives
            session.marked = session.marked and not idle
            session.client.sendall(b"".join(held))
            held.clear()

    def _take_the_cut(self) -> bool:
        with self._lock:
            if not self._armed.is_set():
                return False
            self._armed.clear()
            self.cuts += 1
            return True


class _Reader:
    def __init__(self, source: socket.socket):
        self._source = source
        self._buffer = b""

    def message(self, typed: bool = True) -> bytes:
        """The next whole message, type byte (if any) and length included."""
        head = self._exactly(5 if typed else 4)
        (length,) = struct.unpack("!i", head[-4:])
        return head + self._exactly(length - 4)

    def _exactly(self, count: int) -> bytes:
        while len(self._buffer) < count:
            chunk = self._source.recv(65536)
            if not chunk:
                raise OSError("closed")
            self._buffer += chunk
        taken, self._buffer = self._buffer[:count], self._buffer[count:]
        return taken
