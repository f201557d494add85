"""Gmail's and Google Workspace's text notices: the address after "failed permanently:"
or in "wasn't delivered to", the reason after "The response from the remote server was:"
or "Technical details of permanent failure:".

    Delivery to the following recipient failed permanently:

         nobody@example.com

    Technical details of permanent failure:
    Google tried to deliver your message, but it was rejected by the server for the
    recipient domain example.com by mx.example.com. [192.0.2.1].
    The error that the other server returned was:
    550 5.1.1 <nobody@example.com>: Recipient address rejected: User unknown

Sample: tests/data/bounces/flufl/simple_17.txt (the reason redacted)."""

import re

from emailsched.domain.inbound.formats.base import TextFormat, flags

FORMAT = TextFormat(
    "gmail",
    re.compile(r"delivery\s+to\s+the\s+following\s+recipients?\s+(?:failed|has\s+been\s+delayed)"
               r"|your\s+message\s+wasn't\s+delivered\s+to", flags()),
    re.compile(r"(?:(?:failed\s+permanently|been\s+delayed|failed):\s*\n\s*|wasn't\s+delivered"
               r"\s+to\s+)(?P<address>[^<>\s]+@[^<>\s]+)(?P<diagnostic>[\s\S]{0,700})",
               flags()))
