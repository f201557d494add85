"""Alembic environment: the connection comes from emailsched (never from alembic.ini)."""

from alembic import context

from emailsched.adapters.db.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, compare_type=True)
with context.begin_transaction():
    context.run_migrations()
