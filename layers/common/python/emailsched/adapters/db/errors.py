"""The one place Postgres driver errors become the project's ServiceUnavailable."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, exc

from emailsched.errors import ServiceUnavailable


@contextmanager
def wrap_db_errors() -> Iterator[None]:
    """Inside, a lost connection, a server going away, a pool timeout or a socket error
    raises ServiceUnavailable; a constraint violation is the caller's bug and stays what
    it is, as does any programming error."""
    try:
        yield
    except exc.IntegrityError:
        raise
    except (exc.DBAPIError, exc.TimeoutError, OSError) as error:
        raise ServiceUnavailable(f"Postgres: {type(error).__name__}") from error


@contextmanager
def transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction on a pooled connection, committed at the end, driver errors
    translated as above: what every store's write (or consistent read) opens."""
    with wrap_db_errors(), engine.begin() as connection:
        yield connection


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """A pooled connection for reads (no transaction to commit), driver errors translated
    as above."""
    with wrap_db_errors(), engine.connect() as connection:
        yield connection
