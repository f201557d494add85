"""The message itself: MIME that strict receivers accept, rendered fast for a batch.

Every email is `multipart/alternative` (a text part made from the HTML with its link
targets kept, then the HTML), with one Message-ID, a Date, the RFC 8058 pair
(`List-Unsubscribe`, `List-Unsubscribe-Post`), names RFC 2047-encoded and IDN domains as
A-labels. Without SMTPUTF8 the whole message is 7-bit (non-ASCII parts are
quoted-printable), so it needs no 8BITMIME either.

Rendering a MIME message with the email package took about 3 ms here. Emails that differ
only in To, Message-ID, Date and their unsubscribe URL (a batch without per-recipient
fields) share one rendering: the first is rendered in full and cut around those values,
and the others are pasted into the pieces. The URL has the same length for every email
of a deployment and only characters that quoted-printable writes as they are, so pasting
it never moves a line break. Emails whose body differs per recipient are rendered in full.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from email.headerregistry import HeaderRegistry
from email.message import EmailMessage
from email.policy import SMTP, SMTPUTF8, default
from email.utils import format_datetime, formatdate
from threading import Lock

from emailsched.domain.addresses import header_address
from emailsched.domain.outgoing import OutgoingEmail
from emailsched.domain.text_part import html_to_text
from emailsched.domain.unsubscribe import list_unsubscribe_headers

_LINE_ENDS = re.compile(rb"\r\n|\n|\r")
_LEADING_DOT = re.compile(rb"(?m)^\.")
# Values the policy writes out exactly as given, on one line.
_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+")
_PLAIN_MESSAGE_ID = re.compile(r"<[A-Za-z0-9._-]+@[A-Za-z0-9.-]+>")
_PASTABLE_URL = re.compile(r"[A-Za-z0-9:/._~-]+")
MAX_HEADER_LINE = 78
TEMPLATES_KEPT = 8
_FOLDED_UNSUBSCRIBE = b"List-Unsubscribe:\r\n <"
_URL_MARK = "\x00"  # never in a subject or body (both are refused with NUL)


class _CachingHeaderRegistry(HeaderRegistry):
    """The standard registry, but each header class is made once: HeaderRegistry builds a
    new class with type() on every lookup: this took a personalised email from 1.9 to
    1.35 ms (bench "rendering")."""

    def __init__(self) -> None:
        super().__init__()
        self._classes: dict[str, type] = {}

    def __getitem__(self, name: str) -> type:
        key = name.lower()
        found = self._classes.get(key)
        if found is None:
            found = self._classes[key] = super().__getitem__(name)
        return found


# The default policy (what EmailMessage() uses) with the caching registry.
_POLICY = default.clone(header_factory=_CachingHeaderRegistry())


def build_message(email: OutgoingEmail, date: str | None = None,
                  smtputf8: bool = False) -> EmailMessage:
    """The whole message of one email. `smtputf8`: the server offered SMTPUTF8 and an
    address needs it, so addresses may stay UTF-8 (RFC 6532)."""
    message = EmailMessage(policy=_POLICY)
    message["From"] = header_address(email.sender_name, email.sender_email, smtputf8)
    message["To"] = header_address(None, email.recipient, smtputf8)
    message["Subject"] = email.subject
    message["Message-ID"] = email.message_id
    message["Date"] = date or formatdate(usegmt=True)
    if email.unsubscribe_url:
        for name, value in list_unsubscribe_headers(email.unsubscribe_url).items():
            message[name] = value
    for name, value in email.headers:
        message[name] = value
    text = html_to_text(email.text_source or email.body_html) or "\n"
    message.set_content(text, cte=_transfer_encoding(text, smtputf8))
    message.add_alternative(email.body_html, subtype="html",
                            cte=_transfer_encoding(email.body_html, smtputf8))
    return message


def _transfer_encoding(text: str, smtputf8: bool) -> str | None:
    """None (the package's choice: 7bit, or 8bit under SMTPUTF8, which implies 8BITMIME)
    or quoted-printable: never raw 8-bit without SMTPUTF8, never base64 (whose layout a
    pasted URL would change)."""
    short = all(len(line.encode()) <= MAX_HEADER_LINE for line in text.splitlines())
    return None if short and (smtputf8 or text.isascii()) else "quoted-printable"


def dot_stuffed(raw: bytes) -> bytes:
    data = _LEADING_DOT.sub(b"..", _LINE_ENDS.sub(b"\r\n", raw))
    return data if data.endswith(b"\r\n") else data + b"\r\n"


def render_in_full(email: OutgoingEmail, date: str, smtputf8: bool = False) -> bytes:
    payload = build_message(email, date, smtputf8).as_bytes(policy=SMTPUTF8 if smtputf8
                                                            else SMTP)
    # The policy folds a long `<url>` onto a line of its own, which some parsers (Python's
    # among them) then read with a leading space; one line of up to 998 is allowed.
    return dot_stuffed(payload.replace(_FOLDED_UNSUBSCRIBE, b"List-Unsubscribe: <", 1))


def message_data(email: OutgoingEmail, smtputf8: bool = False) -> bytes:
    """What goes between DATA and the final ".": the message, rendered and dot-stuffed."""
    date = format_datetime(datetime.now(UTC))
    to = header_address(None, email.recipient, smtputf8)
    key = _key(email, to) if not smtputf8 else None
    if key is None:
        return render_in_full(email, date, smtputf8)
    template = _templates.get(key)
    if template is not None:
        return template.render(to, email.message_id, date, email.unsubscribe_url)
    data = render_in_full(email, date)
    # Cut only a rendering seen before: a body personalised per recipient is never seen
    # twice, and cutting costs about as much as rendering.
    if _seen.add(key):
        template = _Template.cut(data, to, email.message_id, date, email.unsubscribe_url)
        if template is not None:
            _templates.put(key, template)
    return data


def _key(email: OutgoingEmail, to: str) -> tuple[object, ...] | None:
    """What emails sharing a rendering have in common; None when this one cannot share."""
    url = email.unsubscribe_url
    if email.text_source is not None:  # tracked: its links and pixel name this email only
        return None
    if not (len(to) + 4 <= MAX_HEADER_LINE and len(email.message_id) + 12 <= MAX_HEADER_LINE
            and _PLAIN_ADDRESS.fullmatch(to) and _PLAIN_MESSAGE_ID.fullmatch(email.message_id)
            and (not url or _PASTABLE_URL.fullmatch(url))):
        return None
    subject, body = email.subject, email.body_html
    if url:
        subject, body = subject.replace(url, _URL_MARK), body.replace(url, _URL_MARK)
    return (email.sender_name, email.sender_email, subject, body, len(url), email.headers)


_SOFT_BREAK = b"=\r\n"  # quoted-printable's line break inside a long line


@dataclass(frozen=True)
class _Template:
    """A rendered message cut around its To, Message-ID and Date lines and every
    occurrence of its unsubscribe URL: pieces[i] comes before slots[i]. A URL slot keeps
    where quoted-printable broke the line inside the URL, to break the next one alike."""

    pieces: tuple[bytes, ...]
    slots: tuple[tuple[int, tuple[int, ...]], ...]  # (0 To | 1 Message-ID | 2 Date | 3 URL,
    #                                                  soft breaks before these URL offsets)

    def render(self, to: str, message_id: str, date: str, url: str) -> bytes:
        values = (b"To: " + to.encode() + b"\r\n",
                  b"Message-ID: " + message_id.encode() + b"\r\n",
                  b"Date: " + date.encode() + b"\r\n", url.encode())
        out = [self.pieces[0]]
        for (slot, breaks), piece in zip(self.slots, self.pieces[1:], strict=True):
            out += (_with_breaks(values[slot], breaks) if breaks else values[slot], piece)
        return b"".join(out)

    @classmethod
    def cut(cls, data: bytes, to: str, message_id: str, date: str,
            url: str) -> _Template | None:
        """None where the policy did not write the three lines on one line each."""
        header_end = data.find(b"\r\n\r\n") + 2
        spans: list[tuple[int, int, int, tuple[int, ...]]] = []
        for slot, line in enumerate((f"To: {to}\r\n", f"Message-ID: {message_id}\r\n",
                                     f"Date: {date}\r\n")):
            at = data.find(line.encode(), 0, header_end)
            if at < 0 or (at > 0 and data[at - 2:at] != b"\r\n"):
                return None
            end = at + len(line)
            if data[end:end + 1] in (b" ", b"\t"):  # folded onto the next line
                return None
            spans.append((at, end, slot, ()))
        if url:
            for match in _url_pattern(url).finditer(data):
                spans.append((match.start(), match.end(), 3, _breaks_in(match.group())))
        spans.sort()
        pieces, start = [], 0
        for at, end, _, _ in spans:
            if at < start:
                return None  # overlapping values: no safe cut
            pieces.append(data[start:at])
            start = end
        pieces.append(data[start:])
        return cls(tuple(pieces), tuple((slot, breaks) for _, _, slot, breaks in spans))


def _url_pattern(url: str) -> re.Pattern[bytes]:
    """`url` as written in the message: a soft break may come before any character but the
    first, and a dot after one starts a line, so it was dot-stuffed."""
    soft = re.escape(_SOFT_BREAK)
    parts = [re.escape(url[:1].encode())]
    for char in url[1:].encode():
        dot = char == ord(".")
        parts.append(b"(?:" + soft + (rb"\." if dot else b"") + b")?" + re.escape(bytes([char])))
    return re.compile(b"".join(parts))


def _breaks_in(found: bytes) -> tuple[int, ...]:
    """The URL offsets that a soft break precedes in `found`."""
    breaks, offset, at = [], 0, 0
    while at < len(found):
        if found.startswith(_SOFT_BREAK, at):
            breaks.append(offset)
            at += len(_SOFT_BREAK) + (1 if found.startswith(b"..", at + 3) else 0)
        else:
            offset, at = offset + 1, at + 1
    return tuple(breaks)


def _with_breaks(value: bytes, breaks: tuple[int, ...]) -> bytes:
    parts: list[bytes] = []
    last = 0
    for offset in breaks:
        stuffed = b"." if value[offset:offset + 1] == b"." else b""
        parts += (value[last:offset], _SOFT_BREAK, stuffed)
        last = offset
    parts.append(value[last:])
    return b"".join(parts)


class _Lru:
    """A small thread-safe LRU of templates (workers send from several threads)."""

    def __init__(self, size: int):
        self._size, self._items = size, OrderedDict[tuple[object, ...], _Template]()
        self._lock = Lock()
        self.hits = self.misses = 0

    def get(self, key: tuple[object, ...]) -> _Template | None:
        with self._lock:
            found = self._items.get(key)
            if found is None:
                self.misses += 1
                return None
            self.hits += 1
            self._items.move_to_end(key)
            return found

    def put(self, key: tuple[object, ...], template: _Template) -> None:
        with self._lock:
            self._items[key] = template
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.hits = self.misses = 0


class _Seen:
    """The keys of the last few renderings in full, to tell which come again."""

    def __init__(self, size: int):
        self._size, self._keys = size, OrderedDict[tuple[object, ...], None]()
        self._lock = Lock()

    def add(self, key: tuple[object, ...]) -> bool:
        """Remember `key`; whether it was seen already."""
        with self._lock:
            if key in self._keys:
                return True
            self._keys[key] = None
            while len(self._keys) > self._size:
                self._keys.popitem(last=False)
            return False

    def clear(self) -> None:
        with self._lock:
            self._keys.clear()


_templates = _Lru(TEMPLATES_KEPT)
_seen = _Seen(64)


def clear_caches() -> None:
    _templates.clear()
    _seen.clear()
