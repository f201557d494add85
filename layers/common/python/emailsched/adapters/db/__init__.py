"""The ledger in PostgreSQL (SQLAlchemy 2 Core + pg8000)."""
