"""Amazon SES's text notice (a message relayed through SES that could not be delivered);
SES's own bounces are RFC 3464 from MAILER-DAEMON@amazonses.com (inbound/rfc3464.py).

    An error occurred while trying to deliver the mail to the following recipients:
    nobody@example.com
"""

import re

from emailsched.domain.inbound.formats.base import TextFormat, flags

FORMAT = TextFormat(
    "ses",
    re.compile(r"error\s+occurred\s+while\s+trying\s+to\s+deliver\s+the\s+mail", flags()),
    re.compile(r"following\s+recipients:\s*\n(?:[ \t]*\n)?[ \t]*<?(?P<address>[^<>\s]+@[^<>\s]+)"
               r">?(?P<diagnostic>[\s\S]{0,300})", flags()))
