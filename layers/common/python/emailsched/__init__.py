"""emailsched: schedule email campaigns and send every email once, on time, under its limits."""

__version__ = "0.1.0"
