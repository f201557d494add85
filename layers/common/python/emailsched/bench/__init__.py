"""Benchmarks of emailsched on this machine: `emailsched bench` (see BENCHMARKS.md)."""
