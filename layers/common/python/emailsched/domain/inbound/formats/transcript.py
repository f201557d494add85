"""An SMTP transcript quoted by the notice, whatever the server (Sendmail's "Transcript of
session follows", au's and others' "Each of the following recipients was rejected"): the
address of a `>>> RCPT TO:<...>` line and the remote reply on its `<<<` line.

    >>> RCPT To:<nobody@example.org>
    <<< 550 <nobody@example.org>, User Unknown

Samples: sisimai's lhost-v5sendmail-*.eml, lhost-ezweb-*.eml."""

import re

from emailsched.domain.inbound.formats.base import TextFormat, flags

FORMAT = TextFormat(
    "transcript",
    re.compile(r">>>\s*RCPT\s+TO\s*:", flags()),
    re.compile(r">>>\s*RCPT\s+TO\s*:\s*<(?P<address>[^<>\s]+@[^<>\s]+)>[^\n]*\n"
               r"(?:[ \t]*<<<[ \t]*(?P<diagnostic>.+))?", flags()))
