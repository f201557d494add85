"""The migrations build exactly the schema the code declares, and running them again is
harmless (emailsched setup is safe to rerun)."""

from __future__ import annotations

import pytest
import sqlalchemy
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from emailsched.adapters.db.engine import make_engine, migrate
from emailsched.adapters.db.schema import metadata
from tests.support.stack import Services, create_database

pytestmark = pytest.mark.integration


def test_migrated_schema_matches_the_models_and_migrating_twice_changes_nothing(
        services: Services):
    admin = sqlalchemy.engine.make_url(services.database_url).set(database="postgres")
    url, drop = create_database(admin.render_as_string(hide_password=False))
    engine = make_engine(url)
    try:
        migrate(engine)
        migrate(engine)
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, metadata)
            revision = connection.exec_driver_sql("SELECT version_num FROM alembic_version")
            assert revision.scalar_one() == "0015"
        assert differences == []
    finally:
        engine.dispose()
        drop()


def test_deleting_batches_or_their_user_deletes_their_emails(services: Services):
    # emails have no foreign keys (migration 0011): a statement trigger on batches does
    # what the batch key's ON DELETE CASCADE did.
    admin = sqlalchemy.engine.make_url(services.database_url).set(database="postgres")
    url, drop = create_database(admin.render_as_string(hide_password=False))
    engine = make_engine(url)
    try:
        migrate(engine)
        with engine.begin() as c:
            c.exec_driver_sql(
                "INSERT INTO users (id, email) VALUES ('00000000-0000-0000-0000-00000000000a', "
                "'u@example.com');"
                "INSERT INTO senders (id, user_id, email, kind) VALUES "
                "('00000000-0000-0000-0000-00000000000b', "
                "'00000000-0000-0000-0000-00000000000a', 's@example.com', 'relay');"
                "INSERT INTO batches (id, user_id, sender_id, subject, body, start_time, "
                "delay_ms, hourly_limit, email_count, estimated_end_time) "
                "SELECT gen_random_uuid(), '00000000-0000-0000-0000-00000000000a', "
                "'00000000-0000-0000-0000-00000000000b', 's', 'b', now(), 0, 10, 2, now() "
                "FROM generate_series(1, 3);"
                "INSERT INTO emails (id, batch_id, user_id, sender_id, seq, recipient_email, "
                "due_at, wake_at) SELECT gen_random_uuid(), b.id, b.user_id, b.sender_id, n, "
                "'r' || n || '@example.com', now(), now() FROM batches b, "
                "generate_series(1, 2) AS n")

        def count(table: str) -> int:
            with engine.connect() as c:
                return int(c.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar_one())

        assert count("emails") == 6
        with engine.begin() as c:
            c.exec_driver_sql("DELETE FROM batches WHERE id = (SELECT min(id::text)::uuid "
                              "FROM batches)")
        assert (count("batches"), count("emails")) == (2, 4)
        with engine.begin() as c:
            c.exec_driver_sql("DELETE FROM users")
        assert (count("batches"), count("emails"), count("senders")) == (0, 0, 0)
    finally:
        engine.dispose()
        drop()
