"""DragonFly Mail Agent (dma, the BSDs' default MTA): one address in a sentence, the
remote reply under it.

    There was an error delivering your mail to <nobody@example.org>.

    mx.example.org [192.0.2.25] did not like our RCPT TO:
    550 5.1.1 <nobody@example.org>: Recipient address rejected: User unknown

Samples: sisimai's set-of-emails, lhost-dragonfly-*.eml (BSD-2-Clause)."""

import re

from emailsched.domain.inbound.formats.base import TextFormat, flags

FORMAT = TextFormat(
    "dragonfly",
    re.compile(r"error\s+delivering\s+your\s+mail\s+to\s+<", flags()),
    re.compile(r"error\s+delivering\s+your\s+mail\s+to\s+<(?P<address>[^<>\s]+@[^<>\s]+)>\.?"
               r"\s*\n(?:[ \t]*\n)?(?P<diagnostic>(?:.+\n?){0,6})", flags()))
