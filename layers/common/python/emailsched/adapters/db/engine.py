"""Engine and migrations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def make_engine(url: str, pool_size: int = 5) -> Engine:
    # pool_pre_ping: a worker survives a Postgres restart without restarting itself.
    engine = create_engine(url, pool_size=pool_size, max_overflow=pool_size * 2,
                           pool_pre_ping=True, pool_recycle=1800)
    event.listen(engine, "connect", _utc_session)
    return engine


def _utc_session(dbapi_connection: Any, _record: Any) -> None:
    # date_trunc('hour', ...) and friends work in the session's zone: make it UTC everywhere.
    cursor = dbapi_connection.cursor()
    cursor.execute("SET TIME ZONE 'UTC'")
    cursor.close()
    # Committed, or a rollback at the end of the connection's first use would undo it.
    dbapi_connection.commit()


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision. Safe to run again, and from several
    processes at once: an advisory lock serialises them."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        connection.exec_driver_sql("SELECT pg_advisory_xact_lock(7400210001)")
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
