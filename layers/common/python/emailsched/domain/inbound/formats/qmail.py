"""qmail's `qmail-send` failure notice: `<address>:` then the remote reply.

    Hi. This is the qmail-send program at mx.example.com.
    I'm afraid I wasn't able to deliver your message to the following addresses.
    This is a permanent error; I've given up. Sorry it didn't work out.

    <nobody@example.net>:
    Sorry, no mailbox here by that name. (#5.1.1)

Sample: tests/data/bounces/flufl/qmail_*.txt."""

import re

from emailsched.domain.inbound.formats.base import TextFormat, flags

FORMAT = TextFormat(
    "qmail",
    re.compile(r"qmail-send\s+program|wasn't\s+able\s+to\s+deliver\s+your\s+message", flags()),
    re.compile(r"^<(?P<address>[^<>\s]+@[^<>\s]+)>:[ \t]*\n(?P<diagnostic>(?:(?!<[^<>\s]+>:)"
               r"(?!---).+\n?){0,8})", flags()))
