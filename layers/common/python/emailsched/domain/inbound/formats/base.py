"""A text bounce format: how to know it, where its addresses and reasons stand."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class TextFormat:
    name: str
    signature: re.Pattern[str]
    blocks: re.Pattern[str]

    def find(self, text: str) -> list[tuple[str, str]]:
        """(address, diagnostic) for each failed address, when the text is this format's."""
        if not self.signature.search(text):
            return []
        found = []
        for match in self.blocks.finditer(text):
            address = match.group("address").strip("<>:;,. \t'\"")
            if "@" in address:
                found.append((address, " ".join((match.group("diagnostic") or "").split())))
        return found


def flags() -> re.RegexFlag:
    return re.IGNORECASE | re.MULTILINE
