"""The one place Postgres driver errors become the project's ServiceUnavailable."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import exc

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
