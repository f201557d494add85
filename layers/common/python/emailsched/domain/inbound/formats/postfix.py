"""Postfix's text notice (before its DSN parts, or alone where DSNs are off): one paragraph
per address, `<address>: host ... said: <reply> (in reply to RCPT TO command)`.

    This is the mail system at host mx.example.com.
    ...
    <nobody@example.net>: host mx.example.net[192.0.2.1] said: 550 5.1.1
        <nobody@example.net>: Recipient address rejected: User unknown

Sample: tests/data/bounces/flufl/postfix_*.txt."""

import re

from emailsched.domain.inbound.formats.base import TextFormat, flags

FORMAT = TextFormat(
    "postfix",
    re.compile(r"this\s+is\s+the\s+(?:postfix\s+program|mail\s+system)\s+at"
               r"|sorry\s+to\s+have\s+to\s+inform\s+you|\(in\s+reply\s+to\s+RCPT\s+TO", flags()),
    re.compile(r"^<(?P<address>[^<>\s]+@[^<>\s]+)>(?:\s+\(expanded\s+from\s+<[^>]*>\))?:"
               r"(?P<diagnostic>.*(?:\n[ \t]+.+)*)", flags()))
