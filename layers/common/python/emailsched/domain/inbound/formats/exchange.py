"""Exchange and Microsoft 365 non-delivery reports (text or HTML): the address, then the
remote server's answer (`Remote Server returned '550 5.1.10 RESOLVER.ADR.RecipientNotFound'`)
or Exchange 2003's sentence under it ("The recipient name is not recognized").

    Your message to nobody@example.com couldn't be delivered.
    ...
    Diagnostic information for administrators:
    nobody@example.com
    Remote Server returned '550 5.4.1 Recipient address rejected: Access denied'

Samples: tests/data/bounces/flufl/microsoft_*.txt, groupwise_02.txt."""

import re

from emailsched.domain.inbound.formats.base import TextFormat, flags

FORMAT = TextFormat(
    "exchange",
    re.compile(r"did\s+not\s+reach\s+the\s+following\s+recipient|could\s+not\s+be\s+reached"
               r"|delivery\s+has\s+failed\s+to\s+these\s+recipients|couldn't\s+be\s+delivered"
               r"|diagnostic\s+information\s+for\s+administrators", flags()),
    re.compile(r"(?:SMTP=|^[ \t]*|reached:\s*)<?(?P<address>[^<>\s;=]+@[^<>\s;]+?)>?"
               r"(?:\s+on\s+\w{3},?\s.+)?;?[ \t]*\n(?:.*\d{4}\s*\n)?"
               r"(?P<diagnostic>(?:(?:[ \t]+|Remote\s+Server|#).+\n?){0,4})", flags()))
