""""Remove me" replies: whether a reply asks us to stop writing ("unsubscribe", "remove
me", "take me off your list", "stop emailing me", "not interested, please stop", and their
close variants).

    asks_removal(text)  # -> bool, read from the authored part only (domain/inbox/quoting)

Each phrasing names what is to stop or be removed: *me*, *us*, *my address*, *your list*,
*these emails*. A verb alone does not ("remove the attachment", "stop by our booth",
"out of ideas"), and a negation right before it cancels it ("please don't remove me").
A bare "stop" or "unsubscribe" counts only as a reply of its own (a line, or the whole
message), as people answer "STOP" to a sequence.
"""

from __future__ import annotations

import re

from emailsched.domain.inbox.quoting import authored_text

_ME = (r"(?:me|us|myself|my\s+(?:e-?mail(?:\s+address)?|address|name|details"
       r"|contact(?:\s+details)?|info))")
_LIST = (r"(?:(?:your|the|this|that|any|all(?:\s+(?:of\s+)?your)?|these|those)\s+"
         r"(?:(?:mailing|e-?mail|contact|distribution|marketing|sales|outreach|cold)\s+)*"
         r"(?:list|lists|database|db|mailings?|sequence|campaign|crm|system))")
_MAIL = r"(?:e-?mails?|messages?|mails?|mailings?|spam|follow[- ]?ups?|newsletters?)"
_PHRASES = [
    r"\bunsubscribe(?:\s+(?:me|us))?\b(?!\s+(?:link|button|page)\s+(?:is|was)\s)",
    r"\bunsub\b",
    rf"\bremove\s+{_ME}\b",
    rf"\bremove\b.{{0,40}}\bfrom\s+{_LIST}",
    rf"\btake\s+{_ME}\s+off\b",
    rf"\btake\b.{{0,30}}\boff\s+{_LIST}",
    rf"\bdelete\s+{_ME}\b",
    rf"\bopt\s+(?:{_ME}\s+)?out\b",
    r"\bstop\s+(?:e-?mailing|mailing|contacting|messaging|spamming|writing(?:\s+to)?|"
    r"sending(?:\s+(?:me|us))?|bothering|pestering|harassing|reaching\s+out(?:\s+to)?)\b",
    rf"\bstop\s+(?:all\s+|these\s+|the\s+|your\s+)?{_MAIL}\b",
    rf"\b(?:don'?t|do\s+not|never|please\s+don'?t)\s+(?:ever\s+)?(?:e-?mail|contact|message|"
    rf"write(?:\s+to)?|send\s+(?:me|us))\s+(?:me|us|{_MAIL}|again|anymore|any\s+more)\b",
    rf"\bno\s+(?:more|further)\s+(?:{_MAIL}|contact)\b",
    rf"\b(?:don'?t|do\s+not)\s+want\s+(?:to\s+(?:receive|get|hear)|any\s+more|any|your|these)\b"
    rf"[^.!?\n]{{0,30}}\b{_MAIL}",
    r"\bleave\s+(?:me|us)\s+alone\b",
    r"\bnot\s+interested\b[\s,.;:!-]+(?:please\s+)?(?:stop|remove|unsubscribe|go\s+away)\b",
    r"\b(?:I|we)\s+(?:never|didn'?t)\s+(?:signed?\s+up|subscribe|opt(?:ed)?\s+in)\b",
    r"\bwhy\s+(?:do\s+you\s+keep|are\s+you)\s+(?:e-?mailing|sending|contacting)\b",
    r"\b(?:this\s+is\s+)?spam\b.{0,20}\b(?:stop|remove|report)",
]
_ASK = re.compile("|".join(f"(?:{phrase})" for phrase in _PHRASES), re.IGNORECASE)
_ALONE = re.compile(r"^\W*(?:please\s+)?(?:stop|unsubscribe|remove|opt[- ]?out)"
                    r"(?:\s+(?:it|please|now|thanks?|thank\s+you))*\W*$", re.IGNORECASE)
_NEGATED = re.compile(r"(?:\bdon'?t|\bdo\s+not|\bdoesn'?t|\bnot|\bno\s+need\s+to|\bnever)"
                      r"(?:\s+\w+)?\s*$", re.IGNORECASE)


def asks_removal(text: str) -> bool:
    """Whether the authored part of a reply asks to be removed or to get no more emails."""
    authored = authored_text(text)
    if any(_ALONE.match(line) for line in authored.splitlines()):
        return True
    for match in _ASK.finditer(authored):
        before = authored[max(0, match.start() - 20):match.start()]
        if match.group(0).lower().startswith(("don", "do ", "never", "please don")) \
                or not _NEGATED.search(before):
            return True
    return False
