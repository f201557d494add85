"""The three checks of GET /health, one round trip each."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, text


class DatabaseCheck:
    def __init__(self, engine: Engine):
        self._engine = engine

    def check(self) -> None:
        with self._engine.connect() as connection:
            connection.execute(text("SELECT 1"))


class RedisCheck:
    def __init__(self, client: Any):
        self._client = client

    def check(self) -> None:
        self._client.ping()


class QueueCheck:
    def __init__(self, queue: Any):
        self._queue = queue

    def check(self) -> None:
        self._queue.depth()
