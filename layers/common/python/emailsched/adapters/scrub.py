"""Keeping a secret out of what a server said back: our own messages never carry the
password, but a server may echo what it was sent (a password, or AUTH PLAIN's base64).

Only whole tokens are replaced: a password `x` must not turn "extension" into "e***tension"
(the user would read a mangled reply, and learn the password's letters from the gaps).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# A token ends at whitespace or at punctuation that quotes or separates it in a reply.
_BEFORE = r"(?<![^\s\"'<>()\[\]{}:=,;])"
_AFTER = r"(?![^\s\"'<>()\[\]{}:,;.!?])"


def scrub(message: str, secrets: Iterable[str | None]) -> str:
    """`message` with each of `secrets` that stands as a whole token replaced by ***."""
    for secret in sorted(filter(None, secrets), key=len, reverse=True):
        message = re.sub(_BEFORE + re.escape(secret) + _AFTER, "***", message)
    return message
