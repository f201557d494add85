"""Pure domain: statuses, the send plan, retry decisions. No I/O is imported here."""
