"""The three checks of GET /health, one round trip each; a failure is ServiceUnavailable,
translated where the driver raised it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, text

from emailsched.adapters.db.errors import wrap_db_errors
from emailsched.adapters.redis_errors import wrap_redis_errors


class DatabaseCheck:
    def __init__(self, engine: Engine):
        self._engine = engine

    def check(self) -> None:
        with wrap_db_errors(), self._engine.connect() as connection:
            connection.execute(text("SELECT 1"))


class RedisCheck:
    def __init__(self, client: Any):
        self._client = client

    def check(self) -> None:
        with wrap_redis_errors():
            self._client.ping()


class QueueCheck:
    def __init__(self, queue: Any):
        self._queue = queue

    def check(self) -> None:
        self._queue.depth()
