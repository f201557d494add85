"""Adapters: the real implementations of the ports (Postgres, Redis, SQS, SMTP)."""
