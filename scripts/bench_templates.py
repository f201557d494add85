"""Renders per second of a batch's templates at send time (cached compile + render).

Run: .venv/bin/python scripts/bench_templates.py
"""

from __future__ import annotations

import time

from emailsched.domain.templates import compile_templates, render

SUBJECT = 'Hi {{ first_name | default("there") }}, an offer for {{ company }}'
BODY = ("<html><body><p>Dear {{ first_name | default('friend') }} at {{ company }},</p>"
        f"<p>{'Lorem ipsum dolor sit amet. ' * 60}</p>"
        '<p><a href="{{ unsubscribe_url }}">Unsubscribe</a> {{ email }}</p></body></html>')
FIELDS = {"first_name": "Ann <b>", "company": "Acme & Co", "timezone": "Europe/Berlin"}


def main(count: int = 50_000) -> None:
    start = time.perf_counter()
    for i in range(count):
        compiled = compile_templates(SUBJECT, BODY)  # a cache hit, as at send time
        render(compiled, FIELDS, f"r{i}@example.com", "https://api.example.com/u/tok")
    seconds = time.perf_counter() - start
    print(f"{count / seconds:,.0f} renders/s (subject + body), {seconds / count * 1e6:.1f} µs each")
    start = time.perf_counter()
    for i in range(2_000):
        compile_templates(f"{SUBJECT}{i}", f"{BODY}{i}")
    print(f"uncached compile: {(time.perf_counter() - start) / 2_000 * 1e6:.0f} µs each")


if __name__ == "__main__":
    main()
