"""The inbox (SPEC.md, "Inbox: replies, threads, lead status"): what an inbound message
says and shows, and what it does to its lead. Pure: no I/O."""
