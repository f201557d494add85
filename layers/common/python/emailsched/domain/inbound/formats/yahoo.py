"""Yahoo's failure notice (qmail-based): `<address>:` and `Remote host said: ...`.

    Sorry, we were unable to deliver your message to the following address.

    <nobody@aol.com>:
    Remote host said: 550 5.1.1 <nobody@aol.com>: Recipient address rejected [RCPT_TO]

Yahoo's own mailboxes answer in RFC 3464 with "This user doesn't have a yahoo.com
account" (inbound/meaning.py reads that). Sample: tests/data/bounces/flufl/yahoo_*.txt."""

import re

from emailsched.domain.inbound.formats.base import TextFormat, flags

FORMAT = TextFormat(
    "yahoo",
    re.compile(r"unable\s+to\s+deliver\s+(?:your\s+)?message\s+to\s+the\s+following"
               r"|message\s+from\s+yahoo\.com", flags()),
    re.compile(r"^<(?P<address>[^<>\s]+@[^<>\s]+)>:[ \t]*\n(?P<diagnostic>(?:(?!<[^<>\s]+>:)"
               r"(?!---).+\n?){0,6})", flags()))
