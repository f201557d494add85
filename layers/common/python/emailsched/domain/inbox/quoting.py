"""The part of a reply its author wrote: quoted text (`> ...` lines, "On ... wrote:",
Outlook's "-----Original Message-----" or "From: ... Sent: ..." block) cut off.

The readers of replies look only at this part: our own email, quoted below a reply, carries
an unsubscribe link and words such as "remove" that the lead did not write.
"""

from __future__ import annotations

import re

_QUOTE_START = re.compile(
    r"^\s*(?:-{2,}\s*original message\s*-{2,}"
    r"|on\b.{0,200}\bwrote:\s*$"
    r"|from:\s.+$"
    r"|_{10,}\s*$)",
    re.IGNORECASE | re.MULTILINE)


def authored_text(text: str) -> str:
    """`text` up to the first quoted block, without `>` lines."""
    found = _QUOTE_START.search(text)
    head = text[:found.start()] if found else text
    return "\n".join(line for line in head.splitlines() if not line.lstrip().startswith(">"))
