"""Out-of-office replies: whether an automatic reply says its author is away, and the date
they are back, read from the common English phrasings ("until 5 January", "back on Monday,
11 January 2027", "returning 2027-01-11", "out of the office from 3 to 8 January").

    is_out_of_office(subject, text)          # -> bool
    return_date(text, received_at)           # -> date | None

How the date is found: every date-like fragment of the authored text (domain/inbox/quoting)
is a candidate when the words just before it say "until / till / through", "back / return
/ returning / in the office (again) (on)" or close a range ("from X to Y", "X - Y"). Each
candidate is read by dateparser relative to when the message arrived, preferring the future
(a "5 January" written in December is next year's), and the latest one within a year after
arrival is the answer: "from 3 January to 8 January" answers the 8th. A date before the
message arrived, or none found, is None: follow-ups then go on as planned.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import dateparser

from emailsched.domain.inbox.quoting import authored_text

_MONTH = (r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?"
          r"|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?")
_WEEKDAY = (r"(?:mon(?:day)?|tue(?:s(?:day)?)?|wed(?:nesday)?|thu(?:rs(?:day)?)?"
            r"|fri(?:day)?|sat(?:urday)?|sun(?:day)?)\.?")
_DAY = r"(?:[0-3]?\d)(?:st|nd|rd|th)?"
_YEAR = r"(?:\d{4})"
_DATE = re.compile(
    r"(?<![\w-])(?:"
    rf"\d{{4}}-\d{{2}}-\d{{2}}"                                       # 2027-01-11
    rf"|\d{{1,2}}[./]\d{{1,2}}(?:[./]\d{{2,4}})?"                      # 11/01/2027, 11.1.
    rf"|(?:{_WEEKDAY},?\s+)?(?:the\s+)?{_DAY}(?:\s+of)?\s+{_MONTH},?(?:\s+{_YEAR})?"  # 11 Jan
    rf"|(?:{_WEEKDAY},?\s+)?{_MONTH}\s+(?:the\s+)?{_DAY}(?:,?\s+{_YEAR})?"          # Jan 11
    rf"|{_WEEKDAY}(?:\s+{_DAY})?"                                     # Monday, Mon 11
    r"|tomorrow"
    r")(?![\w-])", re.IGNORECASE)
# Words that, right before a date, make it the end of the absence.
_BEFORE = re.compile(
    r"(?:\buntil|\btill|\btil|\bthrough|\bthru|\bto|\bback|\breturn(?:s|ing)?"
    r"|\bin\s+the\s+office|\bin\s+office|\bat\s+(?:my\s+)?desk|\bavailable|\bresume"
    r"|\breachable|\bthrough\s+to|[-\u2013\u2014])"
    r"(?:\s+(?:again|to\s+(?:the\s+)?(?:office|work)|in\s+the\s+office|at\s+work|to\s+my\s+desk"
    r"|and\s+including|including))?"
    r"(?:\s+(?:on|by|from|as\s+of|after|the|,))*\s*$", re.IGNORECASE)
_RANGE_END = re.compile(r"(?:\bto|\buntil|\btill|\bthrough|[-\u2013\u2014])\s*$", re.IGNORECASE)
_AWAY = re.compile(
    r"\bout\s+of\s+(?:the\s+)?office\b|\bOOO\b|\bOOTO\b|\bon\s+(?:annual\s+|parental\s+"
    r"|maternity\s+|paternity\s+|sick\s+|medical\s+|study\s+)?leave\b|\bon\s+(?:vacation|holidays?"
    r"|sabbatical|a\s+business\s+trip|business\s+travel|PTO)\b|\bannual\s+leave\b"
    r"|\b(?:currently|presently)\s+(?:away|travell?ing|unavailable|out)\b"
    r"|\bI\s*(?:'m|am|'ll\s+be|\s+will\s+be)\s+(?:away|out(?!\s+of\s+(?!(?:the\s+)?office))|travell?ing"
    r"|off)\b"
    r"|\b(?:will|I'?ll)\s+(?:be\s+back|return)\b|\bback\s+(?:in\s+the\s+office|on|at\s+work"
    r"|at\s+my\s+desk)\b|\breturn\s+to\s+(?:the\s+office|work)\b"
    r"|\blimited\s+access\s+to\s+(?:my\s+)?e-?mail\b|\baway\s+from\s+(?:the\s+office|my\s+desk|e-?mail)\b"
    r"|\bauto(?:matic)?[- ]?reply\b|\bvacation\s+(?:reply|responder)\b|\bno\s+longer\s+with\b",
    re.IGNORECASE)
_LOOKBACK = 48
# A return date further out than this is more likely a misreading ("until 1 December"
# written after it passed, read as next year's) than an absence.
_HORIZON = timedelta(days=275)


def is_out_of_office(subject: str, text: str) -> bool:
    """Whether an automatic reply says its author is away (rather than, say, a ticket
    system's acknowledgement)."""
    return bool(_AWAY.search(subject) or _AWAY.search(authored_text(text[:2000])))


def return_date(text: str, received_at: datetime) -> date | None:
    """The last day of the absence or the day they are back, as written; None if none."""
    found: list[date] = []
    text = authored_text(text[:4000])
    for match in _DATE.finditer(text):
        before = text[max(0, match.start() - _LOOKBACK):match.start()]
        if not (_BEFORE.search(before) or _after_range_start(text, match)):
            continue
        readings = [day for day in _readings(match.group(0), received_at)
                    if received_at.date() <= day <= (received_at + _HORIZON).date()]
        found += [min(readings)] if readings else []
    return max(found) if found else None


def _after_range_start(text: str, match: re.Match[str]) -> bool:
    """`match` ends a range whose start is another date ("3 January - 8 January")."""
    before = text[max(0, match.start() - _LOOKBACK):match.start()]
    head = _RANGE_END.search(before)
    return head is not None and _DATE.search(before[:head.start()].rstrip(" ,")) is not None


def _readings(fragment: str, received_at: datetime) -> list[date]:
    """The dates `fragment` may mean, day first and month first (01/04 is ambiguous; the
    caller keeps the nearer reading that falls in the coming months: absences are short)."""
    base = received_at.replace(tzinfo=None)
    cleaned = " ".join(re.sub(r"\bthe\b|\bof\b", " ", fragment, flags=re.IGNORECASE).split())
    readings = []
    orders = ("DMY", "MDY") if fragment[:1].isdigit() else ("DMY",)
    for order in orders:
        parsed = dateparser.parse(cleaned, languages=["en"], settings={
            "PREFER_DATES_FROM": "future", "RELATIVE_BASE": base, "DATE_ORDER": order})
        if parsed is not None:
            readings.append(parsed.date())
    return readings
