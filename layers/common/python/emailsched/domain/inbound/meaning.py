"""Hard or soft: what a failed delivery means for the address, read from its enhanced
status where that is specific, otherwise from the SMTP reply and diagnostic text.

- soft: action `delayed`, a 4.x.x status, or (with no status) a 4xx reply.
- hard by code: 5.1.x (bad mailbox or domain; not 5.1.7/5.1.8, which blame our sender),
  5.2.1 (disabled), 5.4.4 (no such domain), 5.4.1 with "access denied" or "recipient
  address rejected" (Microsoft 365's unknown recipient), 5.4.310 (Microsoft 365: no such
  domain in DNS); but 5.2.1 with "rate" or "too many" is Gmail throttling: soft.
- other specific 5.x.x codes (5.2.2 full, 5.3.4 too big, 5.7.x policy): soft.
- a generic status (5.0.0, 5.5.0, ...) or none: the diagnostic's own code if it has one,
  else the text: full mailbox, quota, too large, spam, blocked, policy, rate, try again
  are soft (checked first: "mailbox unavailable: quota exceeded" is a full mailbox); user
  unknown, no such user/mailbox/domain, does not exist, disabled, host unknown are hard;
  a permanent failure that says no reason is soft.

A soft reading never suppresses at once: several in a row do (SOFT_BOUNCES_BEFORE_SUPPRESS).
The soft words are checked first: "mailbox unavailable: quota exceeded" is a full mailbox.
"""

from __future__ import annotations

import re

from emailsched.domain.inbound.reading import Bounce

_HARD_TEXT = re.compile(
    r"user(?:name)?\s+unknown|unknown\s+(?:user|recipient|address|local\s*part|mailbox)"
    r"|no\s+such\s+(?:user|mailbox|recipient|address|account|person|domain|host)"
    r"|(?:mailbox|user|recipient|address|account|domain)\s+(?:\S+\s+){0,2}"
    r"(?:does\s*n[o']t\s+exist|not\s+found|unavailable|disabled|inactive|deactivated"
    r"|is\s+not\s+valid|invalid|unknown)"
    r"|does\s*n[o']t\s+exist|doesn't\s+have\s+an?\s+[\w.-]+\s+account"
    r"|account\s+(?:has\s+been\s+)?(?:disabled|closed|deleted|suspended|terminated|expired)"
    r"|(?:domain|host)\s+(?:name\s+)?not\s+found|host\s+(?:or\s+domain\s+name\s+)?unknown"
    r"|unrouteable\s+address|unknown\s+domain|no\s+mail(?:box)?\s+here"
    r"|invalid\s+(?:mailbox|recipient|address)|recipient\s+address\s+rejected"
    r"|address\s+rejected|not\s+a\s+valid\s+(?:mailbox|recipient|user)"
    r"|is\s+not\s+a\s+known\s+user|unknown\s+or\s+illegal\s+alias|user\s+not\s+(?:found|known)"
    r"|no\s+longer\s+(?:active|valid|in\s+use|with)|RecipientNotFound|DNS\s+failure"
    r"|non-?existent|undeliverable\s+address|address\s+(?:is\s+)?(?:unknown|invalid)"
    r"|bad\s+destination\s+mailbox|name\s+service\s+error|not\s+our\s+customer"
    r"|not\s+recogni[sz]ed|no\s+matches\s+to\s+nameserver\s+query|invalid\s+(?:\w+\s+){0,3}userid"
    r"|unknown\s+local[-\s]part|not\s+listed\s+in|no\s+such\s+(?:local\s+)?user"
    r"|unknown\s+host|n'existe\s+pas|existiert\s+nicht|no\s+existe|non\s+esiste"
    r"|does\s+not\s+have\s+a\s+final\s+(?:e-?mail\s+)?delivery\s+point"
    r"|dns\s+lookup\s+failure|host\s+\S+\s+not\s+found|no\s+mx\s+record|user\s+not\s+exist"
    r"|does\s+not\s+accept\s+mail|no\s+smtp\s+service|domain\s+is\s+not\s+reachable"
    r"|did\s+not\s+(?:exactly\s+)?match\s+an?\s+\S+\s+(?:e-?mail\s+)?address",
    re.IGNORECASE)
_SOFT_TEXT = re.compile(
    r"(?:mailbox|folder)\s+(?:is\s+)?full|over\s*(?:\w+\s+)?quota|quota\s+exceeded|exceeded\s+(?:\w+\s+){0,2}quota"
    r"|storage\s+(?:allocation|space)|insufficient\s+(?:system\s+)?storage|disk\s+full"
    r"|too\s+large|too\s+big|size\s+(?:limit|exceeds)|exceeds?\s+(?:\w+\s+){0,3}size"
    r"|spam|blocked|block\s*list|blacklist|policy|rejected\s+for\s+policy|reputation"
    r"|rate\s*limit|too\s+many|try\s+(?:again\s+)?later|temporar|deferred|timed?\s*out"
    r"|not\s+yet\s+been\s+delivered|will\s+(?:continue\s+to\s+)?(?:retry|try)|delayed",
    re.IGNORECASE)
_FAILURE_STATUS = re.compile(r"(?<![\d.])([45])\.(\d{1,3})\.(\d{1,3})(?![\d.]*\d)")
_REPLY_CODE = re.compile(r"(?<![\d.])([245])\d\d(?:[ -]|$)")
_OURS = frozenset({"5.1.7", "5.1.8"})  # our own sender address is bad: not the recipient's
GENERIC = frozenset({"5.0.0", "5.1.0", "5.5.0", "5.3.0", "5.4.0", "5.2.0", "5.6.0", "5.7.0"})
_DISABLED = re.compile(
    r"(?:account|mailbox)\s+(?:is\s+|has\s+been\s+)?(?:blocked|locked|frozen|disabled|suspended)"
    r"|disabled\s+recipient|recipient\s+(?:account\s+)?(?:is\s+)?disabled", re.IGNORECASE)
_RATE = re.compile(r"\brate\b|too\s+many", re.IGNORECASE)
_M365_UNKNOWN = re.compile(r"access\s+denied|recipient\s+address\s+rejected|not\s+found",
                           re.IGNORECASE)


def bounce_of(status: str | None, diagnostic: str = "", action: str = "failed") -> Bounce:
    """Hard or soft for one failed (or delayed) recipient."""
    code = _specific(status, diagnostic)
    if action == "delayed" or (code or "").startswith("4") or (
            code is None and _reply_class(diagnostic) == "4"):
        return Bounce.SOFT
    if code is not None and code not in GENERIC:
        return _by_code(code, diagnostic)
    if _DISABLED.search(diagnostic):  # before the soft words: "account is blocked"
        return Bounce.HARD
    if _SOFT_TEXT.search(diagnostic):
        return Bounce.SOFT
    return Bounce.HARD if _HARD_TEXT.search(diagnostic) else Bounce.SOFT


def failure_status(text: str) -> str | None:
    """The first specific RFC 3463 failure code (4.x.x or 5.x.x) in a text, else its first
    generic one, else None: a version number such as "Mailman 2.0.12" is not one. SES
    writes "5.1.0 - Unknown address error 550-'5.2.2 ... Mailbox Full'"."""
    codes = [".".join(m.groups()) for m in _FAILURE_STATUS.finditer(text)]
    specific = [code for code in codes if code not in GENERIC]
    chosen = specific or codes
    return chosen[0] if chosen else None


def _specific(status: str | None, diagnostic: str) -> str | None:
    """The report's status, or the diagnostic's own code where the status is generic."""
    said = failure_status(diagnostic)
    if status is None or (status in GENERIC and said is not None and said[0] == status[0]):
        return said or status
    return status


def _by_code(code: str, diagnostic: str) -> Bounce:
    subject = code.split(".")[1]
    if code in _OURS:
        return Bounce.SOFT
    if code == "5.2.1" and _RATE.search(diagnostic):
        return Bounce.SOFT  # Gmail: "receiving mail at a rate that prevents additional"
    if subject == "1" or code in ("5.2.1", "5.4.4", "5.7.13"):  # 5.7.13: account disabled
        return Bounce.HARD
    if code == "5.4.1" and _M365_UNKNOWN.search(diagnostic):
        return Bounce.HARD
    if code == "5.4.310":
        return Bounce.HARD  # Microsoft 365: the recipient's domain does not exist in DNS
    return Bounce.SOFT


def _reply_class(text: str) -> str | None:
    found = _REPLY_CODE.search(text)
    return found.group(1) if found else None
