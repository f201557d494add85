"""Sendmail's "Returned mail": the failed addresses under "permanent fatal errors", their
reasons in parentheses or in the transcript's `<<<` replies.

       ----- The following addresses had permanent fatal errors -----
    <nobody@example.net>
        (reason: 550 5.1.1 <nobody@example.net>... User unknown)

Sample: tests/data/bounces/flufl/sendmail_01.txt."""

import re

from emailsched.domain.inbound.formats.base import TextFormat, flags

FORMAT = TextFormat(
    "sendmail",
    re.compile(r"following\s+addresses\s+had\s+(?:permanent\s+fatal|transient\s+non-fatal)"
               r"\s+errors", flags()),
    re.compile(r"^<?(?P<address>[^<>\s()]+@[^<>\s()]+)>?[ \t]*\n"
               r"(?P<diagnostic>(?:[ \t]+\(.+\)\n?)*(?:[\s\S]{0,40}?transcript\s+of\s+"
               r"session\s+follows\s*-*\s*\n(?:.+\n?){0,6})?)", flags()))
