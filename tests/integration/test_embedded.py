"""The embedded services `emailsched dev` starts: real servers, data kept across restarts,
nothing left running after stop()."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import psutil
import pytest
import redis
import sqlalchemy

from emailsched.local.embedded import start_moto, start_postgres, start_redis

pytestmark = pytest.mark.integration


def gone(pid: int) -> bool:
    """No such process, or only a zombie waiting for pid 1 (which here reaps slowly)."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def pg_dir() -> Iterator[Path]:
    """A folder outside pytest's: Postgres runs as the `pgserver` user when we are root, and
    every pytest session that starts meanwhile resets pytest-of-<user>/ to mode 0700."""
    folder = Path(tempfile.mkdtemp(prefix="emailsched-test-pg-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_postgres_keeps_its_data_across_a_restart(pg_dir: Path) -> None:
    server = start_postgres(pg_dir)
    engine = sqlalchemy.create_engine(server.url)
    with engine.begin() as connection:
        assert connection.exec_driver_sql("SELECT current_database()").scalar() == "emailsched"
        connection.exec_driver_sql("CREATE TABLE notes (body text)")
        connection.exec_driver_sql("INSERT INTO notes VALUES ('kept')")
    engine.dispose()
    processes = [server.pid, *(child.pid for child in psutil.Process(server.pid).children())]
    server.stop()
    server.stop()
    assert all(gone(pid) for pid in processes)

    again = start_postgres(pg_dir)
    try:
        engine = sqlalchemy.create_engine(again.url)
        with engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT body FROM notes").scalars().all() == ["kept"]
        engine.dispose()
    finally:
        again.stop()


def test_a_restart_after_a_crash_reuses_the_orphaned_postgres(pg_dir: Path) -> None:
    crashing_run = ("import os, pathlib, signal\n"
                    "from emailsched.local.embedded import start_postgres\n"
                    f"server = start_postgres(pathlib.Path({str(pg_dir)!r}))\n"
                    "print(server.pid, flush=True)\n"
                    "os.kill(os.getpid(), signal.SIGKILL)\n")
    run = subprocess.run([sys.executable, "-c", crashing_run], capture_output=True, text=True,
                         timeout=60, check=False)
    orphan = int(run.stdout)
    assert not gone(orphan)

    server = start_postgres(pg_dir)
    try:
        assert server.pid == orphan
        engine = sqlalchemy.create_engine(server.url)
        with engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT 1").scalar() == 1
        engine.dispose()
    finally:
        server.stop()
    assert gone(orphan)


def test_redis_keeps_keys_across_a_restart_on_socket_and_tcp(tmp_path: Path) -> None:
    server = start_redis(tmp_path, port=0)
    client = redis.Redis.from_url(server.url)
    client.set("greeting", "hello")
    assert server.tcp_url is not None
    assert redis.Redis.from_url(server.tcp_url).get("greeting") == b"hello"
    client.close()
    server.stop()
    server.stop()
    assert gone(server.pid)
    assert not Path(server.socket_path).exists()

    again = start_redis(tmp_path)
    try:
        assert again.tcp_url is None
        assert redis.Redis.from_url(again.url).get("greeting") == b"hello"
    finally:
        again.stop()


def test_a_restart_after_a_crash_replaces_the_orphaned_redis(tmp_path: Path) -> None:
    orphan = start_redis(tmp_path)  # never stopped, as if its parent had been killed
    redis.Redis.from_url(orphan.url).set("counter", 41)

    successor = start_redis(tmp_path)
    try:
        assert gone(orphan.pid)
        assert redis.Redis.from_url(successor.url).incr("counter") == 42
    finally:
        successor.stop()
        orphan.stop()


def test_moto_serves_sqs_and_stops_without_a_trace(tmp_path: Path) -> None:
    server = start_moto(None, tmp_path)
    try:
        sqs = boto3.client("sqs", endpoint_url=server.url, region_name="us-east-1",
                           aws_access_key_id="testing", aws_secret_access_key="testing")
        queue_url = sqs.create_queue(QueueName=f"q-{uuid.uuid4().hex[:8]}")["QueueUrl"]
        sqs.send_message(QueueUrl=queue_url, MessageBody="hello")
        received = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=1)["Messages"]
        assert [message["Body"] for message in received] == ["hello"]
        assert f":{server.port}/" in queue_url
    finally:
        server.stop()
        server.stop()
    assert gone(server.pid)
    assert not listening(server.port)
    assert not (tmp_path / "moto.pid").exists()


def test_moto_started_again_on_the_same_port_takes_over_from_an_orphan(tmp_path: Path) -> None:
    orphan = start_moto(None, tmp_path)  # never stopped, as if its parent had been killed
    successor = start_moto(orphan.port, tmp_path)
    try:
        assert gone(orphan.pid)
        assert listening(successor.port)
    finally:
        successor.stop()
        orphan.stop()
