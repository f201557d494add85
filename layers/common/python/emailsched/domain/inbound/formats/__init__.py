"""Text bounces, one module per mail server's format: each says how to know its text
(`signature`) and where a failed address and its diagnostic stand (`blocks`, a pattern
with the groups `address` and `diagnostic`). flufl.bounce finds the addresses of many
more formats (inbound/detect.py); these add the words that say hard or soft.

    for found in matches(explanation): ...   # (format, address, diagnostic), in order
"""

from __future__ import annotations

from emailsched.domain.inbound.formats import (
    dragonfly,
    exchange,
    exim,
    gmail,
    opensmtpd,
    postfix,
    qmail,
    sendmail,
    ses,
    transcript,
    yahoo,
)

# Most specific first: Postfix and Gmail notices may quote another server's words.
FORMATS = (gmail.FORMAT, exchange.FORMAT, ses.FORMAT, exim.FORMAT, postfix.FORMAT,
           yahoo.FORMAT, qmail.FORMAT, sendmail.FORMAT, opensmtpd.FORMAT, dragonfly.FORMAT,
           transcript.FORMAT)


def matches(text: str) -> list[tuple[str, str, str]]:
    """(format name, address, diagnostic) from the first format that recognises `text`."""
    for text_format in FORMATS:
        found = text_format.find(text)
        if found:
            return [(text_format.name, address, why) for address, why in found]
    return []
