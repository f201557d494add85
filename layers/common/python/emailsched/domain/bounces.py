"""What an SMTP failure means for the email, the address and the sender (RFC 3463 codes).

| class             | replies                                            | then                 |
|-------------------|----------------------------------------------------|----------------------|
| `hard_bounce`     | 5.1.x (mailbox, domain, address), 5.2.1 (disabled) | fail, suppress       |
| `policy`          | 5.7.x (blocked, DMARC, spam, auth)                 | fail, count (sender) |
| `other_permanent` | other 5xx (5.2.2 mailbox full, 5.3.4 too big...)   | fail                 |
| `sender_deferral` | 421; 4.7.x (rate, reputation); 45x "rate limited"  | hold sender, no try  |
| `transient`       | other 4xx, or no reply at all (connection lost)    | retry with backoff   |

5.1.7 and 5.1.8 name *our* sender address as bad, so they are `other_permanent`: the
recipient is not to blame and is not suppressed. A reply without an enhanced code is
read from its basic code, and a 55x reply says a mailbox does not exist only in a few
unambiguous phrasings ("user unknown", "no such user", ...).
"""

from __future__ import annotations

import re
from enum import StrEnum


class BounceClass(StrEnum):
    HARD_BOUNCE = "hard_bounce"
    POLICY = "policy"
    OTHER_PERMANENT = "other_permanent"
    SENDER_DEFERRAL = "sender_deferral"
    TRANSIENT = "transient"

    @property
    def is_permanent(self) -> bool:
        return self in _PERMANENT

    @property
    def suppresses_recipient(self) -> bool:
        return self is BounceClass.HARD_BOUNCE


_PERMANENT = frozenset({BounceClass.HARD_BOUNCE, BounceClass.POLICY, BounceClass.OTHER_PERMANENT})
_ENHANCED = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.]*\d)")
_SENDER_ADDRESS_CODES = frozenset({"5.1.7", "5.1.8"})
_NO_SUCH_MAILBOX = re.compile(
    r"user unknown|unknown user|no such (user|mailbox|recipient)|does not exist|"
    r"mailbox not found|recipient not found|invalid recipient|unknown recipient|"
    r"(doesn't|does not) have an? [\w.-]+ account",
    re.IGNORECASE)
_RATE_WORDS = re.compile(r"rate.?limit|throttl|reputation|too many (messages|connections)",
                         re.IGNORECASE)


def enhanced_status(text: str) -> str | None:
    """The first RFC 3463 code (`5.1.1`) in a reply's text, or None."""
    match = _ENHANCED.search(text)
    return ".".join(match.groups()) if match else None


def classify_status(status: str) -> BounceClass:
    """The class of an enhanced status code alone (as a DSN's `Status:` gives it)."""
    klass, subject, _detail = status.split(".")
    if klass == "5":
        return _classify_permanent_status(status, subject)
    if klass == "4":
        return BounceClass.SENDER_DEFERRAL if subject == "7" else BounceClass.TRANSIENT
    raise ValueError(f"{status} is not a failure")


def _classify_permanent_status(status: str, subject: str) -> BounceClass:
    if status in _SENDER_ADDRESS_CODES:
        return BounceClass.OTHER_PERMANENT
    if subject == "1" or status == "5.2.1":
        return BounceClass.HARD_BOUNCE
    if subject == "7":
        return BounceClass.POLICY
    return BounceClass.OTHER_PERMANENT


def classify_reply(code: int | None, text: str = "") -> BounceClass:
    """The class of a failed send: the reply's code and text, or code None (no reply)."""
    if code is None:
        return BounceClass.TRANSIENT
    if not 400 <= code <= 599:
        raise ValueError(f"{code} is not a failure reply")
    if code == 421:  # the server closes the connection: a verdict on the sender, not the email
        return BounceClass.SENDER_DEFERRAL
    status = enhanced_status(text)
    if status is not None and status[0] == str(code)[0]:
        return classify_status(status)
    return _classify_basic(code, text)


def _classify_basic(code: int, text: str) -> BounceClass:
    if code >= 500:
        if code in (550, 551, 553, 554) and _NO_SUCH_MAILBOX.search(text):
            return BounceClass.HARD_BOUNCE
        return BounceClass.OTHER_PERMANENT
    return BounceClass.SENDER_DEFERRAL if _RATE_WORDS.search(text) else BounceClass.TRANSIENT


def should_pause_batch(sent: int, hard_bounces: int, percent: float, minimum: int = 20) -> bool:
    """Whether a batch's hard bounces reach `percent` of its `sent` (attempted, bounces
    included) sends, once it has at least `minimum` of them."""
    return sent >= max(minimum, 1) and hard_bounces * 100 >= percent * sent


COMPLAINT_PAUSE_PERCENT = 0.3  # Gmail's bulk-sender rule: spam reports under 0.3 %
COMPLAINT_WINDOW = 1000  # the sender's last sends the rate is taken over


def should_pause_for_complaints(sends: int, complaints: int,
                                percent: float = COMPLAINT_PAUSE_PERCENT,
                                minimum: int = 20) -> bool:
    """Whether a sender's complaints are over `percent` of its last sends (at most
    COMPLAINT_WINDOW of them, once there are at least `minimum`)."""
    return sends >= max(minimum, 1) and complaints * 100 > percent * sends
