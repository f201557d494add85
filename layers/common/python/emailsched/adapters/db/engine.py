"""Engine and migrations.

Alembic is imported inside `migrate` only: no function migrates at run time (`emailsched
setup` and infra/deploy.py do), and Alembic alone was about 190 ms of every cold start.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pg8000
from pg8000.converters import TIMESTAMPTZ, timestamptz_in
from sqlalchemy import Engine, create_engine, event

from emailsched.adapters.db import paramstyle
from emailsched.adapters.tls import client_context

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def make_engine(url: str, pool_size: int = 5, max_overflow: int | None = None,
                pool_timeout: float = 30.0) -> Engine:
    """`max_overflow` None: twice `pool_size`. On Lambda a container serves one request at
    a time, so Settings.db_pool gives 1 and 0 there (at most one connection each)."""
    # pool_pre_ping: a worker survives a Postgres restart without restarting itself.
    engine = create_engine(url, pool_size=pool_size,
                           max_overflow=pool_size * 2 if max_overflow is None else max_overflow,
                           pool_timeout=pool_timeout, pool_pre_ping=True, pool_recycle=1800)
    paramstyle.install()  # each statement's placeholders rewritten once, not per call
    event.listen(engine, "do_connect", _PreferTls().connect)
    event.listen(engine, "connect", _utc_session)
    return engine


class _PreferTls:
    """pg8000's default, TLS when the server offers it (unverified) and plain otherwise,
    without its cost: pg8000 builds a new SSL context for every connection (it loads the
    trust store, about 10 ms), a worker's first connections and every Lambda cold start.
    The process's one unverified context (adapters/tls.py); once the server refuses TLS,
    plain connections from then on."""

    def __init__(self) -> None:
        self._plain = False

    def connect(self, dialect: Any, _record: Any, cargs: list[Any],
                cparams: dict[str, Any]) -> Any:
        if "ssl_context" in cparams:  # the URL says how
            return None
        if self._plain:
            return dialect.connect(*cargs, **cparams, ssl_context=False)
        try:
            return dialect.connect(*cargs, **cparams, ssl_context=client_context(verify=False))
        except pg8000.InterfaceError as error:
            if "refuses SSL" not in str(error):
                raise
        self._plain = True
        return dialect.connect(*cargs, **cparams, ssl_context=False)


def _timestamptz_in(data: str) -> Any:
    """pg8000 parses every timestamptz with datetime.strptime (about 18 us each: 0.4 ms of a
    20-row page's 4 ms). In the session's UTC zone Postgres writes ISO 8601, which
    fromisoformat reads in about 1 us; anything else (infinity, years past 9999) goes to
    pg8000's own parser."""
    try:
        return datetime.fromisoformat(data)
    except ValueError:
        return timestamptz_in(data)


def _utc_session(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.register_in_adapter(TIMESTAMPTZ, _timestamptz_in)
    # date_trunc('hour', ...) and friends work in the session's zone: make it UTC everywhere.
    cursor = dbapi_connection.cursor()
    cursor.execute("SET TIME ZONE 'UTC'")
    cursor.close()
    # Committed, or a rollback at the end of the connection's first use would undo it.
    dbapi_connection.commit()


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision. Safe to run again, and from several
    processes at once: an advisory lock serialises them."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        connection.exec_driver_sql("SELECT pg_advisory_xact_lock(7400210001)")
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
