"""Exim's "Mail delivery failed" (cPanel hosting, Mail.ru): the address indented by two,
its reason by four.

    A message that you sent could not be delivered to one or more of its
    recipients. This is a permanent error. The following address(es) failed:

      nobody@example.net
        SMTP error from remote mail server after RCPT TO:<nobody@example.net>:
        550 5.1.1 User unknown

Sample: tests/data/bounces/flufl/exim_01.txt."""

import re

from emailsched.domain.inbound.formats.base import TextFormat, flags

FORMAT = TextFormat(
    "exim",
    re.compile(r"following\s+address\(es\)\s+failed|could\s+not\s+be\s+delivered\s+to\s+"
               r"(?:all|one\s+or\s+more)\s+of\s+its\s+recipients", flags()),
    re.compile(r"^[ \t]{1,3}<?(?P<address>[^<>\s]+@[^<>\s:]+)>?:?[ \t]*\n"
               r"(?P<diagnostic>(?:[ \t]{3,}.+\n?){0,10})", flags()))
