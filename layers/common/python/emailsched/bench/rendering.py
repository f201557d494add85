"""What merge fields cost per email at send time: the subject and body rendered from the
templates, the unsubscribe link and footer, and the MIME message written, for a batch
whose emails share one body (no fields) against one personalised per recipient.

Measured in-process on the sender's own code path (domain.compose + adapters.mime), so
the figure is the CPU a worker spends per email before SMTP; the throughput benchmark's
emails/s is bounded by the sink and the ledger, not by this, until it nears 1/cost."""

from __future__ import annotations

import time
import uuid

from emailsched.adapters.mime import clear_caches, message_data
from emailsched.bench.report import Section
from emailsched.domain.compose import ComposeRules, Draft, compose

RULES = ComposeRules("https://api.example.com", b"bench-unsubscribe-key-0123456789")
BODY = ("<p>Hi {{ first_name | default('there') }},</p><p>Our <a href='https://example.com/"
        "offer'>autumn offer</a> for {{ company | default('your team') }} ends Friday.</p>"
        "<p>Best,<br>Sales</p>")


def per_email_ms(emails: int, personalised: bool) -> float:
    clear_caches()
    started = time.process_time()
    for n in range(emails):
        fields = {"first_name": f"Ann{n}", "company": f"Company {n}"} if personalised else {}
        draft = Draft(uuid.uuid4(), "sales@example.com", "Sales", f"r{n:06d}@example.com",
                      "Hello {{ first_name | default('there') }}", BODY, templated=True,
                      fields=fields, postal_address="1 Main St, Springfield")
        message_data(compose(draft, RULES))
    return (time.process_time() - started) * 1000 / emails


def run_rendering(emails: int, section: Section) -> None:
    shared = per_email_ms(emails, personalised=False)
    personal = per_email_ms(emails, personalised=True)
    section.add("rendering per email, no fields (one shared rendering)", shared, "ms")
    section.add("rendering per email, fields per recipient", personal, "ms")
    section.add("  worker ceiling from rendering alone, with fields", 1000 / personal, "/s")
    section.notes.append(
        f"{emails} emails each way, CPU time of one thread: compose (templates, unsubscribe "
        "link, footer) and the MIME message (text part by inscriptis, quoted-printable).")
