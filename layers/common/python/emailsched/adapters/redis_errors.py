"""The one place redis-py's connection errors become the project's ServiceUnavailable."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import redis

from emailsched.errors import ServiceUnavailable


@contextmanager
def wrap_redis_errors() -> Iterator[None]:
    """Inside, an unreachable, restarting or slow Redis raises ServiceUnavailable; a
    script error (a bug) stays what it is."""
    try:
        yield
    except (redis.ConnectionError, redis.TimeoutError) as error:
        raise ServiceUnavailable(f"Redis: {error}") from error
