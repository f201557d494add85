"""Alembic migrations of the ledger, applied by `emailsched setup`."""
