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
            assert revision.scalar_one() == "0011"
        assert differences == []
    finally:
        engine.dispose()
        drop()
